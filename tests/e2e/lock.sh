#!/bin/bash
# The run locks: while one `ccchef apply` converges, a second one waits up
# to --lock-timeout and then fails with exit 1 (documented in docs/cli.md:
# a held lock is not bad input, the same command works later) and a message
# naming the holder's PID; with a longer timeout it waits for the first run
# to end and then succeeds. Two locks: the machine-wide one (/run/ccchef.lock
# for root), so two runs with different state directories exclude each
# other too, and the state directory's. A killed run leaves no stale lock.
#
# Other test suites share this machine and its machine-wide lock: the part
# that checks the state directory's lock gives each run a private machine
# lock (CCCHEF_MACHINE_LOCK, for tests only), so a stranger holding the real
# one cannot make "the lock is free" fail; the machine-wide part uses the
# real default and only asserts what holds whoever else runs.
. "$(dirname "$0")/lib/common.sh"

# $T/await FILE: wait for FILE, at most 30 s, so a command a test leaves
# behind (ccchef finishes its current command on SIGTERM) always ends.
cat >"$T/await" <<'SH'
n=0
while [ ! -e "$1" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
SH

# wait_for FILE [TEST]: poll until `test TEST FILE` (default -e) holds,
# bounded, so the test never depends on how fast the machine is.
wait_for() {
	for _ in $(seq 1 300); do
		[ "${2:--e}" "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# The first run holds its locks until the test creates $T/go.
cat >"$T/slow.lua" <<LUA
execute "started" { command = "touch $T/started" }
execute "wait for go" { command = "sh $T/await $T/go" }
execute "done" { command = "touch $T/first-done" }
LUA
cat >"$T/second.lua" <<LUA
file "$T/second" { content = "second\n" }
LUA

## The state directory's lock (machine locks kept apart).
export CCCHEF_MACHINE_LOCK="$T/machine-a.lock"
"$CCCHEF" apply --state-dir "$STATE" --no-color "$T/slow.lua" >"$T/first.out" 2>&1 &
FIRST=$!
track_pid "$FIRST"
check; wait_for "$T/started" || fail "the first run did not start"
check; [ "$(cat "$STATE/lock")" = "$FIRST" ] || fail "lock file does not hold the first run's PID $FIRST"
export CCCHEF_MACHINE_LOCK="$T/machine-b.lock"

# A short timeout: fails, names the holder, changes nothing.
apply --lock-timeout 0.5 "$T/second.lua"
assert_code 1 "lock held"
assert_err "another ccchef run (PID $FIRST) holds the lock $STATE/lock; waited 0.5 s (--lock-timeout)"
check; [ "$(printf '%s' "$ERR" | grep -c '')" = 1 ] || fail "want one line on stderr"
assert_no_file "$T/second"
assert_no_file "$T/first-done"

# The same in JSON and with detailed exit codes (a failure: 4).
apply --lock-timeout 0.2 --format json --detailed-exitcodes "$T/second.lua"
assert_code 4 "lock held, detailed"
assert_out '"event":"error"'
assert_out '"kind":"converge"'
assert_out "(PID $FIRST)"

# A long timeout: waits for the first run to finish, then converges.
( sleep 0.5; touch "$T/go" ) &
apply --lock-timeout 60 "$T/second.lua"
assert_code 0 "waited for the lock"
assert_content "$T/second" "second"
# It ran after the first run had finished, not alongside it.
assert_file "$T/first-done"
check; wait "$FIRST" || fail "the first run failed: $(cat "$T/first.out")"

# The lock is free again: a run with no waiting at all succeeds.
apply --lock-timeout 0 "$T/second.lua"
assert_code 0 "lock free"
assert_summary 0 0

# A run killed with SIGKILL leaves no stale lock (the kernel drops it).
rm -f "$T/started"
# The command records its PID (it leads its own process group, so the
# test can clean it up after killing ccchef).
cat >"$T/killed.lua" <<LUA
execute "started" { command = "touch $T/started" }
execute "sleep" { command = "echo \$\$ > $T/child.pid; exec sleep 60" }
LUA
"$CCCHEF" apply --state-dir "$STATE" "$T/killed.lua" >/dev/null 2>&1 &
VICTIM=$!
track_pid "$VICTIM"
check; wait_for "$T/started" || fail "the run to kill did not start"
check; wait_for "$T/child.pid" -s || fail "the command did not start"
CHILD=$(cat "$T/child.pid" 2>/dev/null)
[ -n "$CHILD" ] && track_pid "$CHILD"
kill -9 "$VICTIM"
wait "$VICTIM" 2>/dev/null
[ -n "$CHILD" ] && kill -9 -- "-$CHILD" 2>/dev/null
apply --lock-timeout 0 "$T/second.lua"
assert_code 0 "no stale lock after kill -9"

# The machine-wide lock on its own: one private lock for two runs with
# different state directories.
export CCCHEF_MACHINE_LOCK="$T/machine.lock"
rm -f "$T/started" "$T/go" "$T/first-done" "$T/second"
"$CCCHEF" apply --state-dir "$T/state-one" --no-color "$T/slow.lua" >"$T/first.out" 2>&1 &
FIRST=$!
track_pid "$FIRST"
check; wait_for "$T/started" || fail "the first run did not start (private machine lock)"
run apply --state-dir "$T/state-two" --no-color --lock-timeout 0.3 "$T/second.lua"
assert_code 1 "machine lock held, other state dir"
assert_err "another ccchef run (PID $FIRST) holds the machine-wide lock $T/machine.lock; waited 0.3 s (--lock-timeout)"
assert_no_file "$T/second"
touch "$T/go"
check; wait "$FIRST" || fail "the first run failed: $(cat "$T/first.out")"

## The real default: root's machine-wide lock is /run/ccchef.lock. Other
## suites' runs may hold it for a moment: the first run waits for them
## (the default --lock-timeout), then holds it until $T/go.
unset CCCHEF_MACHINE_LOCK
if [ "$(id -u)" = 0 ]; then
	rm -f "$T/started" "$T/go" "$T/first-done" "$T/second"
	"$CCCHEF" apply --state-dir "$T/state-one" --no-color "$T/slow.lua" >"$T/first.out" 2>&1 &
	FIRST=$!
	track_pid "$FIRST"
	check; wait_for "$T/started" || fail "the first run did not start (default machine lock)"
	check; [ "$(cat /run/ccchef.lock)" = "$FIRST" ] || fail "/run/ccchef.lock does not hold the first run's PID $FIRST"
	# Another state directory: excluded all the same, told who holds it.
	run apply --state-dir "$T/state-two" --no-color --lock-timeout 0.3 "$T/second.lua"
	assert_code 1 "default machine lock held"
	assert_err "another ccchef run (PID $FIRST) holds the machine-wide lock /run/ccchef.lock; waited 0.3 s (--lock-timeout)"
	assert_no_file "$T/second"
	# It waits, and converges once the first run has ended, not alongside it.
	( sleep 0.5; touch "$T/go" ) &
	run apply --state-dir "$T/state-two" --no-color --lock-timeout 60 "$T/second.lua"
	assert_code 0 "waited for the machine lock"
	assert_content "$T/second" "second"
	assert_file "$T/first-done"
	check; wait "$FIRST" || fail "the first run failed: $(cat "$T/first.out")"
	check; [ "$(stat -c %U:%a /run/ccchef.lock)" = "root:644" ] || fail "/run/ccchef.lock: $(stat -c %U:%a /run/ccchef.lock)"
else
	echo "note: not root: the default machine lock (/run/ccchef.lock) is not checked"
fi

finish
