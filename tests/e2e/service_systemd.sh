#!/bin/bash
# service resource, systemd provider, against a real systemd: the test boots
# a private systemd as PID 1 of its own namespaces (tests/e2e/lib/systemd-boot.sh
# says how the host is kept out of reach) and runs ccchef inside them with
# nsenter, so the provider is chosen by the real /run/systemd/system and
# every systemctl call reaches a real manager. A tiny daemon unit is
# installed by a `file` resource, then started, stopped, restarted,
# reloaded, enabled and disabled through the service resource; the checks
# read the daemon's PID file, systemd's MainPID and the enable links.
# Skips (77) when this machine cannot boot systemd in a namespace.
. "$(dirname "$0")/lib/common.sh"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts)"
SYSTEMD=/lib/systemd/systemd
[ -x "$SYSTEMD" ] || skip "systemd is not installed"
for cmd in unshare nsenter systemctl; do command -v $cmd >/dev/null || skip "$cmd missing"; done
case "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" in
cgroup2fs) CGBASE=/sys/fs/cgroup ;;
*) [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] || skip "no cgroup2 hierarchy"
	CGBASE=/sys/fs/cgroup/unified ;;
esac

REAL=$CCCHEF
CG=$CGBASE/ccchef-e2e-$$
UNIT=ccchef-e2e-daemon
SP=""

# Kill the namespace's PID 1 (that ends all of it), wait for the cgroup to
# empty, then remove the cgroups systemd made under ours.
stop_systemd() {
	if [ -n "$SP" ]; then kill -KILL "$SP" 2>/dev/null; fi
	if [ -n "${BOOT_PID:-}" ]; then
		# unshare reaps systemd and exits; kill it only if it does not.
		for _ in $(seq 50); do kill -0 "$BOOT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BOOT_PID" 2>/dev/null
		wait "$BOOT_PID" 2>/dev/null
	fi
	if [ -d "$CG" ]; then
		for _ in $(seq 100); do
			[ -z "$(find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
			sleep 0.1
		done
		find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
}
EXTRA_CLEANUP=stop_systemd

# Stub targets: systemd's default dependencies of a service name them; the
# host's real ones would pull in its whole boot.
mkdir "$T/units"
for t in ccchef-e2e sysinit basic multi-user shutdown; do
	printf '[Unit]\nDescription=%s (ccchef e2e stub)\nDefaultDependencies=no\n' "$t" >"$T/units/$t.target"
done

: >"$T/systemd.log"
"$(dirname "$0")/lib/systemd-boot.sh" "$CG" "$T/units" "$T/systemd.log" >>"$T/systemd.log" 2>&1 &
BOOT_PID=$!
ns() { nsenter --target "$SP" --mount --pid --uts --ipc --net --cgroup -- "$@"; }
for _ in $(seq 100); do
	# systemd is the child of unshare, which the boot script became.
	SP=$(pgrep -P "$BOOT_PID" -x systemd || true)
	if [ -n "$SP" ]; then
		st=$(timeout 5 nsenter --target "$SP" --mount --pid -- systemctl is-system-running 2>/dev/null || true)
		[ "$st" = running ] || [ "$st" = degraded ] && break
	fi
	kill -0 "$BOOT_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "${st:-}" != running ] && [ "${st:-}" != degraded ]; then
	sed 's/^/  systemd: /' "$T/systemd.log" | tail -20
	skip "could not boot systemd in a PID/mount namespace here (state '${st:-none}')"
fi
echo "private systemd is PID $SP (host view), $(ns systemctl --version | head -1)"

# ccchef itself runs inside the namespaces.
printf '#!/bin/sh\nexec nsenter --target %s --mount --pid --uts --ipc --net --cgroup -- %s "$@"\n' \
	"$SP" "$REAL" >"$T/ccchef-ns"
chmod 755 "$T/ccchef-ns"
CCCHEF=$T/ccchef-ns

check; ns "$REAL" facts | grep -q '"init":"systemd"' || fail "facts inside: init is not systemd"

cat >"$T/daemon.sh" <<'SH'
#!/bin/sh
# The test daemon: records its PID, runs until TERM; each HUP bumps $1/reloads.
d=$1
echo $$ >"$d/daemon.pid"
n=0
trap 'n=$((n + 1)); echo $n >"$d/reloads"' HUP
trap 'kill $! 2>/dev/null; exit 0' TERM
while :; do sleep 1 & wait $!; done
SH
chmod 755 "$T/daemon.sh"

unit_text() {
	printf '[Unit]\nDescription=ccchef e2e daemon %s\n[Service]\nExecStart=/bin/sh %s %s\n' "$1" "$T/daemon.sh" "$T"
	printf 'ExecReload=/bin/kill -HUP $MAINPID\n[Install]\nWantedBy=multi-user.target\n'
}
unit_text v1 >"$T/unit.v1"
unit_text v2 >"$T/unit.v2"

mainpid() { ns systemctl show -p MainPID --value "$UNIT"; }
active() { ns systemctl is-active "$UNIT"; }
enabled() { ns systemctl is-enabled "$UNIT" 2>/dev/null; }
alive() { [ -s "$T/daemon.pid" ] && ns kill -0 "$(cat "$T/daemon.pid")" 2>/dev/null; }
WANTS=/etc/systemd/system/multi-user.target.wants/$UNIT.service

recipe() { printf '%s\n' "$@" >"$T/r.lua"; }
UNITFILE="file \"/etc/systemd/system/$UNIT.service\" { source = \"$T/unit.v1\", notifies = { \"restart\", \"service[$UNIT]\" } }"

# --- why-run on a node without the unit: says what it would do
recipe "$UNITFILE" "service \"$UNIT\" { action = { \"enable\", \"start\" } }"
apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update service[$UNIT] enable: enable (assuming an earlier resource installs it"
check; ns test ! -e "/etc/systemd/system/$UNIT.service" || fail "why-run wrote the unit file"
assert_eq "$(active)" "inactive" "state after why-run"

# --- install the unit, enable and start it
apply "$T/r.lua"
assert_code 0 "first converge"
assert_summary 2 0
assert_eq "$(active)" "active" "is-active after start"
assert_eq "$(enabled)" "enabled" "is-enabled after enable"
check; ns test -L "$WANTS" || fail "no enable link $WANTS"
PID1=$(cat "$T/daemon.pid" 2>/dev/null)
check; alive || fail "daemon not running after start"
assert_eq "$(mainpid)" "$PID1" "systemd MainPID = daemon PID"
# The notification fired (the unit file is new) and restarted it once.
assert_out "restart  [notified by file[/etc/systemd/system/$UNIT.service] (delayed)]"

apply "$T/r.lua"
assert_code 0 "second converge"
assert_summary 0 0
# Measured, not asserted: a no-op over 5 enabled, running services (one
# `systemctl show` each).
recipe "service \"$UNIT\" { action = { \"enable\", \"start\" } }"
for _ in 1 2 3 4 5; do cat "$T/r.lua"; done >"$T/five.lua"
apply "$T/five.lua"
assert_summary 0 0
echo "no-op converge of 5 systemd services: $(printf '%s' "$OUT" | grep -oE '[0-9.]+ s$')"
assert_eq "$(cat "$T/daemon.pid")" "$PID1" "PID after second converge"

# --- reload: ExecReload sends HUP; always updated when run
recipe "service \"$UNIT\" { action = \"reload\" }"
apply "$T/r.lua"
assert_code 0 "reload"
assert_summary 1 0
for _ in $(seq 50); do [ -s "$T/reloads" ] && break; sleep 0.1; done
assert_content "$T/reloads" "1"
assert_eq "$(mainpid)" "$PID1" "MainPID after reload"

# --- a changed unit file: daemon-reload first, then the notified restart
recipe "${UNITFILE/unit.v1/unit.v2}" "service \"$UNIT\""
apply "$T/r.lua"
assert_code 0 "changed unit file"
assert_out "after daemon-reload: the unit file changed"
assert_eq "$(ns systemctl show -p Description --value "$UNIT")" "ccchef e2e daemon v2" "unit reloaded"
assert_eq "$(ns systemctl show -p NeedDaemonReload --value "$UNIT")" "no" "NeedDaemonReload"
PID2=$(cat "$T/daemon.pid")
check; [ "$PID2" != "$PID1" ] || fail "not restarted after the unit changed"
assert_eq "$(mainpid)" "$PID2" "MainPID after restart"

# --- a changed unit file, and a stop the recipe gives its own command
# for: that command alone, no daemon-reload, and the plan does not claim
# one (docs/resources.md, systemd)
unit_text v3 >"$T/unit.v3"
recipe "file \"/etc/systemd/system/$UNIT.service\" { source = \"$T/unit.v3\" }" \
	"service \"$UNIT\" { action = \"stop\", stop_command = \"touch $T/own-stop\" }"
apply "$T/r.lua"
assert_code 0 "own stop command"
assert_summary 2 0
assert_out "stop (running)"
assert_not_out "after daemon-reload"
assert_file "$T/own-stop"
assert_eq "$(ns systemctl show -p NeedDaemonReload --value "$UNIT")" "yes" "NeedDaemonReload after own command"

# --- explicit restart (through systemctl: the daemon-reload the unit
# file above still needs comes first)
recipe "service \"$UNIT\" { action = \"restart\" }"
apply "$T/r.lua"
assert_summary 1 0
assert_out "restart (after daemon-reload: the unit file changed)"
assert_eq "$(ns systemctl show -p NeedDaemonReload --value "$UNIT")" "no" "NeedDaemonReload after restart"
PID3=$(cat "$T/daemon.pid")
check; [ "$PID3" != "$PID2" ] || fail "restart kept PID $PID2"
check; ! ns kill -0 "$PID2" 2>/dev/null || fail "old daemon $PID2 still alive"

# --- stop
recipe "service \"$UNIT\" { action = \"stop\" }"
apply -n "$T/r.lua"
assert_out "would-update service[$UNIT] stop: stop (running)"
assert_eq "$(active)" "active" "after why-run stop"
apply "$T/r.lua"
assert_code 0 "stop"
assert_summary 1 0
assert_eq "$(active)" "inactive" "is-active after stop"
check; ! ns kill -0 "$PID3" 2>/dev/null || fail "daemon $PID3 alive after stop"
apply "$T/r.lua"
assert_summary 0 0

# --- disable, and again (0 updated); then enable via the unit's full name
recipe "service \"$UNIT\" { action = \"disable\" }"
apply "$T/r.lua"
assert_code 0 "disable"
assert_summary 1 0
assert_eq "$(enabled)" "disabled" "is-enabled after disable"
check; ! ns test -e "$WANTS" || fail "enable link still there after disable"
apply "$T/r.lua"
assert_summary 0 0
recipe "service \"$UNIT.service\" { action = \"enable\" }"
apply "$T/r.lua"
assert_summary 1 0
assert_eq "$(enabled)" "enabled" "is-enabled after enable"
apply "$T/r.lua"
assert_summary 0 0

# --- pattern overrides systemd's status: the daemon is stopped, but a
# process matching the pattern (this test's PID 1: systemd) counts.
recipe "service \"$UNIT\" { action = \"start\", pattern = \"^/lib/systemd/systemd --system\" }"
apply "$T/r.lua"
assert_summary 0 0
assert_eq "$(active)" "inactive" "pattern said running: not started"

# --- errors: unknown unit (exit 1, named); masked unit
recipe "service \"ccchef-e2e-nonexistent\" { action = \"start\" }"
apply "$T/r.lua"
assert_code 1 "unknown unit"
assert_out "r.lua:1: service ccchef-e2e-nonexistent has no systemd unit"
ns systemctl mask --quiet ccchef-e2e-masked.service
recipe "service \"ccchef-e2e-masked\" { action = \"start\" }"
apply "$T/r.lua"
assert_code 1 "masked unit"
assert_out "service ccchef-e2e-masked: the unit is masked"

finish
