-- ccchef.scaffold: `ccchef new cookbook NAME` writes a cookbook that
-- converges as it is (recipe, attributes, a template, a custom resource),
-- so a new cookbook starts from something that works.
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local function files(name)
  return {
    ["attributes/default.lua"] = ([[
-- Default attributes of the NAME cookbook (lowest precedence: roles,
-- environments, nodes.lua and --attr override them).
default.NAME.root = "/var/tmp/NAME"
default.NAME.greeting = "Hello from the NAME cookbook"
]]),
    ["recipes/default.lua"] = ([[
-- The NAME cookbook's default recipe: `ccchef apply recipe:NAME`.
local root = node.NAME.root

directory(root) { mode = "0755", recursive = true }

template(root .. "/README") {
  source = "README.tmpl",
  vars = { greeting = node.NAME.greeting },
  mode = "0644",
}

NAME_note "example" { path = root .. "/note.txt", text = "written by NAME_note" }
]]),
    ["templates/README.tmpl"] = ([[
{{ greeting }}
This file is managed by ccchef (cookbook NAME) on {{ node.hostname }}.
]]),
    ["resources/note.lua"] = ([[
-- NAME_note: an example custom resource. Properties are checked like a
-- built-in resource's; actions declare other resources.
return {
  properties = {
    path = { type = "path", required = true },
    text = { type = "string", default = "" },
  },
  default_action = "create",
  actions = {
    create = function(r)
      file(r.path) { content = r.text .. "\n", mode = "0644" }
    end,
    delete = function(r)
      file(r.path) { action = "delete" }
    end,
  },
}
]]),
    ["files/.keep"] = "",
  }
end

function M.cookbook(name, kitchen_root)
  if type(name) ~= "string" or not name:match("^[a-z][a-z0-9_]*$") then
    errors.input(string.format("cookbook name %q: use lower-case letters, digits and _ (it prefixes resource type names)", tostring(name)))
  end
  local dir = kitchen_root .. "/cookbooks/" .. name
  if sys.stat(dir) then errors.input(dir .. " already exists") end
  local out = {}
  for rel, text in pairs(files(name)) do
    local path = dir .. "/" .. rel
    local ok, err = util.mkdir_p(sys, util.dirname(path), util.mode"0755")
    if not ok then errors.converge(err) end
    local wok, werr = sys.write(path, (text:gsub("NAME", name)), util.mode"0644", nil, nil, true)
    if not wok then errors.converge(werr) end
    out[#out + 1] = path
  end
  sys.mkdir(dir .. "/templates", util.mode"0755")
  table.sort(out)
  return dir, out
end

return M
