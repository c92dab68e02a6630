-- ccchef.sandbox: the environment user code runs in (recipes, attribute,
-- role, environment and custom resource files, lazy values, guards,
-- templates); ccchef.budget bounds how long it may run.
-- DESIGN.md 4: no process exits, no command execution outside resources,
-- no way to change the engine's own tables. docs/recipes.md and
-- docs/templates.md list exactly what is available.
--
-- Decisions:
-- * Library tables (string, table, math, utf8, the os subset) are private
--   copies per environment, so `string.format = f` in a recipe changes the
--   recipe's copy only. Methods on strings (`("x"):format()`) go through
--   the string metatable, which is the engine's: it is never handed out
--   (getmetatable here returns only metatables user code set itself, and
--   there is no debug library), so it cannot be changed, and functions a
--   recipe adds to its `string` are reachable as string.f(s), not s:f().
-- * Templates get read-only views of the same libraries: a template has no
--   business changing them, and a view costs nothing per render. During a
--   render the string metatable's __index is the template's own copy
--   (ccchef.template swaps it and puts it back), so ("x"):rep(n) is held
--   to the output limit like string.rep.
-- * load is text only (mode "t": bytecode can crash the VM) and its chunks
--   run in the caller's sandbox, never in the engine's global table.
local M = {}

local BASE = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "select", "tonumber",
  "tostring", "type", "xpcall", "rawequal", "rawlen", "rawget", "rawset", "_VERSION",
}

-- What user code gets of os: reading the clock, dates and the environment.
-- No exit, execute, remove, rename, tmpname or setlocale.
local OS = { "clock", "date", "getenv", "time" }

local function copy_lib(lib, skip)
  local t = {}
  for k, v in pairs(lib) do
    if not (skip and skip[k]) then t[k] = v end
  end
  return t
end

-- string.dump makes bytecode, which nothing in the sandbox may load.
local STRING_SKIP = { dump = true }

local function os_subset()
  local t = {}
  for _, k in ipairs(OS) do t[k] = os[k] end
  return t
end

-- Fresh private copies of the libraries, for one environment.
function M.libraries()
  return {
    string = copy_lib(string, STRING_SKIP),
    table = copy_lib(table),
    math = copy_lib(math),
    utf8 = copy_lib(utf8),
    os = os_subset(),
  }
end

-- Metatables user code set itself (weak keys). getmetatable returns only
-- these: the engine's (resource handles, environments, errors, the string
-- metatable) stay out of reach.
local user_mts = setmetatable({}, { __mode = "k" })

local function sandbox_getmetatable(v)
  if type(v) ~= "table" then return nil end
  local mt = getmetatable(v)
  if mt ~= nil and type(mt) == "table" and not user_mts[mt] then return nil end
  return mt
end

local function sandbox_setmetatable(t, mt)
  if type(t) ~= "table" then
    error(string.format("bad argument #1 to 'setmetatable' (table expected, got %s)", type(t)), 2)
  end
  local old = getmetatable(t)
  if old ~= nil and not user_mts[old] then
    error("cannot change the metatable of a table ccchef made", 2)
  end
  if mt ~= nil then
    if type(mt) ~= "table" then
      error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
    end
    -- A finalizer would run whenever the collector gets to it, inside the
    -- engine and outside any budget.
    if rawget(mt, "__gc") ~= nil then
      error("setmetatable: __gc (finalizers) is not available in recipes", 2)
    end
    user_mts[mt] = true
  end
  return setmetatable(t, mt)
end

-- load for user code: text only, and the chunk runs in env unless the
-- caller names another environment.
local function make_load(env)
  return function(chunk, name, mode, ...)
    if mode ~= nil and mode ~= "t" then
      error("load: only text chunks can be loaded (mode \"t\"); bytecode is refused", 2)
    end
    if type(chunk) ~= "string" and type(chunk) ~= "function" then
      error(string.format("bad argument #1 to 'load' (string expected, got %s)", type(chunk)), 2)
    end
    if select("#", ...) > 0 then return load(chunk, name, "t", (...)) end
    return load(chunk, name, "t", env)
  end
end

-- A new environment for user code: the safe base functions, private
-- library copies, no undefined-name check (callers add theirs).
function M.env()
  local env = {}
  for _, k in ipairs(BASE) do env[k] = _G[k] end
  for k, v in pairs(M.libraries()) do env[k] = v end
  env.unpack = table.unpack
  env.getmetatable = sandbox_getmetatable
  env.setmetatable = sandbox_setmetatable
  env.load = make_load(env)
  env._G = env
  return env
end

-- A read-only view of lib, for templates: reading works as on the
-- library, writing raises.
function M.readonly(lib, name)
  return setmetatable({}, {
    __index = lib,
    __newindex = function(_, k)
      error(string.format("%s is read-only in templates (tried to set %s.%s)", name, name, tostring(k)), 2)
    end,
    __pairs = function() return next, lib, nil end,
    __metatable = false,
  })
end

-- Read-only views of the libraries, made once.
local views
function M.readonly_libraries()
  if not views then
    local libs = M.libraries()
    views = {}
    for k, v in pairs(libs) do views[k] = M.readonly(v, k) end
  end
  return views
end

return M
