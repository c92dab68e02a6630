-- ccchef.providers.run: how service providers run init-system commands,
-- with the run's command timeout. ccchef's own commands are argv tables (no
-- shell); a user's command (status_command, start_command...) is a string
-- for /bin/sh. A command that cannot start, times out or is killed is a
-- converge error whatever the caller expects of its exit code.
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local util = require("ccchef.util")

local M = {}

-- The command as messages show it: an argv as the shell line it stands for.
local function shown(cmd)
  if type(cmd) ~= "table" then return cmd end
  local parts = {}
  for i, a in ipairs(cmd) do parts[i] = util.shell_quote(a) end
  return table.concat(parts, " ")
end

-- Run cmd; returns the proc result (status, output) for the caller to judge.
function M.run(cmd, ctx)
  local res, err = proc.run(cmd, { cwd = "/", timeout = ctx.command_timeout })
  cmd = shown(cmd)
  if not res then errors.converge("`" .. cmd .. "` could not start: " .. err) end
  if res.timed_out then
    errors.converge(string.format("`%s` timed out after %g s (killed)", cmd, ctx.command_timeout),
      { output = res.output })
  end
  if res.signal ~= 0 then
    errors.converge(string.format("`%s` killed by signal %d", cmd, res.signal),
      { output = res.output })
  end
  return res
end

-- Run cmd and require exit 0; what says what failed ("start", "enable").
function M.check(cmd, ctx, what)
  local res = M.run(cmd, ctx)
  cmd = shown(cmd)
  if res.status ~= 0 then
    errors.converge(string.format("%s failed: `%s` exited %d", what, cmd, res.status),
      { output = res.output })
  end
  return res
end

return M
