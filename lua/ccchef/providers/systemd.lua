-- ccchef.providers.systemd: services as systemd units, through systemctl.
-- The state comes from one `systemctl show` per service (load state,
-- active state, unit-file state), not one process per question: a no-op
-- run over many services stays cheap.
local errors = require("ccchef.errors")
local run = require("ccchef.providers.run")

local M = { name = "systemd" }

local PROPS = "LoadState,ActiveState,UnitFileState,NeedDaemonReload"

-- Unit-file states `systemctl is-enabled` answers 0 for: nothing for
-- `enable` to do. static/indirect/generated units cannot be enabled by a
-- link of their own, so they count as enabled rather than failing.
local ENABLED = { enabled = true, ["enabled-runtime"] = true, static = true, indirect = true,
  generated = true, alias = true, transient = true }
-- What `disable` can change: only units enabled by their own [Install] links.
local DISABLABLE = { enabled = true, ["enabled-runtime"] = true }
local RUNNING = { active = true, reloading = true, activating = true }

-- The unit's properties, read once per converge of the resource.
local function show(p, ctx, cur)
  if cur.show then return cur.show end
  local res = run.check({ "systemctl", "show", "-p", PROPS, "--", p.service_name }, ctx,
    "reading the state of unit " .. p.service_name)
  local t = {}
  for k, v in res.output:gmatch("([%w]+)=([^\n]*)") do t[k] = v end
  if t.LoadState == nil then
    errors.converge("unexpected `systemctl show` output for " .. p.service_name,
      { output = res.output })
  end
  cur.show = t
  return t
end

function M.missing(p, ctx, cur)
  local s = show(p, ctx, cur)
  if s.LoadState == "not-found" then
    return "service " .. p.service_name .. " has no systemd unit (systemctl: not-found)"
  elseif s.LoadState == "masked" then
    return "service " .. p.service_name .. ": the unit is masked (systemctl unmask it first)"
  elseif s.LoadState ~= "loaded" then
    return string.format("service %s: the unit could not be loaded (LoadState=%s)", p.service_name,
      s.LoadState)
  end
  return nil
end

-- The unit file changed on disk since systemd read it: acting now would
-- act on the old definition.
function M.needs_reload(p, ctx, cur)
  return show(p, ctx, cur).NeedDaemonReload == "yes"
end

function M.running(p, ctx, cur)
  return RUNNING[show(p, ctx, cur).ActiveState] == true
end

function M.enabled(p, ctx, cur, action)
  local state = show(p, ctx, cur).UnitFileState
  if action == "disable" then return DISABLABLE[state] == true end
  return ENABLED[state] == true
end

-- steps.daemon_reload (planned when M.needs_reload): load the changed
-- unit file first.
function M.act(p, action, ctx, steps)
  if steps.daemon_reload then
    run.check({ "systemctl", "daemon-reload" }, ctx, "daemon-reload")
  end
  return run.check({ "systemctl", action, "--", p.service_name }, ctx, action)
end

return M
