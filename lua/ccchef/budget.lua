-- ccchef.budget: the instruction budget that bounds how long user code
-- (recipes, lazy values, guards, custom resource actions, templates) may
-- run. Apart from ccchef.sandbox (the environment that code sees) so the
-- converge engine can run lazy values and guards without the recipe
-- language (docs/architecture.md, "Module dependencies").
local errors = require("ccchef.errors")

local M = {}

-- Instructions between two looks at the budget: the hook's cost is paid
-- every instruction while it is set, its body only every STEP.
local STEP = 10000

-- Generous: a recipe that runs this long is looping, not working (a
-- kitchen of thousands of resources compiles in a few million).
M.RECIPE_INSTRUCTIONS = 1000000000
M.TEMPLATE_INSTRUCTIONS = 100000000

-- CCCHEF_MAX_INSTRUCTIONS raises (or, in tests, lowers) both budgets.
function M.budget(default)
  local v = tonumber(os.getenv("CCCHEF_MAX_INSTRUCTIONS") or "")
  if v and v >= 1 then return math.floor(v) end
  return default
end

-- The first frame of user code below the hook: the engine's own modules
-- are named "lua/ccchef/...", C functions "[C]".
local function user_location()
  for level = 3, 40 do
    local info = debug.getinfo(level, "Sl")
    if not info then return nil end
    local src = info.source
    if src:sub(1, 1) == "@" and src:sub(2, 12) ~= "lua/ccchef/" and info.currentline > 0 then
      return src:sub(2), info.currentline
    end
  end
  return nil
end

-- pcall(fn, ...) with a budget of `limit` VM instructions. When fn runs
-- longer, an error is raised inside it, and again at every following
-- instruction until control is back here, so user code cannot catch it
-- with its own pcall. on_exceed(file, line) returns the error value.
-- Returns pcall's results. Nested calls keep their own budgets: the outer
-- hook is put back afterwards.
local guarded_pcall

function M.pcall(limit, on_exceed, fn, ...)
  local exceeded
  local left = limit
  local hook
  hook = function()
    if exceeded then
      -- Back in this function, between pcall's return and the hook's
      -- removal: the error has arrived.
      if debug.getinfo(2, "f").func == guarded_pcall then return end
      error(exceeded, 0)
    end
    left = left - STEP
    if left < 0 then
      exceeded = on_exceed(user_location())
      debug.sethook(hook, "", 1)
      error(exceeded, 0)
    end
  end
  local outer, omask, ocount = debug.gethook()
  debug.sethook(hook, "", math.min(STEP, limit))
  local res = table.pack(pcall(fn, ...))
  -- A hook set from C (a host's or the fuzz harness's) reads back as the
  -- string "external hook" and cannot be set again from Lua: it is gone for
  -- the rest of this call's caller, whose own bound is this budget.
  if type(outer) == "function" then debug.sethook(outer, omask, ocount) else debug.sethook() end
  if exceeded then return false, exceeded end
  return table.unpack(res, 1, res.n)
end
guarded_pcall = M.pcall

-- Runs a function of user code at converge time (a lazy value, a guard, a
-- custom resource's action) under the recipe budget. what: "lazy property
-- 'content'", "only_if"... Returns pcall's results.
function M.run_user(fn, what, ...)
  local limit = M.budget(M.RECIPE_INSTRUCTIONS)
  return M.pcall(limit, function(file, line)
    return errors.new("converge", string.format(
      "%s did not finish within %d instructions (an endless loop? CCCHEF_MAX_INSTRUCTIONS raises the limit)",
      what, limit), { file = file, line = line })
  end, fn, ...)
end

return M
