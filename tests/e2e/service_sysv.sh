#!/bin/bash
# service resource, sysvinit provider, against a real LSB init script: the
# test installs /etc/init.d/ccchef-test-PID for a tiny daemon (a shell loop
# that counts SIGHUPs) run by start-stop-daemon with a PID file, and checks
# start/stop/restart/reload through the PID file and the process, and
# enable/disable through the rc.d links update-rc.d makes. Needs root.
. "$(dirname "$0")/lib/common.sh"

if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (installs an init script)"; exit 77; fi
if [ -d /run/systemd/system ]; then
	# The init script would be handed to systemctl by /lib/lsb/init-functions
	# and update-rc.d would reload systemd: not the sysvinit path under test.
	echo "SKIP: this node runs systemd; the sysvinit test needs a non-systemd node"; exit 77
fi
for cmd in start-stop-daemon update-rc.d pgrep; do
	command -v $cmd >/dev/null || { echo "SKIP: $cmd missing"; exit 77; }
done

NAME=ccchef-test-$$
INIT=/etc/init.d/$NAME
PIDFILE=$T/daemon.pid

# Whatever happens: stop our daemons by PID, remove the script and links.
kill_pidfile() { [ -s "$1" ] && kill "$(cat "$1")" 2>/dev/null; }
EXTRA_CLEANUP='kill_pidfile "$PIDFILE"; kill_pidfile "$T/odd.pid"; rm -f "$INIT" /etc/rc[0-6S].d/[SK][0-9][0-9]"$NAME"'

cat >"$T/daemon.sh" <<'SH'
#!/bin/sh
# The test daemon: runs until TERM; every HUP (reload) bumps $1/reloads.
d=$1
n=0
trap 'n=$((n + 1)); echo $n >"$d/reloads"' HUP
trap 'kill $! 2>/dev/null; exit 0' TERM
while :; do sleep 1 & wait $!; done
SH
chmod 755 "$T/daemon.sh"
cp "$T/daemon.sh" "$T/odd.sh"

cat >"$INIT" <<SH
#!/bin/sh
### BEGIN INIT INFO
# Provides:          $NAME
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: ccchef e2e test daemon
### END INIT INFO
# LSB exit codes: status 0 running, 1 dead with PID file, 3 stopped.
SSD="start-stop-daemon --quiet --pidfile $PIDFILE"
case "\$1" in
start) \$SSD --start --background --make-pidfile --startas $T/daemon.sh -- $T ;;
stop) \$SSD --stop --retry TERM/5/KILL/5 --remove-pidfile ;;
restart) \$SSD --stop --retry TERM/5/KILL/5 --remove-pidfile; \$SSD --start --background --make-pidfile --startas $T/daemon.sh -- $T ;;
reload|force-reload) \$SSD --stop --signal HUP ;;
status) \$SSD --status ;;
*) echo "Usage: \$0 {start|stop|restart|reload|status}" >&2; exit 3 ;;
esac
SH
chmod 755 "$INIT"

alive() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
assert_alive() { check; alive || fail "${1:-daemon} should be running"; }
assert_dead() { check; ! alive || fail "${1:-daemon} should not be running"; }
links() { ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d | grep -E "^[SK][0-9]{2}$NAME\$" | cut -c1 | sort -u | tr -d '\n'; }

recipe() { printf '%s\n' "$@" >"$T/r.lua"; }

# --- start: why-run first changes nothing
recipe "service \"$NAME\" { action = \"start\" }"
apply -n "$T/r.lua"
assert_code 0 "why-run start"
assert_out "would-update service[$NAME] start: start (not running)"
assert_dead "after why-run"
assert_no_file "$PIDFILE"

apply "$T/r.lua"
assert_code 0 "start"
assert_summary 1 0
assert_alive "after start"
PID1=$(cat "$PIDFILE" 2>/dev/null)

apply "$T/r.lua"
assert_code 0 "second start"
assert_summary 0 0
assert_eq "$(cat "$PIDFILE" 2>/dev/null)" "$PID1" "PID after second start"

# --- reload: SIGHUP reaches the daemon; always updated when run
recipe "service \"$NAME\" { action = \"reload\" }"
apply -n "$T/r.lua"
assert_summary 1 0
assert_no_file "$T/reloads"
apply "$T/r.lua"
assert_code 0 "reload"
assert_summary 1 0
# the daemon handles HUP asynchronously (its sleep ends within 1 s)
for _ in $(seq 50); do [ -s "$T/reloads" ] && break; sleep 0.1; done
assert_content "$T/reloads" "1"
assert_eq "$(cat "$PIDFILE")" "$PID1" "PID after reload"

# --- restart: a new process
recipe "service \"$NAME\" { action = \"restart\" }"
apply "$T/r.lua"
assert_code 0 "restart"
assert_summary 1 0
assert_alive "after restart"
PID2=$(cat "$PIDFILE" 2>/dev/null)
check; [ -n "$PID2" ] && [ "$PID2" != "$PID1" ] || fail "restart: PID $PID1 -> $PID2"
check; ! kill -0 "$PID1" 2>/dev/null || fail "old daemon $PID1 still alive after restart"

# --- restart only through a notification: a changed file triggers it once
recipe "file \"$T/conf\" { content = \"v1\\n\", notifies = { \"restart\", \"service[$NAME]\" } }" \
	"service \"$NAME\""
apply "$T/r.lua"
assert_code 0 "notified restart"
assert_out "[notified by file[$T/conf] (delayed)]"
PID3=$(cat "$PIDFILE" 2>/dev/null)
check; [ "$PID3" != "$PID2" ] || fail "notification did not restart (PID $PID2)"
apply "$T/r.lua"
assert_summary 0 0
assert_eq "$(cat "$PIDFILE")" "$PID3" "PID after unchanged notifier"

# --- stop
recipe "service \"$NAME\" { action = \"stop\" }"
apply -n "$T/r.lua"
assert_out "would-update service[$NAME] stop: stop (running)"
assert_alive "after why-run stop"
apply "$T/r.lua"
assert_code 0 "stop"
assert_summary 1 0
assert_dead "after stop"
check; ! kill -0 "$PID3" 2>/dev/null || fail "daemon $PID3 alive after stop"
apply "$T/r.lua"
assert_summary 0 0

# --- enable + start in one resource; the rc.d links are update-rc.d's
assert_eq "$(links)" "" "links before enable"
recipe "service \"$NAME\" { action = { \"enable\", \"start\" } }"
apply -n "$T/r.lua"
assert_out "enable at boot"
assert_eq "$(links)" "" "links after why-run enable"
assert_dead "after why-run enable+start"
apply "$T/r.lua"
assert_code 0 "enable+start"
assert_summary 1 0
assert_eq "$(links)" "S" "links after enable"
check; [ -L "/etc/rc2.d/S01$NAME" ] || fail "no /etc/rc2.d/S01$NAME"
check; [ -L "/etc/rc0.d/K01$NAME" ] || fail "no /etc/rc0.d/K01$NAME (Default-Stop)"
assert_alive "after enable+start"
apply "$T/r.lua"
assert_summary 0 0
# Measured, not asserted: a no-op over 5 enabled, running services (one
# `status` process and four rc.d listings each).
for _ in 1 2 3 4 5; do cat "$T/r.lua"; done >"$T/five.lua"
apply "$T/five.lua"
assert_summary 0 0
echo "no-op converge of 5 sysvinit services: $(printf '%s' "$OUT" | grep -oE '[0-9.]+ s$')"

# --- disable: S links become K links; enabling again turns them back
recipe "service \"$NAME\" { action = \"disable\" }"
apply "$T/r.lua"
assert_code 0 "disable"
assert_summary 1 0
assert_eq "$(links)" "K" "links after disable"
apply "$T/r.lua"
assert_summary 0 0
recipe "service \"$NAME\" { action = \"enable\" }"
apply "$T/r.lua"
assert_summary 1 0
assert_eq "$(links)" "S" "links after re-enable"

# --- status_command overrides the init script's status: it says running,
# so start is up to date although the daemon was stopped.
"$INIT" stop
assert_dead "stopped by hand"
recipe "service \"$NAME\" { action = \"start\", status_command = \"true\" }"
apply "$T/r.lua"
assert_code 0 "status_command"
assert_summary 0 0
assert_dead "status_command true: not started"
recipe "service \"$NAME\" { action = \"start\", status_command = \"$INIT status\" }"
apply "$T/r.lua"
assert_summary 1 0
assert_alive "status_command: started"

# --- an odd daemon without an init script: pattern + start/stop commands
ODD="start-stop-daemon --quiet --pidfile $T/odd.pid"
recipe "service \"odd-$NAME\" { pattern = \"$T/odd.sh\", action = \"start\"," \
	"  start_command = \"$ODD --start --background --make-pidfile --startas $T/odd.sh -- $T/oddstate\"," \
	"  stop_command = \"$ODD --stop --remove-pidfile\" }"
mkdir "$T/oddstate"
apply "$T/r.lua"
assert_code 0 "pattern start"
assert_summary 1 0
check; kill -0 "$(cat "$T/odd.pid" 2>/dev/null)" 2>/dev/null || fail "odd daemon not running"
apply "$T/r.lua"
assert_summary 0 0
sed -i 's/action = "start"/action = "stop"/' "$T/r.lua"
apply "$T/r.lua"
assert_code 0 "pattern stop"
assert_summary 1 0
assert_no_file "$T/odd.pid"
check; ! pgrep -f "$T/odd[.]sh" >/dev/null || fail "odd daemon still running"
apply "$T/r.lua"
assert_summary 0 0

# --- provider given explicitly
recipe "service \"$NAME\" { provider = \"sysvinit\", action = \"stop\" }"
apply "$T/r.lua"
assert_summary 1 0
assert_dead "explicit provider stop"

# --- errors
recipe "service \"ccchef-test-nonexistent-$$\" { action = \"start\" }"
apply "$T/r.lua"
assert_code 1 "missing init script"
assert_out "r.lua:1: service ccchef-test-nonexistent-$$ has no init script /etc/init.d/ccchef-test-nonexistent-$$"
apply -n "$T/r.lua"
assert_code 0 "why-run with a missing init script"
assert_out "assuming an earlier resource installs it"

# a failing init script: the error names the command and shows its output
recipe "service \"$NAME\" { action = \"reload\" }"
apply "$T/r.lua"
assert_code 1 "reload of a stopped daemon"
assert_out "reload failed: \`env -i"
assert_out "$INIT reload\` exited"

recipe "service \"$NAME\" { provider = \"upstart\" }"
apply "$T/r.lua"
assert_code 2 "unknown provider"
assert_err "r.lua:1: service[$NAME]: property 'provider'"

recipe "service \"$NAME\" { status_command = \"true\", pattern = \"x\" }"
apply "$T/r.lua"
assert_code 2 "status_command and pattern"
assert_err "give status_command or pattern, not both"

recipe "service \"$NAME\" { action = \"rstart\" }"
apply "$T/r.lua"
assert_code 2 "unknown action"
assert_err "unknown action 'rstart' (did you mean 'restart'?)"

finish
