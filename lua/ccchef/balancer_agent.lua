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

-- One reading of haproxy per poll: `show stat` once, `show servers state`
-- once per backend, whatever the number of servers asked about.
local function reading(socket)
  local stat, admin = nil, {}
  -- The state of one server: { state, sessions, queued, status, check } or
  -- nil, message.
  return function(s)
    if not admin[s.backend] then
      local a, aerr = read_admin(socket, s.backend)
      if not a then return nil, aerr end
      admin[s.backend] = a
    end
    if not stat then
      local serr
      stat, serr = read_stat(socket)
      if not stat then return nil, serr end
    end
    local row = stat[s.backend .. "/" .. s.server]
    if not admin[s.backend][s.server] or not row then
      return nil, string.format("haproxy has no server %s in backend %s", s.server, s.backend)
    end
    return { state = admin[s.backend][s.server], sessions = row.sessions, queued = row.queued,
      status = row.status, check = row.check }
  end
end

-- Whether the balancer would send this server traffic: its check says UP
-- (or it has no check). "UP 1/2" is a server whose checks started to
-- fail: not yet.
local function is_up(st)
  return st.status == "UP" or st.status == "no check"
end

-- Whether a server reached what the action asks, and if not, why (for
-- the message at the timeout).
local function reached(action, st, timeout)
  -- Requests queued for this server (its maxconn reached) are still its.
  if action == "drain" then
    if st.sessions == 0 and st.queued == 0 then return true end
    return false, string.format("%d sessions still open%s after %g s", st.sessions,
      st.queued > 0 and string.format(" and %d queued", st.queued) or "", timeout)
  elseif action == "ready" then
    if is_up(st) then return true end
    return false, string.format("the balancer's check still says %s after %g s", st.status, timeout)
  end
  return true
end

-- Sets every server first, then waits for them together: a batch of
-- nodes drains in the time of its slowest session, not in the sum.
local function act_all(b)
  local t0, timeout = sys.now(), b.timeout or 60
  local all_ok = true
  local function finish(s, ok, st, message)
    local ev = { event = "balancer", action = b.action, backend = s.backend, server = s.server,
      ok = ok, message = message, waited = sys.now() - t0 }
    if st then ev.state, ev.sessions, ev.status, ev.check = st.state, st.sessions, st.status, st.check end
    emit(ev)
    if not ok then all_ok = false end
  end
  local pending = {}
  for _, s in ipairs(b.servers) do
    if b.action == "state" then
      pending[#pending + 1] = s
    else
      local answer, err = command(b.socket, string.format("set server %s/%s state %s", s.backend, s.server, b.action))
      -- Success is an empty answer; anything else is haproxy's refusal.
      if not answer then
        finish(s, false, nil, err)
      elseif answer:find("%S") then
        finish(s, false, nil, "haproxy: " .. (answer:gsub("%s+$", "")))
      else
        pending[#pending + 1] = s
      end
    end
  end
  local deadline = t0 + timeout
  while #pending > 0 do
    local state_of, still = reading(b.socket), {}
    local late = sys.now() >= deadline
    for _, s in ipairs(pending) do
      local st, err = state_of(s)
      if not st then
        finish(s, false, nil, err)
      else
        local ok, why = reached(b.action, st, timeout)
        if ok then finish(s, true, st)
        elseif late then finish(s, false, st, why)
        else still[#still + 1] = s end
      end
    end
    pending = still
    if #pending > 0 then sys.sleep(POLL) end
  end
  return all_ok
end

-- The runner's entry: returns its exit code.
function M.run(b)
  if type(b) ~= "table" or type(b.socket) ~= "string" or type(b.servers) ~= "table"
    or (b.action ~= "drain" and b.action ~= "ready" and b.action ~= "state") then
    emit({ event = "error", kind = "input", message = "run.json: balancer needs socket, action and servers" })
    return 2
  end
  local ok = act_all(b)
  emit({ event = "run_end", balancer = true, success = ok })
  return ok and 0 or 1
end

return M
