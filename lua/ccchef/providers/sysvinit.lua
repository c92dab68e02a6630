-- ccchef.providers.sysvinit: services as LSB init scripts in /etc/init.d.
-- Running: the script's `status` exit code (LSB: 0 running, 3 stopped; any
-- non-zero is taken as not running, as Chef does). Enabled: an S link in
-- one of /etc/rc2.d..rc5.d. Scripts run with a clean environment from /,
-- as `service` runs them, so a daemon does not inherit ccchef's
-- environment; `service` itself is not used because on a systemd node it
-- hands the job to systemctl, which a forced provider must not do.
local run = require("ccchef.providers.run")
local sys = require("ccchef.sys")

local M = { name = "sysvinit" }

local function script(p)
  return "/etc/init.d/" .. p.service_name
end

-- The script with a verb, as argv (no shell) in a clean environment.
local function script_cmd(p, verb)
  return { "env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C",
    script(p), verb }
end

-- nil when the init script is there, else why the service cannot be managed.
function M.missing(p)
  local st = sys.stat(script(p))
  if not st or st.type ~= "file" then
    return string.format("service %s has no init script %s", p.service_name, script(p))
  end
  return nil
end

function M.running(p, ctx)
  return run.run(script_cmd(p, "status"), ctx).status == 0
end

-- S??NAME in any multi-user runlevel (what update-rc.d defaults/enable make).
function M.enabled(p)
  local pat = "^S%d%d" .. p.service_name:gsub("%p", "%%%0") .. "$"
  for level = 2, 5 do
    for _, f in ipairs(sys.listdir("/etc/rc" .. level .. ".d") or {}) do
      if f:match(pat) then return true end
    end
  end
  return false
end

local VERBS = { start = "start", stop = "stop", restart = "restart", reload = "reload" }

function M.act(p, action, ctx)
  if action == "enable" then
    -- defaults makes the links when there are none; enable turns the K
    -- links of a disabled service back into S links. Two argv calls, the
    -- second only if the first succeeded; the output is both.
    local first = run.check({ "update-rc.d", p.service_name, "defaults" }, ctx, "enable")
    local second = run.check({ "update-rc.d", p.service_name, "enable" }, ctx, "enable")
    return { status = second.status, output = first.output .. second.output }
  elseif action == "disable" then
    return run.check({ "update-rc.d", p.service_name, "disable" }, ctx, "disable")
  end
  return run.check(script_cmd(p, VERBS[action]), ctx, action)
end

return M
