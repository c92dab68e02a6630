# tests/e2e/lib/haproxy.sh: engines behind a real haproxy, for the
# failover tests (issue 13). Source after common.sh. (The drain and
# rolling tests have their own world, tests/e2e/lib/rolling_env.sh: why is
# at its top.)
#
# Engines: each a private Apache (`apache2 -f` on a config in $T: no
# /etc/apache2 instance, nothing outside $T) on its own free loopback port,
# answering GET / with one line "NAME VERSION" from a CGI that reads
# $T/engines/NAME/www/version on every request (a deploy that rewrites it is
# seen at once) and first sleeps $T/engines/NAME/delay seconds when that file
# exists (a slow engine). GET /health answers "ok NAME" at once, without the
# CGI: a slow engine is still healthy.
#
# The balancer: the haproxy cookbook (cookbooks/haproxy, copied into the
# kitchen $LBK) converged with `ccchef apply -N lb` from $LBK/nodes.lua,
# whose engine entries are the engines started so far; supervisor "ccchef"
# (no init script: ccchef starts it and reloads it with SIGUSR2), its config,
# PID file and admin socket under $T/lb. haproxy names each server after its
# node, in backend "engines".
#
#   engine_start NAME [VERSION]     start (or start again) engine NAME; sets
#                                   ENGINE_PORT_NAME (kept across restarts)
#   engine_kill NAME                SIGKILL the engine's whole process group
#   engine_stop NAME                SIGTERM it and wait until it is gone
#   engine_set_version NAME V       what it answers from now on
#   engine_set_delay NAME SECONDS   0 removes the delay
#   engine_docroot NAME             its document root (prints it)
#   lb_inventory [NAME...]          write $LBK/nodes.lua: node lb and these
#                                   engines (default: all started), each
#                                   role engine, haproxy_server.port its port;
#                                   $LB_NODE_EXTRA_<NAME>: more Lua fields for
#                                   that node's entry (e.g. port = 2222)
#   lb_converge [ARGS...]           ccchef apply -N lb recipe:haproxy (sets
#                                   OUT, ERR, CODE); $LB_ATTRS: more JSON
#                                   attributes for haproxy, e.g. '"check_inter": 100'
#   lb_cmd COMMAND                  one runtime API command; prints the answer
#   lb_status SERVER                UP, DOWN, DRAIN, MAINT, "UP 1/2"...
#   lb_wait_status SERVER STATUS [SECONDS]   until it is (default 20 s bound)
#   lb_master                       the haproxy master's PID
#   load_start NAME N CONCURRENCY [RATE]     a bounded load on the balancer in
#                                   the background (tests/e2e/lib/load.py)
#   load_wait_progress NAME K [SECONDS]      until K requests of it finished
#   load_wait NAME                  its end; sets LOAD_SENT, LOAD_FAILED,
#                                   LOAD_ERRORS and LOAD_JSON
#   load_count NAME ANSWER_PREFIX   requests whose answer starts with it
#   load_run NAME N CONCURRENCY [RATE]       load_start + load_wait
: "${SRC:?SRC must point at the source tree}"
. "$(dirname "${BASH_SOURCE[0]}")/haproxy_admin.sh"
command -v haproxy >/dev/null || { echo "haproxy is not installed (tools/install-deps test)"; exit 77; }
command -v apache2 >/dev/null || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root (Apache's workers run as www-data)"; exit 77; }

LBK="$T/lbk"
LB_DIR="$T/lb"
LB_SOCKET="$LB_DIR/admin.sock"
LB_PIDFILE="$LB_DIR/haproxy.pid"
LB_ENGINES=""
LOAD_PY="$(dirname "${BASH_SOURCE[0]}")/load.py"
chmod 0755 "$T" # www-data serves the engines' docroots from under it
mkdir -p "$LB_DIR" "$LBK/cookbooks" "$T/engines" "$T/load"
cp -r "$SRC/cookbooks/haproxy" "$LBK/cookbooks/haproxy"

LB_PORT=$(free_port)

engine_docroot() { echo "$T/engines/$1/www"; }

engine_pid() { cat "$T/engines/$1/apache.pid" 2>/dev/null; }

engine_write_conf() { # NAME PORT
	local d="$T/engines/$1"
	cat >"$d/apache2.conf" <<CONF
# An engine of tests/e2e/lib/haproxy.sh: one private Apache.
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
ServerName $1
ServerRoot $d
TypesConfig /dev/null
Listen 127.0.0.1:$2
PidFile $d/apache.pid
ErrorLog $d/error.log
ScriptSock $d/cgid.sock
User www-data
Group www-data
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
KeepAlive Off
DocumentRoot $d/www
<Directory $d/www>
	Options +ExecCGI
	AddHandler cgi-script .cgi
	DirectoryIndex index.cgi
	Require all granted
</Directory>
CONF
}

engine_start() { # NAME [VERSION]
	local name=$1 d="$T/engines/$1" port var="ENGINE_PORT_$1" attempt
	mkdir -p "$d/www"
	[ -n "${2:-}" ] && echo "$2" >"$d/www/version"
	[ -f "$d/www/version" ] || echo "v1" >"$d/www/version"
	echo "$name" >"$d/name"
	echo "ok $name" >"$d/www/health"
	cat >"$d/www/index.cgi" <<CGI
#!/bin/sh
delay=\$(cat $d/delay 2>/dev/null)
[ -n "\$delay" ] && sleep "\$delay"
printf 'Content-Type: text/plain\r\n\r\n%s %s\n' "$name" "\$(cat $d/www/version)"
CGI
	chmod 0755 "$d" "$d/www" "$d/www/index.cgi"
	chmod 0644 "$d/www/version" "$d/www/health"
	case " $LB_ENGINES " in *" $name "*) ;; *) LB_ENGINES="$LB_ENGINES $name" ;; esac
	for attempt in 1 2 3 4 5; do
		port=${!var:-$(free_port)}
		engine_write_conf "$name" "$port"
		rm -f "$d/apache.pid"
		if ! apache2 -f "$d/apache2.conf" -k start 2>>"$d/start.err"; then
			[ -n "${!var:-}" ] && sleep 0.2
			continue
		fi
		local i
		for i in $(seq 100); do [ -s "$d/apache.pid" ] && break; sleep 0.05; done
		if [ -s "$d/apache.pid" ] && curl -sf --max-time 5 "http://127.0.0.1:$port/health" >/dev/null; then
			eval "ENGINE_PORT_$name=$port"
			return 0
		fi
		# The port was taken between the probe and the bind: another one,
		# unless the port is this engine's own (a restart must keep it).
		[ -n "${!var:-}" ] && sleep 0.2 || true
	done
	echo "engine $name did not start: $(cat "$d/start.err" "$d/error.log" 2>/dev/null)" >&2
	exit 1
}

engine_kill() {
	local pid
	pid=$(engine_pid "$1")
	[ -n "$pid" ] || return 0
	# Apache's master is its process group's leader (it daemonizes with
	# setsid): the group is the master, its workers and cgid's children.
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	rm -f "$T/engines/$1/apache.pid" "$T/engines/$1/cgid.sock"*
}

engine_stop() {
	local pid
	pid=$(engine_pid "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL -- "-$pid" 2>/dev/null
	rm -f "$T/engines/$1/apache.pid"
}

engine_set_version() { echo "$2" >"$T/engines/$1/www/version.tmp" && mv "$T/engines/$1/www/version.tmp" "$T/engines/$1/www/version"; }

engine_set_delay() {
	if [ "$2" = 0 ]; then rm -f "$T/engines/$1/delay"; else echo "$2" >"$T/engines/$1/delay"; fi
}

lb_inventory() {
	local names="${*:-$LB_ENGINES}" n port extra
	{
		echo "return {"
		echo "  lb = { host = \"127.0.0.1\", roles = { \"lb\" }, ${LB_NODE_EXTRA_lb:-} },"
		for n in $names; do
			port="ENGINE_PORT_$n"
			extra="LB_NODE_EXTRA_$n"
			echo "  $n = { host = \"127.0.0.1\", roles = { \"engine\" }, attributes = { haproxy_server = { port = ${!port} } }, ${!extra:-} },"
		done
		echo "}"
	} >"$LBK/nodes.lua"
}

lb_converge() {
	cat >"$T/lb-attrs.json" <<JSON
{"haproxy": {"config": "$LB_DIR/haproxy.cfg", "pidfile": "$LB_PIDFILE", "admin_socket": "$LB_SOCKET",
  "service": "ccchef-lb-$$", "supervisor": "ccchef", "user": false, "group": false, "chroot": false,
  "bind_address": "127.0.0.1", "port": $LB_PORT, "check_path": "/health",
  "check_inter": 200, "check_fall": 2, "check_rise": 2, "timeout_connect": 1000 ${LB_ATTRS:+, $LB_ATTRS}}}
JSON
	# Its own machine-wide lock: this balancer shares nothing with other
	# runs on the machine, and a test's converge must not wait for theirs.
	CCCHEF_MACHINE_LOCK="$T/machine.lock" apply -k "$LBK" -N lb -j "$T/lb-attrs.json" "$@" recipe:haproxy
}

lb_master() { cat "$LB_PIDFILE" 2>/dev/null; }

lb_cmd() { haproxy_cmd "$LB_SOCKET" "$1"; }

lb_status() {
	lb_cmd "show stat" 2>/dev/null | awk -F, -v s="$1" '$2 == s { print $18; exit }'
}

lb_wait_status() { # SERVER STATUS [SECONDS]
	local i n=$(( ${3:-20} * 10 ))
	for i in $(seq "$n"); do
		[ "$(lb_status "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

lb_teardown() {
	local pid e
	pid=$(lb_master)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	fi
	for e in $LB_ENGINES; do engine_kill "$e"; done
}
EXTRA_CLEANUP="lb_teardown${EXTRA_CLEANUP:+; $EXTRA_CLEANUP}"

load_start() { # NAME N CONCURRENCY [RATE]
	rm -f "$T/load/$1.progress" "$T/load/$1.json"
	python3 "$LOAD_PY" "http://127.0.0.1:$LB_PORT/" "$2" "$3" ${4:+--rate "$4"} \
		--progress "$T/load/$1.progress" >"$T/load/$1.json" 2>"$T/load/$1.err" &
	eval "LOAD_PID_$1=$!"
	track_pid $!
}

load_wait_progress() { # NAME K [SECONDS]
	local i n=$(( ${3:-60} * 20 ))
	for i in $(seq "$n"); do
		[ "$(cat "$T/load/$1.progress" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

load_wait() {
	local var="LOAD_PID_$1"
	wait "${!var}"
	LOAD_JSON=$(cat "$T/load/$1.json")
	LOAD_SENT=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["sent"])' <<<"$LOAD_JSON" 2>/dev/null || echo "?")
	LOAD_FAILED=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["failed"])' <<<"$LOAD_JSON" 2>/dev/null || echo "?")
	LOAD_ERRORS=$(python3 -c 'import json,sys; print("; ".join(json.load(sys.stdin)["errors"][:5]))' <<<"$LOAD_JSON" 2>/dev/null)
	echo "load $1: $LOAD_JSON"
}

load_count() { # NAME ANSWER_PREFIX
	python3 - "$T/load/$1.json" "$2" <<'PY'
import json, sys
by = json.load(open(sys.argv[1]))["by"]
print(sum(c for a, c in by.items() if a.startswith(sys.argv[2])))
PY
}

load_run() { load_start "$@"; load_wait "$1"; }
