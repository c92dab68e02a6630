-- The haproxy cookbook's attributes (docs/failover.md, "The haproxy
-- cookbook"). A load balancer in front of the inventory's nodes of one
-- role: its servers are nodes("role:" .. haproxy.role) in the run's
-- environment, each named in haproxy by its NODE NAME (so `ccchef drain
-- web3` finds server web3), in the backend named haproxy.backend.
-- Every value below is checked for the directive it fills before anything
-- is declared; a bad one is exit 2 naming the attribute.

-- Where the config, the PID file and the admin socket live, and the
-- service that runs haproxy. Tests point them into a private directory so
-- they never touch /etc/haproxy or the machine's haproxy.
default.haproxy.config = "/etc/haproxy/haproxy.cfg"
default.haproxy.pidfile = "/run/haproxy.pid"
default.haproxy.service = "haproxy"
-- "init": the node's init system runs Debian's haproxy service (reload:
-- its master-worker reload, which keeps the listening sockets).
-- "ccchef": no init script; ccchef starts `haproxy -W -D -f CONFIG -p
-- PIDFILE` itself and reloads it with SIGUSR2 to the master (the same
-- seamless reload), for a private balancer beside the machine's own.
default.haproxy.supervisor = "init"
default.haproxy.packages = { "haproxy" }
-- The runtime API (stats socket, level admin): what `ccchef drain` and
-- `ccchef status` talk to. Mode 600: only root may drive the balancer.
default.haproxy.admin_socket = "/run/haproxy/admin.sock"
-- Privileges haproxy drops to after binding (false: keep running as the
-- user that started it, as the tests' private balancer does).
default.haproxy.user = "haproxy"
default.haproxy.group = "haproxy"
default.haproxy.chroot = "/var/lib/haproxy"
default.haproxy.maxconn = 4096

-- The frontend: the site's port on this address ("*" all, or an IPv4 /
-- IPv6 literal).
default.haproxy.frontend = "site"
default.haproxy.bind_address = "*"
default.haproxy.port = 80

-- The backend: its name (the one `ccchef drain` sets servers in), the role
-- whose nodes are its servers, and the environment to take them from
-- (false: the run's own; "any": every environment).
default.haproxy.backend = "engines"
default.haproxy.role = "engine"
default.haproxy.environment = false
-- Each server is NODE.host:server_port unless the node's inventory entry
-- says otherwise in its attributes: { haproxy_server = { address = "10.0.0.5",
-- port = 8081, maxconn = 16, weight = 50 } }.
default.haproxy.server_port = 80
-- Per-server maxconn: requests beyond it wait in haproxy's queue, so a slow
-- server is never buried; with leastconn it gets less traffic.
default.haproxy.server_maxconn = 32
default.haproxy.balance = "leastconn"

-- HTTP health checks: GET check_path (with Host check_host when set) every
-- check_inter ms; a server is down after check_fall failures and up again
-- after check_rise successes. A 2xx or 3xx answer passes.
default.haproxy.check_path = "/"
default.haproxy.check_host = false
default.haproxy.check_inter = 2000
default.haproxy.check_fall = 3
default.haproxy.check_rise = 2

-- A request whose server refused it, or died before answering, is tried
-- again (retries times) and, with option redispatch, on another server:
-- an engine that is killed costs no failed request.
default.haproxy.retries = 3
default.haproxy.retry_on = { "conn-failure", "empty-response", "response-timeout" }

-- Timeouts in milliseconds.
default.haproxy.timeout_connect = 2000
default.haproxy.timeout_client = 30000
default.haproxy.timeout_server = 30000
default.haproxy.timeout_queue = 10000
