-- ccchef.registry: the resource types. Built-in types are the embedded
-- modules named ccchef.resources.*; each is one unit with the interface
-- documented in docs/resources.md. The engine only ever talks to a unit
-- through that interface, so adding a type never touches the engine.
local host = require("ccchef.host")
local schema = require("ccchef.schema")

local M = {}

-- Built-in types load on first use: a recipe of files never pays for
-- loading the package, service or Apache units (start-up time and memory
-- count in a no-op run). M.types behaves as if every type were in it.
local PREFIX = "ccchef.resources."
local builtin = {}
for _, modname in ipairs(host.modules(PREFIX)) do builtin[modname:sub(#PREFIX + 1)] = modname end

-- Test-only (docs/architecture.md "Errors"): CCCHEF_TEST_UNIT names a Lua
-- file returning a unit that is registered like a built-in type, so that
-- the test suite can converge a unit with a deliberate bug in it and see
-- the internal error a bug in ccchef is. Never set outside tests.
local function test_unit(name)
  local path = os.getenv("CCCHEF_TEST_UNIT")
  if path == nil or path == "" then return nil end
  local chunk = assert(loadfile(path, "t"))
  local unit = chunk()
  if unit.name ~= name then return nil end
  return M.add(unit, path)
end

M.types = setmetatable({}, {
  __index = function(_, name)
    local modname = builtin[name]
    if modname == nil then return test_unit(name) end
    return M.add(require(modname), modname)
  end,
})

-- A unit either has load/plan/apply (primitives) or converge (composites:
-- custom resources, which converge the resources their action declares).
local REQUIRED = { "name", "properties", "actions", "default_action" }
local PRIMITIVE = { "load", "plan", "apply" }

-- Check a unit's shape and precompute what the DSL needs. Raises on a
-- malformed unit: that is a bug in the unit, found on first use.
function M.add(unit, origin)
  for _, field in ipairs(REQUIRED) do
    if unit[field] == nil then
      error(string.format("resource type %s (%s) lacks '%s'", tostring(unit.name), origin, field), 0)
    end
  end
  if not unit.converge then
    for _, field in ipairs(PRIMITIVE) do
      if unit[field] == nil then
        error(string.format("resource type %s (%s) lacks '%s'", tostring(unit.name), origin, field), 0)
      end
    end
  end
  local all = {}
  for k, spec in pairs(schema.common) do all[k] = spec end
  for k, spec in pairs(unit.properties) do
    if not schema.checks[spec.type] then
      error(string.format("resource type %s: property '%s' has unknown type %q (known: %s)%s",
        unit.name, k, tostring(spec.type), table.concat(schema.type_names(), ", "),
        require("ccchef.util").suggest(tostring(spec.type), schema.type_names())), 0)
    end
    if spec.required and spec.default ~= nil then
      error(string.format("resource type %s: property '%s' is both required and has a default",
        unit.name, k), 0)
    end
    all[k] = spec
  end
  unit.all_properties = all
  local names = {}
  for k in pairs(all) do names[#names + 1] = k end
  table.sort(names)
  unit.property_names = names
  local actions = { nothing = true }
  for _, a in ipairs(unit.actions) do actions[a] = true end
  unit.action_set = actions
  M.types[unit.name] = unit
  return unit
end

-- Every type name: built-in ones (loaded or not) and custom ones.
function M.names()
  local seen, names = {}, {}
  for name in pairs(builtin) do seen[name] = true end
  for name in pairs(M.types) do seen[name] = true end
  for name in pairs(seen) do names[#names + 1] = name end
  table.sort(names)
  return names
end

return M
