-- template: a file rendered from a template (see ccchef.template for the
-- language). The template compiles once per run; rendering is checked at
-- compile time when its inputs are known then, so a syntax error or an
-- undefined variable stops the run before anything changes.
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local sys = require("ccchef.sys")
local template = require("ccchef.template")
local util = require("ccchef.util")

local M = {
  name = "template",
  name_property = "path",
  properties = fileops.ownership_properties({
    path = { type = "path" },
    source = { type = "string", required = true },
    vars = { type = "table", default = {} },
    backup = { type = "backup" },
    -- A command run on the candidate (%{path}) before it goes live.
    verify = { type = "string" },
  }),
  actions = { "create", "delete", "create_if_missing" },
  default_action = "create",
}

-- Compiled templates, by resolved path, for this process (one run).
local compiled = {}

-- source: absolute, or relative to the recipe's templates/ directory, then
-- to the recipe's own directory.
local function find_source(source, dir)
  if util.is_absolute(source) then
    if sys.stat(source) then return source end
    return nil, string.format("template %s not found", source)
  end
  dir = dir or "."
  -- Last, the kitchen's root (the run's working directory): a kitchen
  -- path such as "cookbooks/site/templates/x.tmpl" (docs/kitchen.md, "Paths").
  for _, candidate in ipairs({ dir .. "/templates/" .. source, dir .. "/" .. source, source }) do
    if sys.stat(candidate) then return candidate end
  end
  return nil, string.format("template %s not found (looked in %s/templates/ and %s/)", source, dir, dir)
end

-- A shorter name for messages: relative to the working directory if inside it.
local function display_name(path)
  local cwd = os.getenv("PWD")
  if cwd and path:sub(1, #cwd + 1) == cwd .. "/" then return path:sub(#cwd + 2) end
  return path
end

local function load_template(source, dir)
  local path, err = find_source(source, dir)
  if not path then return nil, err end
  local t = compiled[path]
  if t then return t end
  local text, rerr = sys.read(path)
  if not text then return nil, rerr end
  local terr
  t, terr = template.compile(text, display_name(path))
  if not t then return nil, terr end
  compiled[path] = t
  return t
end

local function render(p, source, vars, dir, node)
  local t, err = load_template(source, dir)
  if not t then return nil, err end
  local env = setmetatable({}, { __index = function(_, k)
    if k == "node" then return node end
    return vars[k]
  end })
  return t:render(env)
end

-- Compile-time check: render now when nothing is lazy, and keep the result.
function M.validate(props, r)
  if r.lazy.source or r.lazy.vars then return end
  local ok, text, err = pcall(render, props, props.source, props.vars, r.dir, r.node)
  if not ok then error(text, 0) end
  if not text then error(err, 0) end
  props._rendered = text
end

function M.load(p, ctx, action)
  local want = p._rendered
  if want == nil then
    -- Only lazy source or vars get here: the error comes from a lazy value.
    local text, err = render(p, p.source, p.vars, p.recipe_dir, ctx.node)
    if not text then errors.converge(err, { lazy = true }) end
    want = text
  end
  local cur = fileops.load_file(p.path, want, p, ctx)
  if action ~= "delete" then fileops.verify(p, cur, ctx) end
  return cur
end

M.plan = fileops.plan_content
M.apply = fileops.apply_content

return M
