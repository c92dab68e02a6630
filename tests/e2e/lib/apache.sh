# tests/e2e/lib/apache.sh: a private Apache for a test. The apache2 cookbook
# runs a Debian secondary instance (/etc/apache2-NAME, made by Debian's
# setup-instance) so tests never touch the machine's main Apache; this file
# picks the name and a free port, and removes everything the instance left
# (stopped by the PID in its PID file) when the test exits.
INST="ccct$$"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CONF="/etc/apache2-$INST"
APACHE_LOG="/var/log/apache2-$INST"
APACHE_PIDFILE="/var/run/apache2-$INST/apache2.pid"

apache_teardown() {
	if [ -f "$APACHE_PIDFILE" ]; then
		pid=$(cat "$APACHE_PIDFILE")
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	command -v systemctl >/dev/null && [ -d /run/systemd/system ] && systemctl stop "apache2@$INST" 2>/dev/null
	update-rc.d -f "apache2-$INST" remove >/dev/null 2>&1
	rm -rf "$CONF" "$APACHE_LOG" "/var/run/apache2-$INST" "/var/lock/apache2-$INST" "/var/cache/apache2-$INST" \
		"/etc/init.d/apache2-$INST" "/etc/logrotate.d/apache2-$INST" "/etc/default/apache-htcacheclean-$INST"
	for a in a2enmod a2dismod a2ensite a2dissite a2enconf a2disconf apache2ctl; do rm -f "/usr/local/sbin/$a-$INST"; done
}
EXTRA_CLEANUP="apache_teardown"

apache_pid() { cat "$APACHE_PIDFILE" 2>/dev/null; }
# Graceful restarts and restarts Apache logged so far.
apache_reloads() { grep -c "SIGUSR1\|SIGHUP\|resuming normal operations" "$APACHE_LOG/error.log" 2>/dev/null || echo 0; }

# http_get PATH [HOST] [SCHEME]: sets STATUS, LOCATION, BODY.
http_get() {
	local scheme=${3:-http}
	curl -sk --max-time 10 --path-as-is -o "$T/.body" -D "$T/.headers" -H "Host: ${2:-localhost}" \
		"$scheme://127.0.0.1:$PORT$1" >/dev/null 2>&1
	STATUS=$(awk 'NR==1 {print $2}' "$T/.headers" 2>/dev/null)
	LOCATION=$(tr -d '\r' <"$T/.headers" 2>/dev/null | awk 'tolower($1)=="location:" {print $2}')
	BODY=$(cat "$T/.body" 2>/dev/null)
}

assert_http() { # PATH STATUS LOCATION|- [HOST] [SCHEME]
	check
	http_get "$1" "${4:-localhost}" "${5:-http}"
	[ "$STATUS" = "$2" ] || { fail "GET $1: status $STATUS, want $2"; return; }
	if [ "$3" != "-" ]; then [ "$LOCATION" = "$3" ] || fail "GET $1: Location '$LOCATION', want '$3'"; fi
}
