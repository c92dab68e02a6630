-- ccchef.dsl: the language recipes are written in. Each resource type
-- becomes a function of the recipe environment:
--
--     file "/etc/motd" { content = "hi\n", mode = "0644" }
--
-- `file "/etc/motd"` declares the resource (recording the recipe file and
-- line) and returns a setter that takes the property table. Properties are
-- checked as they are set; required properties, defaults and cross-property
-- rules are checked when the recipe has finished (M.finalize), because a
-- resource may be declared with no table at all (`package "git"`).
local budget = require("ccchef.budget")
local errors = require("ccchef.errors")
local host = require("ccchef.host")
local sandbox = require("ccchef.sandbox")
local schema = require("ccchef.schema")
local util = require("ccchef.util")

local M = {}

-- The file of each function that declared a resource: asking debug.getinfo
-- for the source ("S") of every declaration costs more than the rest of it,
-- and host.caller gives function and line without building a table.
local file_of = setmetatable({}, { __mode = "k" })

local function location(level)
  local func, line = host.caller(level + 1)
  local file = file_of[func]
  if file == nil then
    local s = debug.getinfo(func, "S")
    file = s.source:sub(1, 1) == "@" and s.source:sub(2) or s.short_src
    file_of[func] = file
  end
  return file, line
end

-- property: the property the message is about, when there is one (a
-- field for tests and tools; the message names it too).
local function fail(r, message, property)
  errors.input(message, { file = r.file, line = r.line, resource = r.ref, property = property })
end

local function set_property(r, key, value)
  local unit = r.unit
  if type(key) ~= "string" then
    fail(r, string.format("property names must be strings, got %s (did you forget '='?)",
      schema.describe(key)))
  end
  local spec = unit.all_properties[key]
  if not spec then
    fail(r, string.format("unknown property '%s'%s", key, util.suggest(key, unit.property_names)), key)
  end
  -- A function is a lazy value, evaluated at converge time (DESIGN 2.3),
  -- unless the property itself takes a function (guards). Properties the
  -- engine needs at compile time (action, notifies, sensitive...) are
  -- marked lazy = false and cannot be.
  if type(value) == "function" and spec.type ~= "guard" and spec.type ~= "function" then
    if spec.lazy == false then
      fail(r, string.format("property '%s' cannot be lazy (a function): it is needed when the recipe is compiled, give its value", key), key)
    end
    r.props[key] = value
    r.lazy[key] = true
    return
  end
  local v, err = schema.check(spec, value)
  if v == nil then
    -- The message quotes the value: not for a sensitive resource.
    if r.sensitive then err = schema.redact(err, value) end
    fail(r, string.format("property '%s': %s", key, err), key)
  end
  r.props[key] = v
end

local function set_properties(r, props)
  if r.props_set then
    fail(r, "properties were already given for this resource")
  end
  r.props_set = true
  if type(props) ~= "table" then
    fail(r, string.format("expected a table of properties after %s, got %s", r.ref,
      schema.describe(props)))
  end
  -- Known before any other property is checked, so no message about them
  -- shows a secret (pairs visits the table in no particular order).
  if props.sensitive == true then r.sensitive = true end
  for k, v in pairs(props) do set_property(r, k, v) end
end

M.set_properties = set_properties

-- What `file "x"` and `file "x" { ... }` return: the resource's handle.
-- Called with the property table it sets them (once); read, it shows only
-- ref, type and name. The resource's record (its unit, the engine's
-- resource type table) is kept here, out of the recipe's reach: a recipe
-- must not be able to change the engine's tables (DESIGN.md 4).
local record_of = setmetatable({}, { __mode = "k" })
local PUBLIC = { ref = true, type = true, name = true }

local handle_meta = {
  __call = function(h, p)
    local r = record_of[h]
    if r.props_set then
      fail(r, "properties were already given for this resource (two tables after the name?)")
    end
    set_properties(r, p)
    return h
  end,
  __index = function(h, k)
    if PUBLIC[k] then return record_of[h][k] end
    return nil
  end,
  __newindex = function(h, k)
    error(string.format("%s: a resource's handle is read-only (tried to set %s)", record_of[h].ref, tostring(k)), 2)
  end,
}

local function new_handle(r)
  local h = setmetatable({}, handle_meta)
  record_of[h] = r
  return h
end

-- Declare a resource of unit's type named `name` into run's collection,
-- declared at file:line. Returns its record.
function M.declare(run, unit, name, file, line)
  local shown = M.check_name(unit, name, file, line)
  local ref = unit.name .. "[" .. shown .. "]"
  local r = {
    type = unit.name, name = shown, name_value = name, ref = ref, unit = unit,
    file = file, line = line, dir = run.current_dir, node = run.node,
    props = host.new_table(0, 8), lazy = {}, notify_list = {},
  }
  run.collection[#run.collection + 1] = r
  -- A later declaration with the same name wins notifications, as in Chef.
  run.index[ref] = r
  return r
end

-- A function for the recipe environment that declares resources of unit's
-- type into `into`: a run, or a function(unit, file, line) that returns
-- the run (a custom resource file declares into whichever nested run is
-- active when its action runs).
function M.declarator(into, unit)
  local current = type(into) == "function" and into or nil
  return function(name, props)
    local file, line = location(2)
    local r = M.declare(current and current(unit, file, line) or into, unit, name, file, line)
    if props ~= nil then set_properties(r, props) end
    return new_handle(r)
  end
end

-- Returns the name as the resource's reference shows it. A unit that sets
-- name_list = true also takes a list of strings as its name
-- (package { "apache2", "git" }), shown as "apache2, git"; its
-- name_property then receives the list itself.
function M.check_name(unit, name, file, line)
  if unit.name_list and type(name) == "table" then
    local n = #name
    for k, v in pairs(name) do
      if math.type(k) ~= "integer" or k < 1 or k > n then
        errors.input(string.format("%s { ... }: a list name holds only names; give properties "
          .. "in a second table: %s { \"a\", \"b\" } { action = ... }", unit.name, unit.name),
          { file = file, line = line })
      end
      if type(v) ~= "string" or v == "" then
        errors.input(string.format("%s name list: item %d: expected a non-empty string, got %s",
          unit.name, k, schema.describe(v)), { file = file, line = line })
      end
    end
    if n == 0 then
      errors.input(string.format("%s needs at least one name", unit.name), { file = file, line = line })
    end
    return table.concat(name, ", ")
  end
  if type(name) ~= "string" or name == "" then
    errors.input(string.format("%s needs a name: %s \"NAME\" { ... } (got %s)", unit.name,
      unit.name, schema.describe(name)), { file = file, line = line })
  end
  return name
end

-- Per unit, the names finalize has work for: required or with a default,
-- in property_names order (so the first missing one reported is the same).
-- Most properties have neither; skipping them is most of finalize's time.
-- Keyed by property_names, which registry.add builds anew for each unit.
local finalize_cache = setmetatable({}, { __mode = "k" })

local function finalize_names(unit)
  local names = finalize_cache[unit.property_names]
  if names == nil then
    names = {}
    for _, k in ipairs(unit.property_names) do
      local spec = unit.all_properties[k]
      if spec.required or spec.default ~= nil then names[#names + 1] = k end
    end
    finalize_cache[unit.property_names] = names
  end
  return names
end

-- Defaults, required properties, actions and the unit's own checks.
function M.finalize(r)
  local unit, props = r.unit, r.props
  local np = unit.name_property
  if np and props[np] == nil then
    local v, err = schema.check(unit.all_properties[np], r.name_value or r.name)
    if v == nil then fail(r, string.format("name (%s): %s", np, err), np) end
    props[np] = v
  end
  local names = finalize_names(unit)
  for i = 1, #names do
    local k = names[i]
    if props[k] == nil then
      local spec = unit.all_properties[k]
      if spec.required then
        fail(r, string.format("missing required property '%s'", k), k)
      else
        local d = spec.default
        if type(d) == "table" then
          local copy = {}
          for i, x in pairs(d) do copy[i] = x end
          d = copy
        end
        -- Defaults go through the same check as given values, so a default
        -- mode "0644" reaches the unit as the number a given one would.
        local v, err = schema.check(spec, d)
        if v == nil then
          fail(r, string.format("default of property '%s' in the type's definition: %s", k, err), k)
        end
        props[k] = v
      end
    end
  end
  r.actions = props.action or { unit.default_action }
  props.action = nil
  for _, a in ipairs(r.actions) do
    if not unit.action_set[a] then
      local known = {}
      for name in pairs(unit.action_set) do known[#known + 1] = name end
      table.sort(known)
      fail(r, string.format("unknown action '%s'%s (actions: %s)", a, util.suggest(a, known),
        table.concat(known, ", ")), "action")
    end
  end
  if unit.validate then
    local ok, err = pcall(unit.validate, props, r)
    if not ok then
      if errors.is(err) then
        err.file, err.line, err.resource = err.file or r.file, err.line or r.line, r.ref
        error(err, 0)
      end
      fail(r, tostring(err))
    end
  end
end

-- read_file(path): read-only access to a file, e.g. a config template kept
-- outside the kitchen, or in a lazy value what an earlier resource wrote:
-- content = function() return read_file("/srv/VERSION") end. Returns the
-- content, or nil and a message (a missing file is not a bug). Relative
-- paths are relative to the working directory.
local function read_file(path)
  if type(path) ~= "string" then
    error(string.format("read_file: expected a path, got %s", schema.describe(path)), 2)
  end
  local sys = require("ccchef.sys")
  -- Only regular files: a device or fifo (/dev/zero, a pipe) never ends.
  local st = sys.stat(path)
  if st and st.type ~= "file" then
    return nil, string.format("%s: not a regular file (%s)", path, st.type)
  end
  return sys.read(path)
end

-- The environment of every kitchen file (recipes, attribute, role,
-- environment and custom resource files): ccchef.sandbox's, plus
-- read_file. No dofile, loadfile or require: recipes declare state, they
-- do not load code from arbitrary places (include_recipe does that,
-- through the kitchen). Reading an undefined name raises, as in recipes.
function M.base_env()
  local env = sandbox.env()
  env.read_file = read_file
  -- The checks apache_site uses for values pasted into an Apache config
  -- (docs/apache.md, "Values"), for cookbooks that write config too:
  -- validate = apache_values.spec(apache_values.check_word). A private copy.
  env.apache_values = {}
  for k, v in pairs(require("ccchef.apache_values")) do env.apache_values[k] = v end
  -- For the command of an execute resource: shell_quote(path) is one word
  -- of sh, whatever path holds (build commands with it, never by pasting).
  env.shell_quote = function(s)
    if type(s) ~= "string" and type(s) ~= "number" then
      error(string.format("shell_quote: expected a string, got %s", schema.describe(s)), 2)
    end
    return util.shell_quote(tostring(s))
  end
  return setmetatable(env, {
    __index = function(_, key)
      error(string.format("undefined name '%s'%s", tostring(key),
        util.suggest(tostring(key), util.sorted_keys(env))), 2)
    end,
  })
end

-- Runs a compiled recipe chunk under the recipe instruction budget
-- (ccchef.budget): a recipe that never ends fails with an input error
-- naming the file and the line it was at. Returns pcall's results.
function M.run_recipe(chunk, path)
  local limit = budget.budget(budget.RECIPE_INSTRUCTIONS)
  return budget.pcall(limit, function(file, line)
    return errors.new("input", string.format(
      "the recipe did not finish within %d instructions (an endless loop? CCCHEF_MAX_INSTRUCTIONS raises the limit)",
      limit), { file = file or path, line = line })
  end, chunk)
end

-- The environment a recipe chunk runs in. Reading a name that is neither a
-- resource type nor a defined global raises: a typo must fail loudly.
function M.recipe_env(run)
  local env = M.base_env()

  env.node = run.node
  -- print goes through the reporter: under --format json, stdout must hold
  -- nothing but JSON events.
  local reporter = run.opts.reporter
  if reporter and reporter.print then
    env.print = function(...)
      local parts = table.pack(...)
      for i = 1, parts.n do
        -- A recipe's own __tostring may fail: the message names its line.
        local ok, text = pcall(tostring, parts[i])
        if not ok then error("print: " .. errors.text(text), 2) end
        parts[i] = text
      end
      reporter:print(table.concat(parts, "\t", 1, parts.n))
    end
  end
  for k, v in pairs(run.extra_env or {}) do env[k] = v end
  return setmetatable(env, {
    __index = function(_, key)
      -- Resource types become declarators on first use (types load lazily).
      local unit = type(key) == "string" and run.types[key]
      if unit then
        local declare = M.declarator(run, unit)
        rawset(env, key, declare)
        return declare
      end
      local candidates = util.sorted_keys(env)
      for _, name in ipairs(require("ccchef.registry").names()) do candidates[#candidates + 1] = name end
      error(string.format("unknown resource type or undefined name '%s'%s", tostring(key),
        util.suggest(tostring(key), candidates)), 2)
    end,
  })
end

return M
