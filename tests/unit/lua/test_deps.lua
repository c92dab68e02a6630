-- The module dependency rule of docs/architecture.md ("Module
-- dependencies"), checked from the source: the table is read from that
-- document and every `require` of every file under lua/ccchef/ must be
-- one it allows. CCCHEF_SRC (tests/meson.build) is the source tree.
local sys = require("ccchef.sys")

local SRC = os.getenv("CCCHEF_SRC")

local function read(path)
  local text, err = sys.read(path)
  if not text then error("cannot read " .. path .. ": " .. tostring(err), 0) end
  return text
end

-- The table's rows: { layers = { name = { modules = {...}, may = {layer=true} } },
-- order = { names } }.
local function parse_table(doc)
  local layers, order = {}, {}
  local section = doc:match("\n## Module dependencies\n(.-)\n## ")
  assert(section, "docs/architecture.md has no \"## Module dependencies\" section")
  for line in section:gmatch("[^\n]+") do
    local layer, mods, may = line:match("^| (%w+) | (.-) | (.-) |$")
    if layer and layer ~= "Layer" then
      local l = { modules = {}, may = {} }
      for m in mods:gmatch("`([%w_%.%*]+)`") do l.modules[#l.modules + 1] = m end
      for name in may:gmatch("%w+") do l.may[name] = true end
      layers[layer] = l
      order[#order + 1] = layer
    end
  end
  return { layers = layers, order = order }
end

-- The layer of module `name` ("engine", "resources.file"), or nil.
local function layer_of(tbl, name)
  for _, layer in ipairs(tbl.order) do
    for _, m in ipairs(tbl.layers[layer].modules) do
      if m == name then return layer end
      local prefix = m:match("^(.*%.)%*$")
      if prefix and name:sub(1, #prefix) == prefix then return layer end
    end
  end
  return nil
end

-- The ccchef modules a source requires: { { name =, line = } }. Literal
-- names, and a prefix joined to a variable (`"ccchef.providers." .. name`,
-- returned as "providers.*"). Comment lines are skipped.
local function requires(text)
  local found, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if not line:match("^%s*%-%-") then
      for q, name, rest in line:gmatch("require%s*%(?%s*([\"'])ccchef%.([%w_%.]+)%1(%s*%.?%.?)") do
        if rest:match("%.%.") and name:sub(-1) == "." then name = name .. "*" end
        found[#found + 1] = { name = name, line = n }
      end
    end
  end
  return found
end

-- Violations: a list of strings, one per require the table forbids and
-- per module it does not place. sources: { module name = source text }.
local function check(tbl, sources)
  local bad = {}
  local names = {}
  for name in pairs(sources) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local from = layer_of(tbl, name)
    if not from then
      bad[#bad + 1] = string.format("%s: not in the table of docs/architecture.md (give it a layer)", name)
    else
      for _, req in ipairs(requires(sources[name])) do
        local target = req.name
        local to = layer_of(tbl, target)
        if not to then
          bad[#bad + 1] = string.format("%s:%d: requires %s, which is in no layer", name, req.line, target)
        elseif not tbl.layers[from].may[to] then
          bad[#bad + 1] = string.format("%s:%d: %s (layer %s) requires %s (layer %s): not allowed",
            name, req.line, name, from, target, to)
        end
      end
    end
  end
  return bad
end

-- Every lua/ccchef/**/*.lua as { "resources.file" = text }.
local function sources_under(root, prefix, out)
  out = out or {}
  for _, entry in ipairs(sys.listdir(root) or {}) do
    local path = root .. "/" .. entry
    local st = sys.stat(path)
    if st and st.type == "directory" then
      sources_under(path, prefix .. entry .. ".", out)
    elseif entry:match("%.lua$") then
      out[prefix .. entry:gsub("%.lua$", "")] = read(path)
    end
  end
  return out
end

local TABLE = [[
## Module dependencies
| Layer | Modules | May require |
|---|---|---|
| base | `errors` `util` | base |
| engine | `engine` | base, engine |
| language | `dsl` | base, engine, language |
| types | `resources.*` | base |
## next
]]

test("the checker reads the table and places modules by name and prefix", function()
  local tbl = parse_table("\n" .. TABLE)
  eq(#tbl.order, 4)
  eq(layer_of(tbl, "engine"), "engine")
  eq(layer_of(tbl, "resources.file"), "types")
  eq(layer_of(tbl, "resourcesX"), nil)
  ok(tbl.layers.language.may.engine)
  ok(not tbl.layers.engine.may.language)
end)

test("the checker finds literal, unparenthesized and prefix requires, not comments", function()
  local found = requires('local a = require("ccchef.errors")\n-- require("ccchef.dsl")\n'
    .. "local b = require 'ccchef.util'\nreturn require(\"ccchef.resources.\" .. n)\n")
  eq(#found, 3)
  eq(found[1].name, "errors")
  eq(found[1].line, 1)
  eq(found[2].name, "util")
  eq(found[3].name, "resources.*")
  eq(found[3].line, 4)
end)

test("the checker fails an engine that requires the language, and an unplaced module", function()
  local tbl = parse_table("\n" .. TABLE)
  local bad = check(tbl, {
    engine = 'local errors = require("ccchef.errors")\nlocal dsl = require("ccchef.dsl")\n',
    dsl = 'local engine = require("ccchef.engine")\n',
    stray = "return {}\n",
  })
  eq(#bad, 2, table.concat(bad, "\n"))
  eq(bad[1], "engine:2: engine (layer engine) requires dsl (layer language): not allowed")
  ok(bad[2]:find("^stray: not in the table"), bad[2])
  -- A require of a module no layer has is a violation too.
  eq(#check(tbl, { errors = 'require("ccchef.nowhere")\n' }), 1)
end)

test("every require under lua/ccchef/ is one docs/architecture.md allows", function()
  ok(SRC, "CCCHEF_SRC names the source tree")
  local tbl = parse_table(read(SRC .. "/docs/architecture.md"))
  ok(#tbl.order >= 8, "the table has its layers")
  local sources = sources_under(SRC .. "/lua/ccchef", "")
  ok(sources.engine and sources.runner and sources.cli, "found the sources")
  local bad = check(tbl, sources)
  eq(#bad, 0, "\n" .. table.concat(bad, "\n"))
  -- The rules the issue names, stated outright.
  for _, lang in ipairs({ "dsl", "compile", "custom", "sandbox", "kitchen" }) do
    ok(not tbl.layers[layer_of(tbl, "engine")].may[layer_of(tbl, lang)], "engine may not require " .. lang)
  end
  for _, ctl in ipairs({ "cli", "remote", "remote_node", "bundle" }) do
    ok(not tbl.layers.runner.may[layer_of(tbl, ctl)], "runner may not require " .. ctl)
    ok(not tbl.layers.converge.may[layer_of(tbl, ctl)], "converge may not require " .. ctl)
  end
end)

test("the runner executable embeds no controller module (lua/meson.build)", function()
  local tbl = parse_table(read(SRC .. "/docs/architecture.md"))
  local build = read(SRC .. "/lua/meson.build")
  local runner = build:match("lua_runner_sources = files%((.-)%)")
  ok(runner, "lua/meson.build has lua_runner_sources")
  local count = 0
  for path in runner:gmatch("'ccchef/([%w_/]+)%.lua'") do
    count = count + 1
    local name = path:gsub("/", ".")
    ok(layer_of(tbl, name) ~= "controller", name .. " is the controller's, not the runner's")
  end
  ok(count > 20, "read the runner's module list")
end)
