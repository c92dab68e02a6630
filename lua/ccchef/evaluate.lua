-- ccchef.evaluate: what a resource's recipe leaves to converge time, run
-- by the engine just before the resource's unit: its lazy property values
-- and its guards (only_if, not_if). Both are the user's code, so both run
-- under the recipe instruction budget (ccchef.budget) or the command
-- timeout, and what they raise becomes a converge error of the resource.
-- Of a sensitive resource no message shows what they raised, returned or
-- ran: it may be the secret.
local budget = require("ccchef.budget")
local errors = require("ccchef.errors")
local host = require("ccchef.host")
local proc = require("ccchef.proc")
local schema = require("ccchef.schema")

local M = {}

-- A lazy value and its check: value, message (of nil, message), checked
-- value, check error.
local function eval_lazy(fn, spec)
  local val, why = fn()
  local checked, err = schema.check(spec, val)
  return val, why, checked, err
end

-- Evaluate lazy properties: a function stands for its value at converge time.
-- The copy is made in C, sized for the keys the engine and units add.
-- Lazy functions run under the recipe instruction budget. Of a sensitive
-- resource no message shows what the function raised or returned: it may
-- be the secret.
function M.properties(r)
  local p = host.copy(r.props, 4)
  p.name = r.name
  p.recipe_dir = r.dir
  if next(r.lazy) == nil then return p end
  local hidden = r.props.sensitive == true
  for k, v in pairs(r.props) do
    if r.lazy[k] then
      local what = "lazy property '" .. k .. "'"
      local spec = r.unit.all_properties[k]
      -- The check runs in the budget too: it may call the value's
      -- metamethods (ipairs on a table of strings).
      local ok, val, why, checked, err = budget.run_user(eval_lazy, what, v, spec)
      if not ok then
        errors.converge(what .. " failed" .. (hidden and " (sensitive: message hidden)"
          or (": " .. errors.text(val))), { lazy = true })
      end
      if val == nil and why ~= nil then
        -- A function that returned nil, message (read_file of a missing file).
        errors.converge(what .. " returned nil" .. (hidden and " (sensitive: message hidden)"
          or (": " .. errors.text(why))), { lazy = true })
      end
      if checked == nil then
        errors.converge(what .. ": " .. (hidden and ("the value is not valid (sensitive: value hidden; expected "
          .. spec.type .. ")") or err), { lazy = true })
      end
      p[k] = checked
    end
  end
  return p
end

-- A guard function runs under the recipe instruction budget; a guard
-- command under the command timeout. hidden: the resource is sensitive,
-- so no message names the command or what the function raised.
local function run_guard(guard, ctx, name, hidden)
  if type(guard) == "function" then
    local ok, v = budget.run_user(guard, name)
    if not ok then
      errors.converge(name .. " raised an error" .. (hidden and " (sensitive: message hidden)" or (": " .. errors.text(v))))
    end
    return v and true or false
  end
  local res, err = proc.run(guard, { timeout = ctx.command_timeout })
  if not res then
    errors.converge("guard command could not start" .. (hidden and " (sensitive: message hidden)" or (": " .. err)))
  end
  return res.status == 0 and res.signal == 0
end

local function shown(cmd, hidden)
  return hidden and "(sensitive)" or ("`" .. cmd .. "`")
end

-- nil to go ahead, or the reason to skip. A sensitive resource's guard
-- command is not shown.
function M.guards(p, ctx)
  local hidden = p.sensitive == true
  if p.only_if ~= nil and not run_guard(p.only_if, ctx, "only_if", hidden) then
    return type(p.only_if) == "string" and ("only_if " .. shown(p.only_if, hidden) .. " failed") or "only_if was false"
  end
  if p.not_if ~= nil and run_guard(p.not_if, ctx, "not_if", hidden) then
    return type(p.not_if) == "string" and ("not_if " .. shown(p.not_if, hidden) .. " succeeded") or "not_if was true"
  end
  return nil
end

return M
