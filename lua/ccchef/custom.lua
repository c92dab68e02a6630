-- ccchef.custom: custom resources written in Lua (DESIGN.md 2.4). A
-- cookbook's resources/TYPE.lua returns { properties, default_action,
-- actions }; it becomes the resource type COOKBOOK_TYPE, a unit like any
-- built-in one. Its actions are functions that declare other resources;
-- at converge time the engine runs the action, converges what it declared
-- as a nested collection (same why-run, guards, notifications, reporting),
-- and the custom resource is updated when any resource inside it is.
local budget = require("ccchef.budget")
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- The resource files' declarations go to whichever nested run is active:
-- a definition is loaded once, its actions run many times.
local active = {}

-- Where a declaration in a resource file goes: the innermost active run.
local function active_run(unit, file, line)
  local run = active[#active]
  if not run then
    errors.input(string.format("%s declared outside an action: resources inside a custom resource file must be declared in its actions", unit.name),
      { file = file, line = line })
  end
  return run
end

local DEF_KEYS = { properties = true, actions = true, default_action = true, description = true }

-- Load cookbooks/COOKBOOK/resources/FILE as a unit. Raises input errors
-- naming the file.
function M.load(cookbook, cookbook_dir, file, types)
  local dsl = require("ccchef.dsl")
  local path = cookbook_dir .. "/resources/" .. file
  local type_name = cookbook .. "_" .. file:gsub("%.lua$", "")
  local where = { file = path }
  -- Declarators are looked up when an action runs, so a custom resource can
  -- use types loaded after it (nesting in any order).
  local env = dsl.base_env()
  env.include_recipe = nil
  setmetatable(env, {
    __index = function(_, k)
      local unit = types[k]
      if unit then return dsl.declarator(active_run, unit) end
      error(string.format("unknown resource type or undefined name '%s'%s", tostring(k),
        util.suggest(tostring(k), util.sorted_keys(types))), 2)
    end,
  })
  local def = require("ccchef.kitchen").load_table_file(path, env, "custom resource file")
  for k in pairs(def) do
    if not DEF_KEYS[k] then
      errors.input(string.format("unknown key '%s' (a custom resource has properties, actions, default_action)%s", k,
        util.suggest(k, util.sorted_keys(DEF_KEYS))), where)
    end
  end
  if type(def.actions) ~= "table" or next(def.actions) == nil then
    errors.input("a custom resource needs actions = { NAME = function(r) ... end }", where)
  end
  local actions = {}
  for name, fn in pairs(def.actions) do
    if type(fn) ~= "function" then
      errors.input(string.format("action '%s' must be a function", tostring(name)), where)
    end
    actions[#actions + 1] = name
  end
  table.sort(actions)
  local default_action = def.default_action or actions[1]
  if not def.actions[default_action] then
    errors.input(string.format("default_action '%s' is not one of its actions (%s)", tostring(default_action),
      table.concat(actions, ", ")), where)
  end
  local properties = {}
  for k, spec in pairs(def.properties or {}) do
    if type(spec) ~= "table" then
      errors.input(string.format("property '%s' must be a table like { type = \"string\" }", tostring(k)), where)
    end
    properties[k] = spec
  end
  local unit = {
    name = type_name,
    origin = path,
    properties = properties,
    actions = actions,
    default_action = default_action,
    definition = def,
    cookbook_dir = cookbook_dir,
  }
  -- Runs the action and converges what it declared; the engine passes
  -- `nested`, a function that converges a nested run and reports. The
  -- declarations are finished here, on the language's side
  -- (ccchef.compile.finish): the engine does not know the language.
  function unit.converge(p, action, ctx, nested)
    local view = setmetatable({}, { __index = p, __newindex = function(_, k)
      error(string.format("properties of %s are read-only inside its actions (tried to set %s)", type_name, tostring(k)), 2)
    end })
    return nested(function(run)
      active[#active + 1] = run
      -- User code: under the recipe instruction budget (ccchef.budget).
      local ok, err = budget.run_user(def.actions[action], string.format("action '%s' of %s", action, type_name), view)
      active[#active] = nil
      if not ok then error(errors.wrap(err, "converge"), 0) end
      require("ccchef.compile").finish(run)
    end, cookbook_dir)
  end
  return unit
end

-- Every custom resource of every cookbook in the kitchen. Two files giving
-- the same type name (cookbook "a_b" + resource "c", cookbook "a" +
-- resource "b_c") or a name a built-in type has are errors.
function M.load_kitchen(kitchen, registry)
  if not kitchen then return end
  local origins = {}
  for _, cb in ipairs(kitchen:cookbook_names()) do
    local cdir = kitchen:cookbook_dir(cb)
    local files = {}
    for _, f in ipairs(sys.listdir(cdir .. "/resources") or {}) do
      if f:match("%.lua$") then files[#files + 1] = f end
    end
    table.sort(files)
    for _, f in ipairs(files) do
      local unit = M.load(cb, cdir, f, registry.types)
      local prev = registry.types[unit.name]
      if prev then
        errors.input(string.format("resource type %s is defined twice: here and in %s", unit.name,
          origins[unit.name] or "ccchef's built-in types"), { file = unit.origin })
      end
      local ok, err = pcall(registry.add, unit, unit.origin)
      if not ok then errors.input(tostring(err), { file = unit.origin }) end
      origins[unit.name] = unit.origin
    end
  end
end

return M
