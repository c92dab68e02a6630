-- ccchef.balancer_agent: the node side of `ccchef drain`, `undrain`,
-- `status` and rolling deploys on a load balancer node (docs/failover.md,
-- "Drain and undrain"). ccchef-runner runs it instead of a converge when
-- its run.json carries `balancer`; it speaks to haproxy's runtime API over
-- the admin socket (sys.unix_request: no socat on the node) and prints one
-- JSON event per server, then a run_end.
--
--   balancer = { socket = PATH, action = "drain" | "ready" | "state",
--                servers = { { backend = B, server = S }, ... },
--                timeout = S }   -- drain: wait this long for 0 sessions;
--                                -- ready: for the balancer's check to say UP
--
-- Exit 0 when every server reached what was asked, 1 otherwise (the
-- socket refused, a server unknown to haproxy, sessions left or a check
-- still down at the timeout).
local json = require("ccchef.json")
local sys = require("ccchef.sys")

local M = {}

local function emit(t)
  io.stdout:write(json.encode(t), "\n")
  io.stdout:flush()
end

-- How often the server's sessions and check are read while waiting.
local POLL = 0.1

-- One runtime-API command; returns its answer or nil, message.
local function command(socket, line)
  local answer, err = sys.unix_request(socket, line .. "\n", 5)
  if not answer then return nil, "haproxy's admin socket: " .. tostring(err) end
  return answer
end

-- `show stat`: CSV with a "# pxname,svname,..." header. Returns rows by
-- "backend/server": { sessions, status, check }.
local function read_stat(socket)
  local text, err = command(socket, "show stat")
  if not text then return nil, err end
  local cols, rows = nil, {}
  for line in text:gmatch("[^\n]+") do
    local cells = {}
    for cell in (line .. ","):gmatch("([^,]*),") do cells[#cells + 1] = cell end
    if not cols then
      if line:sub(1, 2) ~= "# " then return nil, "haproxy's show stat: unexpected answer: " .. text:sub(1, 200) end
      cols = {}
      cells[1] = cells[1]:sub(3)
      for i, name in ipairs(cells) do cols[name] = i end
    else
      rows[cells[cols.pxname] .. "/" .. cells[cols.svname]] = {
        sessions = math.tointeger(tonumber(cells[cols.scur])) or 0,
        queued = math.tointeger(tonumber(cells[cols.qcur])) or 0,
        status = cells[cols.status], check = cells[cols.check_status] or "",
      }
    end
  end
  if not cols then return nil, "haproxy's show stat: empty answer" end
  return rows
end

-- haproxy's administrative state bits (srv_admin_state of `show servers
-- state`): the maintenance kinds, and drain set by hand or inherited.
local MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
local DRAIN_BITS = 0x08 | 0x10

-- `show servers state BACKEND`: the admin state of each server by name.
local function read_admin(socket, backend)
  local text, err = command(socket, "show servers state " .. backend)
  if not text then return nil, err end
  local cols, states = nil, {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, 2) == "# " then
      cols = {}
      local i = 0
      for name in line:sub(3):gmatch("%S+") do i = i + 1; cols[name] = i end
    elseif cols then
      local cells = {}
      for cell in line:gmatch("%S+") do cells[#cells + 1] = cell end
      local bits = math.tointeger(tonumber(cells[cols.srv_admin_state])) or 0
      states[cells[cols.srv_name]] = (bits & MAINT_BITS ~= 0) and "maint"
        or (bits & DRAIN_BITS ~= 0) and "drain" or "ready"
    end
  end
  if not cols then return nil, "haproxy: " .. (text:gsub("\n+$", "")) end
  return states
end

-- The state of one server now: { state, sessions, status, check } or nil, message.
local function server_state(socket, s)
  local admin, aerr = read_admin(socket, s.backend)
  if not admin then return nil, aerr end
  local stat, serr = read_stat(socket)
  if not stat then return nil, serr end
  local row = stat[s.backend .. "/" .. s.server]
  if not admin[s.server] or not row then
    return nil, string.format("haproxy has no server %s in backend %s", s.server, s.backend)
  end
  return { state = admin[s.server], sessions = row.sessions, queued = row.queued, status = row.status,
    check = row.check }
end

-- Whether the balancer would send this server traffic: its check says UP
-- (or it has no check). "UP 1/2" is a server whose checks started to
-- fail: not yet.
local function is_up(st)
  return st.status == "UP" or st.status == "no check"
end

local function act(b, s)
  local t0 = sys.now()
  local ev = { event = "balancer", action = b.action, backend = s.backend, server = s.server }
  local function finish(ok, st, message)
    ev.ok, ev.message, ev.waited = ok, message, sys.now() - t0
    if st then ev.state, ev.sessions, ev.status, ev.check = st.state, st.sessions, st.status, st.check end
    emit(ev)
    return ok
  end
  if b.action == "drain" or b.action == "ready" then
    local answer, err = command(b.socket, string.format("set server %s/%s state %s", s.backend, s.server, b.action))
    if not answer then return finish(false, nil, err) end
    -- Success is an empty answer; anything else is haproxy's refusal.
    if answer:find("%S") then return finish(false, nil, "haproxy: " .. (answer:gsub("%s+$", ""))) end
  end
  local deadline = t0 + (b.timeout or 60)
  while true do
    local st, err = server_state(b.socket, s)
    if not st then return finish(false, nil, err) end
    -- Requests queued for this server (its maxconn reached) are still its.
    if b.action == "drain" and st.sessions == 0 and st.queued == 0 then return finish(true, st) end
    if b.action == "ready" and is_up(st) then return finish(true, st) end
    if b.action == "state" then return finish(true, st) end
    if sys.now() >= deadline then
      if b.action == "drain" then
        return finish(false, st, string.format("%d sessions still open%s after %g s", st.sessions,
          st.queued > 0 and string.format(" and %d queued", st.queued) or "", b.timeout or 60))
      end
      return finish(false, st, string.format("the balancer's check still says %s after %g s",
        st.status, b.timeout or 60))
    end
    sys.sleep(POLL)
  end
end

-- The runner's entry: returns its exit code.
function M.run(b)
  if type(b) ~= "table" or type(b.socket) ~= "string" or type(b.servers) ~= "table"
    or (b.action ~= "drain" and b.action ~= "ready" and b.action ~= "state") then
    emit({ event = "error", kind = "input", message = "run.json: balancer needs socket, action and servers" })
    return 2
  end
  local ok = true
  for _, s in ipairs(b.servers) do
    if not act(b, s) then ok = false end
  end
  emit({ event = "run_end", balancer = true, success = ok })
  return ok and 0 or 1
end

return M
