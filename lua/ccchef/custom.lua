-- ccchef.custom: custom resources written in Lua (DESIGN.md 2.4). A
-- cookbook's resources/TYPE.lua returns { properties, default_action,
-- actions }; it becomes the resource type COOKBOOK_TYPE (or the name it
-- declares with `provides`, as Chef's `provides :redirect`), a unit like
-- any built-in one. Its actions are functions that declare other resources;
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
-- An accumulate function declares nothing itself (edit_resource does).
local function active_run(unit, file, line)
  local run = active[#active]
  if run == false then
    errors.input(string.format("%s declared in an accumulate function: use edit_resource(\"%s\", NAME, { ... })",
      unit.name, unit.name), { file = file, line = line })
  end
  if not run then
    errors.input(string.format("%s declared outside an action: resources inside a custom resource file must be declared in its actions", unit.name),
      { file = file, line = line })
  end
  return run
end

-- Custom resources inside custom resources are checked at compile time
-- this deep; deeper ones (a type that uses itself) are left to converge,
-- which names the loop.
local MAX_PRECHECK_DEPTH = 8

-- How many compile-time runs of actions (precheck) are under way.
local prechecking = 0

local DEF_KEYS = { properties = true, actions = true, default_action = true, description = true,
  provides = true, accumulate = true }

-- The globals of every recipe environment (print, string, pairs...).
local base_names
local function sandbox_names()
  if not base_names then
    base_names = {}
    for k in pairs(require("ccchef.sandbox").env()) do base_names[k] = true end
  end
  return base_names
end

-- The member being accumulated (M.run_accumulate): what edit_resource and
-- find_resource work on.
local accumulating = nil

-- Names a recipe already uses for something else: a type provided under
-- one of them could never be declared.
local RESERVED = { node = true, include_recipe = true, cookbook_path = true, kitchen_path = true,
  read_file = true, shell_quote = true, apache_values = true, edit_resource = true, find_resource = true }

local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then true until while"):gmatch("%S+") do
  KEYWORDS[w] = true
end

-- The type name a definition gives: provides, else COOKBOOK_FILE.
local function type_name_of(def, cookbook, file, where)
  if def.provides == nil then return cookbook .. "_" .. file:gsub("%.lua$", "") end
  local name = def.provides
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") or KEYWORDS[name] then
    errors.input(string.format("provides = %s: a resource type name is a Lua name (letters, digits and '_', not starting with a digit)",
      require("ccchef.schema").describe(name)), where)
  end
  if RESERVED[name] or sandbox_names()[name] then
    errors.input(string.format("provides = %q: recipes already use the name %s for something else", name, name), where)
  end
  return name
end

-- Load cookbooks/COOKBOOK/resources/FILE as a unit. Raises input errors
-- naming the file.
function M.load(cookbook, cookbook_dir, file, types)
  local dsl = require("ccchef.dsl")
  local path = cookbook_dir .. "/resources/" .. file
  local where = { file = path }
  local type_name -- known once the file has run (provides)
  -- Declarators are looked up when an action runs, so a custom resource can
  -- use types loaded after it (nesting in any order).
  local env = dsl.base_env()
  env.include_recipe = nil
  -- Chef's edit_resource and find_resource, for accumulate functions.
  env.edit_resource = function(t, name, props) return M.edit_resource(t, name, props) end
  env.find_resource = function(t, name) return M.find_resource(t, name) end
  -- The compile-time run of an action (precheck) prints nothing: the
  -- action prints when it runs for real.
  local print = env.print
  env.print = function(...)
    if prechecking == 0 then return print(...) end
  end
  setmetatable(env, {
    __index = function(_, k)
      -- node: the node of the run the action (or accumulate) runs in.
      if k == "node" then
        local run = active[#active] or (accumulating and accumulating.run)
        if run then return run.node end
        error("node is known only inside an action or accumulate function", 2)
      end
      local unit = types[k]
      if unit then return dsl.declarator(active_run, unit) end
      error(string.format("unknown resource type or undefined name '%s'%s", tostring(k),
        util.suggest(tostring(k), util.sorted_keys(types))), 2)
    end,
  })
  local def = require("ccchef.kitchen").load_table_file(path, env, "custom resource file")
  for k in pairs(def) do
    if not DEF_KEYS[k] then
      errors.input(string.format("unknown key '%s' (a custom resource has properties, actions, default_action, provides, accumulate)%s",
        tostring(k), util.suggest(tostring(k), util.sorted_keys(DEF_KEYS))), where)
    end
  end
  type_name = type_name_of(def, cookbook, file, where)
  if def.accumulate ~= nil and type(def.accumulate) ~= "function" then
    errors.input("accumulate must be a function(r) that adds r to a shared resource with edit_resource", where)
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
    cookbook = cookbook,
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
  -- Compile-time check of what the action declares (ccchef.compile.check):
  -- the action runs on a scratch run and what it declared is finished
  -- (properties checked, templates rendered), so a bad template inside a
  -- custom resource stops the run before anything changed. The action's
  -- own errors are left to converge (it may read what earlier resources
  -- write); a resource with lazy properties is not known until then.
  function unit.precheck(r, run)
    if next(r.lazy) ~= nil or (run.depth or 0) >= MAX_PRECHECK_DEPTH then return end
    local Run = require("ccchef.run")
    local view = setmetatable({}, { __index = function(_, k)
      if k == "name" then return r.name end
      if k == "recipe_dir" then return r.dir end
      return r.props[k]
    end, __newindex = function(_, k)
      error(string.format("properties of %s are read-only inside its actions (tried to set %s)", type_name, tostring(k)), 2)
    end })
    for _, action in ipairs(r.actions) do
      if def.actions[action] then
        local scratch = Run.child(run, r, cookbook_dir)
        active[#active + 1] = scratch
        prechecking = prechecking + 1
        local ok = budget.run_user(def.actions[action], string.format("action '%s' of %s", action, type_name), view)
        prechecking = prechecking - 1
        active[#active] = nil
        if ok then
          local cok, err = pcall(require("ccchef.compile").check, scratch)
          if not cok then
            if not errors.is(err) or err.kind ~= "input" then error(err, 0) end
            err.message = string.format("%s (declared by action '%s' of %s at %s:%s)", err.message, action,
              r.ref, tostring(r.file), tostring(r.line))
            error(err, 0)
          end
        end
      end
    end
  end
  if def.accumulate then
    unit.accumulate = function(r, run)
      return M.run_accumulate(unit, def.accumulate, r, run)
    end
  end
  return unit
end

-- Chef's accumulator pattern, the ccchef way (docs/kitchen.md,
-- "Accumulators"): after the recipes (or an action) have declared, the
-- accumulate function of a custom type runs once per resource of it, in
-- declaration order, at compile time. It adds the resource to a shared
-- resource through edit_resource, which declares that resource the first
-- time (from the accumulating type's cookbook, at the place of the first
-- resource that asked for it: ccchef.compile.accumulate moves it there)
-- and returns its property table, which later calls add to. The shared
-- resource is finished (defaults, checks, a template rendered) only when
-- every member has been added, so it is checked at compile time like any.
function M.run_accumulate(unit, fn, r, run)
  local props = r.props
  local view = setmetatable({}, {
    __index = function(_, k)
      if k == "name" then return r.name end
      return props[k]
    end,
    __newindex = function(_, k)
      error(string.format("properties of %s are read-only (tried to set %s)", r.ref, tostring(k)), 2)
    end,
  })
  local saved = accumulating
  accumulating = { run = run, member = r, unit = unit }
  active[#active + 1] = false
  local ok, err = budget.run_user(fn, string.format("accumulate of %s", unit.name), view)
  active[#active] = nil
  accumulating = saved
  if not ok then
    if errors.is(err) and err.kind == "input" and err.file then error(err, 0) end
    -- error("...", 0) in the type's code: the message belongs to the
    -- resource being added, named by its recipe's file and line.
    local e = errors.wrap(err, "input")
    errors.input(e.message, { file = r.file, line = r.line, resource = r.ref })
  end
end

local function member_error(a, message)
  errors.input(message, { file = a.member.file, line = a.member.line, resource = a.member.ref })
end

-- edit_resource(TYPE, NAME [, PROPS]): the run's TYPE[NAME], declared with
-- PROPS when this is the first call for it; returns its property table
-- (add to it: vars.rules[#vars.rules + 1] = ...). A resource a recipe
-- declared itself is not edited: its properties were checked already.
function M.edit_resource(t, name, props)
  local a = accumulating
  if not a then error("edit_resource works only inside an accumulate function", 2) end
  local unit = type(t) == "string" and a.run.types[t] or nil
  if not unit then
    member_error(a, string.format("edit_resource: unknown resource type %s", require("ccchef.schema").describe(t)))
  end
  local dsl = require("ccchef.dsl")
  local shown = dsl.check_name(unit, name, a.member.file, a.member.line)
  local ref = unit.name .. "[" .. shown .. "]"
  a.run.edited = a.run.edited or {}
  local rec = a.run.index[ref]
  if rec then
    if not a.run.edited[rec] then
      member_error(a, string.format("edit_resource: %s is declared by a recipe (%s:%s); an accumulator edits only the resources it declares",
        ref, tostring(rec.file), tostring(rec.line)))
    end
    return rec.props
  end
  rec = dsl.declare(a.run, unit, name, a.member.file, a.member.line)
  -- Its template or files come from the accumulating type's cookbook.
  rec.dir = a.unit.cookbook_dir
  rec.accumulated_by = a.member
  a.run.edited[rec] = true
  if props ~= nil then dsl.set_properties(rec, props) end
  return rec.props
end

-- find_resource(TYPE, NAME): { ref, type, name } of the run's TYPE[NAME],
-- or nil (a snippet notifies the Apache service only when the run has it).
function M.find_resource(t, name)
  local a = accumulating
  if not a then error("find_resource works only inside an accumulate function", 2) end
  if type(t) ~= "string" or type(name) ~= "string" then
    error("find_resource needs a type and a name: find_resource(\"service\", \"apache2\")", 2)
  end
  local rec = a.run.index[t .. "[" .. name .. "]"]
  if not rec then return nil end
  return { ref = rec.ref, type = rec.type, name = rec.name }
end

-- Every custom resource of every cookbook in the kitchen. Two files giving
-- the same type name (two cookbooks that provide "redirect"; cookbook
-- "a_b" + resource "c" and cookbook "a" + resource "b_c") or a name a
-- built-in type has are errors naming both, never a silent override.
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
        local how = unit.definition.provides and "provides" or "defines"
        if origins[unit.name] then
          errors.input(string.format("resource type %s is defined twice, by %s and by %s: rename one (provides = \"...\")",
            unit.name, origins[unit.name], unit.origin), { file = unit.origin })
        end
        errors.input(string.format("resource type %s is ccchef's built-in type (lua/ccchef/resources/%s.lua): %s cannot %s it; choose another name",
          unit.name, unit.name, unit.origin, how == "provides" and "provide" or "define"), { file = unit.origin })
      end
      local ok, err = pcall(registry.add, unit, unit.origin)
      if not ok then errors.input(tostring(err), { file = unit.origin }) end
      origins[unit.name] = unit.origin
    end
  end
end

return M
