-- haproxy: Debian's haproxy in front of the inventory's nodes of one role
-- (attributes/default.lua says what each attribute is). The config is
-- rendered from nodes("role:" .. haproxy.role), checked with `haproxy -c`
-- on the candidate before it replaces the live one (verify), and a change
-- reloads haproxy without closing its listening sockets; a second run with
-- the same inventory changes nothing and reloads nothing.
local a = node.haproxy

-- Attribute values are untrusted input (docs/failover.md, "Values"): each
-- is checked for the directive it fills, before anything is declared.
local function bad(name, v, what)
  error(string.format("attribute %s = %s: %s", name,
    (string.format("%q", tostring(v)):gsub("\\\n", "\\n")), what), 3)
end
local function int(name, v, lo, hi)
  if math.type(v) ~= "integer" or v < lo or v > hi then
    bad(name, v, string.format("expected an integer %d-%d", lo, hi))
  end
  return v
end
-- A path haproxy and the shell read as one word: absolute, no spaces,
-- quotes, control characters or "..".
local function path(name, v)
  if type(v) ~= "string" or not v:match("^/[%w_%.%-/+@]*$") or v:find("/%.%./") or v:match("/%.%.$") then
    bad(name, v, "expected an absolute path of letters, digits and . _ - + @ /")
  end
  return v
end
-- haproxy identifiers: proxy and server names.
local function ident(name, v)
  if type(v) ~= "string" or not v:match("^[%a_][%w_%.:%-]*$") or #v > 64 then
    bad(name, v, "expected a name of letters, digits and _ . : - (at most 64, starting with a letter or _)")
  end
  return v
end
local function account(name, v)
  if v == false then return false end
  if type(v) ~= "string" or not v:match("^[%a_][%w_%-]*%$?$") or #v > 32 then
    bad(name, v, "expected false or a user/group name")
  end
  return v
end
local function address(name, v)
  if type(v) ~= "string" then bad(name, v, "expected an IP address or host name") end
  if v:match("^%d+%.%d+%.%d+%.%d+$") then
    for o in v:gmatch("%d+") do
      if tonumber(o) > 255 then bad(name, v, "not an IPv4 address") end
    end
    return v
  end
  if v:find(":", 1, true) then
    if not v:match("^[%x:%.]+$") then bad(name, v, "not an IPv6 address") end
    return "[" .. v .. "]" -- haproxy reads ipv6@ or brackets: brackets keep :port unambiguous
  end
  if not v:match("^[%w][%w%.%-]*$") or #v > 253 then bad(name, v, "not a host name") end
  return v
end

if a.supervisor ~= "init" and a.supervisor ~= "ccchef" then
  bad("haproxy.supervisor", a.supervisor, 'expected "init" or "ccchef"')
end
local config = path("haproxy.config", a.config)
local pidfile = path("haproxy.pidfile", a.pidfile)
local socket = path("haproxy.admin_socket", a.admin_socket)
if type(a.service) ~= "string" or not a.service:match("^[%w][%w_%.@%-]*$") then
  bad("haproxy.service", a.service, "expected a service name")
end
local bind_address = a.bind_address == "*" and "*" or address("haproxy.bind_address", a.bind_address)
local balances = { leastconn = true, roundrobin = true, ["static-rr"] = true, first = true, source = true }
if not balances[a.balance] then
  bad("haproxy.balance", a.balance, "expected leastconn, roundrobin, static-rr, first or source")
end
if type(a.check_path) ~= "string" or not a.check_path:match("^/[%w%-._~!$&'()*+,;=:@/%%?]*$") then
  bad("haproxy.check_path", a.check_path, "expected an absolute URL path without spaces or quotes")
end
if a.check_host ~= false and (type(a.check_host) ~= "string" or not a.check_host:match("^[%w][%w%.%-]*$")) then
  bad("haproxy.check_host", a.check_host, "expected false or a host name")
end
local RETRY_ON = { ["none"] = true, ["conn-failure"] = true, ["empty-response"] = true,
  ["junk-response"] = true, ["response-timeout"] = true, ["0rtt-rejected"] = true,
  ["all-retryable-errors"] = true }
if type(a.retry_on) ~= "table" or #a.retry_on == 0 then
  bad("haproxy.retry_on", a.retry_on, "expected a list of retry-on keywords")
end
for i, k in ipairs(a.retry_on) do
  if not RETRY_ON[k] and not (math.type(k) == "integer" and k >= 400 and k <= 599) then
    bad("haproxy.retry_on[" .. i .. "]", k, "not a retry-on keyword (conn-failure, empty-response, response-timeout... or a status 4xx/5xx)")
  end
end
if a.environment ~= false and (type(a.environment) ~= "string" or not a.environment:match("^[%w_%-]+$")) then
  bad("haproxy.environment", a.environment, 'expected false (the run\'s), "any" or an environment name')
end
if type(a.role) ~= "string" or not a.role:match("^[%w_.%-]+$") then
  bad("haproxy.role", a.role, "expected a role name")
end

-- The servers: one per node of the role, named by the node.
local servers = {}
for _, n in ipairs(nodes("role:" .. a.role, a.environment and { environment = a.environment } or nil)) do
  local s = n.attributes.haproxy_server or {}
  local where = "nodes.lua " .. n.name .. ": haproxy_server"
  if type(s) ~= "table" then bad(where, s, "expected a table { address =, port =, maxconn =, weight = }") end
  servers[#servers + 1] = {
    name = ident("node name " .. n.name, n.name),
    address = address(where .. ".address", s.address or n.host),
    port = int(where .. ".port", s.port or a.server_port, 1, 65535),
    maxconn = s.maxconn and int(where .. ".maxconn", s.maxconn, 1, 1000000),
    weight = s.weight and int(where .. ".weight", s.weight, 0, 256),
  }
end

local vars = {
  role = a.role,
  chroot = a.chroot ~= false and path("haproxy.chroot", a.chroot),
  user = account("haproxy.user", a.user),
  group = account("haproxy.group", a.group),
  maxconn = int("haproxy.maxconn", a.maxconn, 1, 10000000),
  pidfile = pidfile,
  admin_socket = socket,
  frontend = ident("haproxy.frontend", a.frontend),
  bind = bind_address .. ":" .. int("haproxy.port", a.port, 1, 65535),
  backend = ident("haproxy.backend", a.backend),
  balance = a.balance,
  check_path = a.check_path,
  check_host = a.check_host,
  check_inter = int("haproxy.check_inter", a.check_inter, 10, 3600000),
  check_fall = int("haproxy.check_fall", a.check_fall, 1, 1000),
  check_rise = int("haproxy.check_rise", a.check_rise, 1, 1000),
  retries = int("haproxy.retries", a.retries, 0, 100),
  retry_on = table.concat(a.retry_on, " "),
  server_maxconn = int("haproxy.server_maxconn", a.server_maxconn, 1, 1000000),
  timeout_connect = int("haproxy.timeout_connect", a.timeout_connect, 1, 86400000),
  timeout_client = int("haproxy.timeout_client", a.timeout_client, 1, 86400000),
  timeout_server = int("haproxy.timeout_server", a.timeout_server, 1, 86400000),
  timeout_queue = int("haproxy.timeout_queue", a.timeout_queue, 1, 86400000),
  servers = servers,
}
if a.frontend == a.backend then bad("haproxy.backend", a.backend, "must differ from haproxy.frontend") end

package(a.packages) {}

local service_ref = "service[" .. a.service .. "]"
directory(socket:match("^(.*)/[^/]*$")) { mode = "0755" }

template(config) {
  source = "haproxy.cfg.tmpl",
  vars = vars,
  mode = "0640",
  -- The candidate is checked before it goes live: a config haproxy
  -- refuses never replaces the running one.
  verify = "haproxy -c -f %{path}",
  notifies = { "reload", service_ref },
}

if a.supervisor == "init" then
  service(a.service) { action = { "enable", "start" } }
else
  -- A haproxy ccchef runs itself (master-worker, daemonized): running is
  -- "the master in the PID file is alive"; reload is SIGUSR2 to it, which
  -- re-executes haproxy on the new config with the listening sockets kept.
  local q = shell_quote
  local master = "\"$(cat " .. q(pidfile) .. ")\""
  service(a.service) {
    status_command = "test -s " .. q(pidfile) .. " && kill -0 " .. master,
    -- The daemonized master writes its PID file a moment after the
    -- command returns: wait for it, so a reload right after a start (a
    -- first converge notifies one) finds the master.
    -- (A PID file left by a killed haproxy is removed first: start runs
    -- only when the status says none is running.)
    start_command = "rm -f " .. q(pidfile) .. "; haproxy -W -D -f " .. q(config) .. " -p " .. q(pidfile)
      .. " && i=0; while [ ! -s " .. q(pidfile) .. " ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
    stop_command = "kill " .. master,
    reload_command = "kill -USR2 " .. master,
    restart_command = "pid=" .. master .. "; kill \"$pid\"; i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do"
      .. " sleep 0.1; i=$((i+1)); done; rm -f " .. q(pidfile) .. "; haproxy -W -D -f " .. q(config) .. " -p " .. q(pidfile)
      .. " && i=0; while [ ! -s " .. q(pidfile) .. " ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
    action = "start",
  }
end
