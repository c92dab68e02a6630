# tests/e2e/lib/rolling_env.sh: the world of the drain and rolling-deploy
# tests (tests/e2e/drain.sh, rolling*.sh). Source after common.sh and
# sshd.sh. Everything is this machine, on 127.0.0.1, under $T:
#
#   engines_start N     N engines e1..eN: each its own private Apache
#                       process (a config of its own, not the machine's) on
#                       its own port (HTTP_PORT_e1...), serving $T/nodes/eI/root/www
#                       ("eI v1"), and its own sshd node (start_node eI)
#   balancer_start      haproxy on $LB_PORT, backend "engines" with e1..eN
#                       (leastconn, HTTP checks every 200 ms, retries and
#                       redispatch), admin socket $T/lb/admin.sock; and the
#                       sshd node lb1 that ccchef reaches it through
#   write_kitchen       $T/k: nodes.lua (lb1 with the haproxy.* attributes,
#                       the engines with role engine), roles/engine.lua
#                       (balanced_by = "@lb"), cookbooks/site (the deploy)
#   rolling_world N     the whole world: ssh_setup, N engines, the
#                       balancer, the kitchen, and the shell in $T/k
#   load_start N        N bounded request loops through the balancer
#                       (at most $LOAD_MAX requests each) in the background
#   load_stop           stop them, wait; sets SENT, FAILED, VERSIONS
#   server_state eI     haproxy's view of eI: "STATE SESSIONS STATUS"
# Engines and haproxy are stopped by PID on exit (track_pid).
#
# Why this is not tests/e2e/lib/haproxy.sh (engines + haproxy + load too):
# - the balancer here is a haproxy whose config the test writes by hand, not
#   the one cookbooks/haproxy builds: drain, undrain and rollouts are tested
#   against a balancer ccchef did not make (as an operator's own haproxy
#   is), so a change of the cookbook cannot hide or cause their failures
#   (tests/e2e/rolling_cookbook.sh runs them against the cookbook's);
# - that config has a rule the cookbook does not offer and drain.sh needs:
#   a request marked "X-Engine: eI" reaches eI even while it is drained (it
#   holds a session open on a chosen engine and drain waits for it);
# - an engine here is a deploy target: a static docroot under its node's
#   root that the kitchen's recipe writes, with a slow CGI beside it, so
#   rolling_fail.sh can break the balancer's check (GET /) while the node's
#   own health check passes; lib/haproxy.sh's engines answer from a CGI
#   reading a version file, with /health apart and a delay knob, for the
#   failover cases (slow, killed, restarted on the same port);
# - server_state reads haproxy's admin state (ready/drain/maint) and its
#   session count, which drain asserts; lib/haproxy.sh's lb_status reads
#   only the check status;
# - the load runs until load_stop (a rollout's length is not known before)
#   and keeps every answer line; lib/load.py sends a count at a rate.
. "$(dirname "${BASH_SOURCE[0]}")/haproxy_admin.sh"
LOAD_MAX=${LOAD_MAX:-20000}
MODS=/usr/lib/apache2/modules
command -v haproxy >/dev/null || { echo "haproxy missing (tools/install-deps test)" >&2; exit 1; }
command -v apache2 >/dev/null || { echo "apache2 missing (tools/install-deps test)" >&2; exit 1; }

# Apache's children run as www-data: they must reach the docroots.
chmod 711 "$T"

# A free port for a listener the test starts now (the kernel picks it).
free_listen_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

engine_start() {
	local name=$1 dir="$T/nodes/$1" port pid i=0
	port=$(free_listen_port)
	mkdir -p "$dir/root/www" "$dir/apache"
	chmod 755 "$T/nodes" "$dir" "$dir/root" "$dir/root/www"
	[ -f "$dir/root/www/index.html" ] || echo "$name v1" >"$dir/root/www/index.html"
	# A slow answer (/cgi/slow?SECONDS): a session held open on purpose.
	mkdir -p "$dir/cgi"
	printf '#!/bin/sh\nsleep "${QUERY_STRING:-2}"\nprintf "Content-Type: text/plain\\n\\nslow %%s\\n" %s\n' "$name" >"$dir/cgi/slow"
	chmod 755 "$dir/cgi" "$dir/cgi/slow"
	chmod 644 "$dir/root/www/index.html"
	cat >"$dir/apache/httpd.conf" <<EOC
ServerRoot $dir/apache
ServerName $name
Listen 127.0.0.1:$port
PidFile $dir/apache/httpd.pid
DefaultRuntimeDir $dir/apache
Mutex file:$dir/apache default
ErrorLog $dir/apache/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule dir_module $MODS/mod_dir.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule cgid_module $MODS/mod_cgid.so
ScriptSock $dir/apache/cgid.sock
ScriptAlias /cgi/ $dir/cgi/
TypesConfig /etc/mime.types
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
DocumentRoot $dir/root/www
<Directory $dir/root/www>
  Require all granted
</Directory>
<Directory $dir/cgi>
  Require all granted
</Directory>
DirectoryIndex index.html
EOC
	apache2 -f "$dir/apache/httpd.conf" -DFOREGROUND 2>>"$dir/apache/error.log" &
	pid=$!
	track_pid $pid
	eval "HTTP_PORT_$name=$port ENGINE_PID_$name=$pid"
	until curl -sf -o /dev/null "http://127.0.0.1:$port/"; do
		kill -0 "$pid" 2>/dev/null || { echo "apache for $name did not start: $(cat "$dir/apache/error.log")" >&2; exit 1; }
		i=$((i + 1))
		[ $i -gt 250 ] && { echo "apache for $name does not answer" >&2; exit 1; }
		sleep 0.02
	done
}

engines_start() {
	local i
	ENGINES=""
	for i in $(seq "$1"); do
		engine_start "e$i"
		start_node "e$i"
		trust_node "e$i"
		ENGINES="$ENGINES e$i"
	done
}

balancer_start() {
	local e port pid i=0
	mkdir -p "$T/lb"
	LB_PORT=$(free_listen_port)
	{
		cat <<EOC
global
  stats socket $T/lb/admin.sock mode 600 level admin
  stats timeout 10s
defaults
  mode http
  timeout connect 2s
  timeout client 20s
  timeout server 20s
  retries 3
  option redispatch
frontend site
  bind 127.0.0.1:$LB_PORT
  default_backend engines
backend engines
  balance leastconn
  option httpchk GET /
  http-check expect status 200
  default-server inter 200ms fall 2 rise 1
  # A request with "X-Engine: eI" goes to eI even when it is drained (as
  # persistence would): the tests hold a session open on a chosen engine.
EOC
		for e in $ENGINES; do echo "  use-server $e if { req.hdr(x-engine) -m str $e }"; done
		for e in $ENGINES; do eval "port=\$HTTP_PORT_$e"; echo "  server $e 127.0.0.1:$port check maxconn 50"; done
	} >"$T/lb/haproxy.cfg"
	haproxy -c -q -f "$T/lb/haproxy.cfg" || { echo "bad haproxy.cfg" >&2; exit 1; }
	haproxy -db -f "$T/lb/haproxy.cfg" >>"$T/lb/haproxy.log" 2>&1 &
	pid=$!
	track_pid $pid
	LB_PID=$pid
	until [ -S "$T/lb/admin.sock" ] && curl -sf -o /dev/null "http://127.0.0.1:$LB_PORT/"; do
		kill -0 "$pid" 2>/dev/null || { echo "haproxy did not start: $(cat "$T/lb/haproxy.log")" >&2; exit 1; }
		i=$((i + 1))
		[ $i -gt 250 ] && { echo "haproxy does not answer" >&2; exit 1; }
		sleep 0.02
	done
	start_node lb1
	trust_node lb1
}

# haproxy's view of one server, asked directly (the test's own reading, not
# ccchef's): "STATE SESSIONS STATUS", STATE ready|drain|maint.
server_state() {
	local servers stat
	servers=$(haproxy_cmd "$T/lb/admin.sock" "show servers state engines")
	stat=$(haproxy_cmd "$T/lb/admin.sock" "show stat")
	python3 - "$1" "$servers" "$stat" <<'PY'
import sys
name, servers, stat = sys.argv[1], sys.argv[2], sys.argv[3]
admin = "ready"
lines = servers.splitlines()
cols = lines[1][2:].split()
for l in lines[2:]:
    c = l.split()
    if len(c) == len(cols) and c[cols.index("srv_name")] == name:
        bits = int(c[cols.index("srv_admin_state")])
        admin = "maint" if bits & 0x67 else ("drain" if bits & 0x18 else "ready")
stat = stat.splitlines()
hdr = stat[0][2:].split(",")
for l in stat[1:]:
    c = l.split(",")
    if len(c) > 1 and c[0] == "engines" and c[1] == name:
        print(admin, c[hdr.index("scur")], c[hdr.index("status")])
PY
}

write_kitchen() {
	local e port
	mkdir -p "$T/k/roles" "$T/k/cookbooks/site/recipes"
	{
		echo "return {"
		echo "  lb1 = { host = \"lb1\", roles = { \"lb\" }, attributes = { haproxy = { backend = \"engines\", admin_socket = \"$T/lb/admin.sock\" } } },"
		for e in $ENGINES; do
			eval "port=\$HTTP_PORT_$e"
			echo "  $e = { host = \"$e\", roles = { \"engine\" }, attributes = { root = \"$T/nodes/$e/root\", port = $port } },"
		done
		echo "}"
	} >"$T/k/nodes.lua"
	cat >"$T/k/roles/engine.lua" <<'EOC'
return {
  description = "an engine behind the load balancers of role lb",
  run_list = { "recipe:site" },
  attributes = { balanced_by = "@lb", version = "v1" },
}
EOC
	# The deploy: the engine's content, then its health check (the node's
	# own view: its Apache answers with the new content).
	cat >"$T/k/cookbooks/site/recipes/default.lua" <<'EOC'
if node.break_root then
  -- A deploy the node's own check passes but the balancer's does not (its
  -- check asks for /): the test waits until haproxy has seen it.
  file(node.root .. "/www/index.html") { action = "delete" }
  execute(node.wait_down) {}
else
  file(node.root .. "/www/index.html") { content = node.name .. " " .. node.version .. "\n", mode = "0644" }
end
http_check("http://127.0.0.1:" .. node.port .. (node.health_path or "/")) {
  expect_body = node.health_body or (node.name .. " " .. node.version), retries = 2, retry_delay = 0.1,
}
EOC
}

rolling_world() {
	ssh_setup
	engines_start "$1"
	balancer_start
	write_kitchen
	cd "$T/k" || exit 1
}

load_loop() {
	local n=0 log=$1
	while [ $n -lt "$LOAD_MAX" ] && [ ! -e "$T/load.stop" ]; do
		r=$(curl -s --max-time 10 -w ' %{http_code}' "http://127.0.0.1:$LB_PORT/" 2>/dev/null) || r="$r curl-failed"
		printf '%s\n' "${r//$'\n'/}" >>"$log"
		n=$((n + 1))
	done
}

load_start() {
	local i
	rm -f "$T/load.stop" "$T"/load.*.log
	LOAD_PIDS=""
	for i in $(seq "$1"); do
		: >"$T/load.$i.log"
		load_loop "$T/load.$i.log" &
		LOAD_PIDS="$LOAD_PIDS $!"
		track_pid $!
	done
}

# Every answer must be "eI vN 200"; anything else is a failed request.
load_stop() {
	local p
	touch "$T/load.stop"
	for p in $LOAD_PIDS; do wait "$p" 2>/dev/null; done
	cat "$T"/load.*.log >"$T/load.all"
	SENT=$(wc -l <"$T/load.all")
	FAILED=$(grep -cvE '^e[0-9]+ v[0-9]+ 200$' "$T/load.all")
	VERSIONS=$(awk '{print $2}' "$T/load.all" | sort | uniq -c | tr '\n' ' ')
}
