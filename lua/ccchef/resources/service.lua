-- service: a daemon managed through the node's init system. The provider
-- (ccchef.providers.*) is the init system the node runs now: systemd when
-- /run/systemd/system exists (node.init), else sysvinit; `provider`
-- overrides. start/stop/enable/disable act only on a difference; restart
-- and reload always act when run, so recipes use them through
-- notifications or explicit actions. The default action is `nothing`, as
-- in Chef: a service resource does nothing until told.
local errors = require("ccchef.errors")
local run = require("ccchef.providers.run")

local PROVIDERS = { "systemd", "sysvinit" }

local M = {
  name = "service",
  name_property = "service_name",
  properties = {
    service_name = { type = "string" },
    provider = { type = "string", one_of = PROVIDERS },
    -- For daemons whose init system cannot tell: exit 0 = running.
    status_command = { type = "string" },
    -- Running = a process whose command line matches (pgrep -f).
    pattern = { type = "string" },
    start_command = { type = "string" },
    stop_command = { type = "string" },
    restart_command = { type = "string" },
    reload_command = { type = "string" },
  },
  actions = { "start", "stop", "restart", "reload", "enable", "disable" },
  -- Delayed notifications: a queued restart makes a queued reload (and
  -- start) of the same service redundant.
  subsumes = { restart = { "reload", "start" } },
  default_action = "nothing",
}

local OVERRIDE = { start = "start_command", stop = "stop_command", restart = "restart_command",
  reload = "reload_command" }

function M.validate(p)
  if p.service_name == "" then error("service_name must not be empty", 0) end
  if type(p.service_name) == "string" and p.service_name:find("[/%s]") then
    error(string.format("service_name %q must not contain '/' or spaces", p.service_name), 0)
  end
  if p.status_command ~= nil and p.pattern ~= nil then
    error("give status_command or pattern, not both", 0)
  end
end

local function provider(p, ctx)
  local name = p.provider or (ctx.node and ctx.node.init == "systemd" and "systemd") or "sysvinit"
  return require("ccchef.providers." .. name)
end

local function running(p, ctx, prov, cur)
  if p.status_command then return run.run(p.status_command, ctx).status == 0 end
  if p.pattern then
    -- exec: the shell around pgrep has the pattern in its own command line
    -- and would match itself; pgrep never matches itself.
    return run.run({ "pgrep", "-f", "--", p.pattern }, ctx).status == 0
  end
  return prov.running(p, ctx, cur)
end

-- Whether this action needs the init system to know the service: not when
-- the recipe gives both the command and (for start/stop) the status.
local function needs_init(p, action)
  if action == "enable" or action == "disable" then return true end
  if not p[OVERRIDE[action]] then return true end
  if action == "start" or action == "stop" then
    return p.status_command == nil and p.pattern == nil
  end
  return false
end

function M.load(p, ctx, action)
  local prov = provider(p, ctx)
  local cur = { provider = prov.name }
  if needs_init(p, action) then
    cur.missing = prov.missing(p, ctx, cur)
    if cur.missing then return cur end
    if prov.needs_reload then cur.needs_reload = prov.needs_reload(p, ctx, cur) end
  end
  if action == "start" or action == "stop" then
    cur.running = running(p, ctx, prov, cur)
  elseif action == "enable" or action == "disable" then
    cur.enabled = prov.enabled(p, ctx, cur, action)
  end
  return cur
end

local CHANGE = {
  start = "start (not running)", stop = "stop (running)", restart = "restart", reload = "reload",
  enable = "enable at boot", disable = "disable at boot",
}

function M.plan(p, cur, action, ctx)
  if cur.missing then
    -- Under why-run an earlier resource (a package) that would install the
    -- service has not run: the engine says what would happen instead.
    errors.converge(cur.missing .. " (is the package that provides it installed?)",
      { assumed = { action .. " (assuming an earlier resource installs it: " .. cur.missing .. ")" } })
  end
  if (action == "start" and cur.running) or (action == "stop" and cur.running == false)
    or (action == "enable" and cur.enabled) or (action == "disable" and cur.enabled == false) then
    return {}
  end
  local change = CHANGE[action]
  local steps = {}
  -- The init system acts (no command of the recipe's own): it reloads a
  -- changed unit file first.
  if cur.needs_reload and not p[OVERRIDE[action]] then
    steps.daemon_reload = true
    change = change .. " (after daemon-reload: the unit file changed)"
  end
  return { change }, nil, steps
end

function M.apply(p, cur, action, steps, ctx)
  local cmd = OVERRIDE[action] and p[OVERRIDE[action]]
  local res
  if cmd then
    res = run.check(cmd, ctx, action)
  else
    res = provider(p, ctx).act(p, action, ctx, steps)
  end
  return { output = res.output }
end

return M
