-- execute: run a shell command. It runs every time unless a guard
-- (only_if/not_if) or `creates` says it is not needed; stdin is closed and
-- the command runs without a terminal, so a prompt fails instead of hanging;
-- a timeout (default --command-timeout) kills the whole process group.
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")

local M = {
  name = "execute",
  name_property = "command",
  properties = {
    command = { type = "string" },
    cwd = { type = "path" },
    environment = { type = "env" },
    user = { type = "principal" },
    group = { type = "principal" },
    creates = { type = "path" },
    returns = { type = "codes", default = { 0 } },
    timeout = { type = "number", validate = function(v) return v > 0, "timeout must be positive" end },
    live_stream = { type = "boolean", default = false },
  },
  actions = { "run" },
  default_action = "run",
}

function M.load(p)
  if p.creates then return { created = sys.lstat(p.creates) ~= nil } end
  return {}
end

function M.plan(p, cur)
  if cur.created then return {} end
  -- Name the command only when the resource's name does not already say it.
  if p.sensitive then return { "run (sensitive command)" } end
  if p.command == p.name then return { "run" } end
  return { "run `" .. p.command .. "`" }
end

function M.apply(p, cur, action, steps, ctx)
  local opts = {
    cwd = p.cwd,
    env = p.environment,
    timeout = p.timeout or ctx.command_timeout,
    stream = p.live_stream and not p.sensitive,
    prefix = ctx.stream_prefix,
  }
  if p.user ~= nil then
    if type(p.user) == "string" and not sys.user(p.user) then
      errors.converge(string.format("user '%s' does not exist", p.user))
    end
    opts.uid = fileops.uid(ctx, p.user)
    local u = sys.user(opts.uid)
    opts.gid = p.group ~= nil and fileops.gid(ctx, p.group) or (u and u.gid) or 0
    -- A login-like environment for the user, as Chef and Ansible give.
    if u then
      local env = { HOME = u.home, USER = u.name, LOGNAME = u.name }
      for k, v in pairs(p.environment or {}) do env[k] = v end
      opts.env = env
    end
  elseif p.group ~= nil then
    opts.uid = sys.geteuid()
    opts.gid = fileops.gid(ctx, p.group)
  end
  if opts.stream then
    -- Streamed lines come before the resource's report line: say whose they are.
    io.stdout:flush()
    io.stderr:write(string.format("  output of execute[%s]:\n", p.name))
  end
  local res, err = proc.run(p.command, opts)
  if not res then
    -- The spawn error alone ("no such file or directory") does not say what
    -- was missing; a missing cwd is the usual cause.
    if p.cwd and not sys.stat(p.cwd) then err = "cwd " .. p.cwd .. " does not exist" end
    errors.converge("command could not start: " .. err)
  end
  if res.timed_out then
    errors.converge(string.format("command timed out after %g s (killed)", opts.timeout), { output = res.output })
  end
  if res.signal ~= 0 then
    errors.converge(string.format("command killed by signal %d", res.signal), { output = res.output })
  end
  for _, code in ipairs(p.returns) do
    if res.status == code then return { output = res.output } end
  end
  local expected = {}
  for i, c in ipairs(p.returns) do expected[i] = tostring(c) end
  errors.converge(string.format("command exited %d (expected %s)", res.status, table.concat(expected, " or ")),
    { output = res.output })
end

return M
