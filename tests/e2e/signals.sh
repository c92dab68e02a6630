#!/bin/bash
# Signals (docs/cli.md "Signals"): SIGTERM lets the current resource finish
# (its command is not killed), saves the pending notifications and exits 1
# with a message naming the last resource; a second SIGINT or SIGTERM ends
# the run at once, the journal still holding what was queued; a closed
# stdout (SIGPIPE ignored: EPIPE) does not stop a run; a command outlives a ccchef killed
# with SIGKILL and may still write its output; a runner whose controller went
# away (stdout closed, SIGHUP; or over real SSH, controller killed) finishes
# the run and records it.
. "$(dirname "$0")/lib/common.sh"

# $T/await FILE: wait for FILE, at most 30 s, so a command a test leaves
# behind (ccchef finishes its current command on SIGTERM) always ends.
cat >"$T/await" <<'SH'
n=0
while [ ! -e "$1" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
SH

# Every run here uses a private machine lock: other suites share the machine.
export CCCHEF_MACHINE_LOCK="$T/machine.lock"
LOG="$T/reload.log"
PENDING="$STATE/pending-notifications.journal"

wait_for() { # FILE: bounded poll (30 s)
	for _ in $(seq 1 300); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# A run that blocks in execute[slow] until $T/go exists.
cat >"$T/r.lua" <<LUA
file "$T/one" { content = "one\n", notifies = { "run", "execute[reload]" } }
execute "slow" { command = "touch $T/started; sh $T/await $T/go; touch $T/slow-done" }
file "$T/after" { content = "after\n" }
execute "reload" { command = "echo reload >> $LOG", action = "nothing" }
LUA

## SIGTERM: the current resource finishes, then the run stops.
"$CCCHEF" apply --state-dir "$STATE" --format json "$T/r.lua" >"$T/term.out" 2>"$T/term.err" &
PID=$!
track_pid "$PID"
check; wait_for "$T/started" || fail "the run did not reach execute[slow]"
kill -TERM "$PID"
sleep 0.2 # the signal is delivered while the command runs
touch "$T/go"
wait "$PID"
CODE=$?
OUT=$(cat "$T/term.out")
ERR=$(cat "$T/term.err")
assert_code 1 "SIGTERM"
assert_file "$T/slow-done"             # the command was not killed
assert_out '"resource":"execute[slow]"' # and its resource reported
assert_no_file "$T/after"              # nothing after it ran
assert_out '"interrupted":"SIGTERM"'
assert_out '"success":false'
assert_err "ccchef: error: interrupted by SIGTERM after execute[slow]; file[$T/after] and what follows not run"
assert_out "the run stopped before execute[reload] could run (notified by file[$T/one]); saved in $PENDING, it will fire on the next run"
assert_no_file "$LOG"
check; grep -q '"ref":"execute\[reload\]"' "$PENDING" 2>/dev/null || fail "journal lacks execute[reload]"
apply "$T/r.lua"
assert_code 0 "after SIGTERM"
assert_content "$LOG" "reload"
assert_content "$T/after" "after"
assert_no_file "$PENDING"

## SIGTERM while the delayed notifications run: the rest stay pending.
rm -f "$T/started" "$T/go" "$T/one" "$LOG"
cat >"$T/d.lua" <<LUA
file "$T/one" { content = "one\n", notifies = { { "run", "execute[first]" }, { "run", "execute[second]" } } }
execute "first" { command = "touch $T/started; sh $T/await $T/go; echo first >> $LOG",
  action = "nothing" }
execute "second" { command = "echo second >> $LOG", action = "nothing" }
LUA
"$CCCHEF" apply --state-dir "$STATE" --no-color "$T/d.lua" >"$T/term.out" 2>"$T/term.err" &
PID=$!
track_pid "$PID"
check; wait_for "$T/started" || fail "the run did not reach execute[first]"
kill -TERM "$PID"
sleep 0.2
touch "$T/go"
wait "$PID"
CODE=$?
OUT=$(cat "$T/term.out")
ERR=$(cat "$T/term.err")
assert_code 1 "SIGTERM in the delayed queue"
assert_content "$LOG" "first"
assert_err "interrupted by SIGTERM after execute[first]; execute[second] and what follows not run"
assert_err "the run stopped before execute[second] could run"
check; ! grep -q '"ref":"execute\[first\]","timing":"delayed"}' "$PENDING" ||
	grep -q '"op":"fired"' "$PENDING" || fail "execute[first] fired but is still pending: $(cat "$PENDING")"
apply "$T/d.lua"
assert_code 0 "after SIGTERM in the delayed queue"
assert_content "$LOG" "$(printf 'first\nsecond')"

## A second SIGINT ends the run at once; the journal, written ahead of the
## change, still has the notification.
## (A background job of a script starts with SIGINT ignored, and ccchef
## leaves an ignored signal ignored: env gives it back its default.)
rm -f "$T/started" "$T/go" "$T/one" "$T/after" "$LOG"
env --default-signal=INT "$CCCHEF" apply --state-dir "$STATE" --no-color "$T/r.lua" >/dev/null 2>&1 &
PID=$!
track_pid "$PID"
check; wait_for "$T/started" || fail "the run did not reach execute[slow] (SIGINT)"
kill -INT "$PID"
sleep 0.2
kill -INT "$PID"
wait "$PID"
CODE=$?
assert_code 130 "second SIGINT" # died of SIGINT: 128 + 2
touch "$T/go"                   # the orphaned command ends
check; grep -q '"ref":"execute\[reload\]"' "$PENDING" 2>/dev/null || fail "journal lacks execute[reload] after SIGINT"
wait_for "$T/slow-done"
apply "$T/r.lua"
assert_code 0 "after SIGINT"
assert_content "$LOG" "reload"

## A second SIGTERM, the same (`kill` twice).
rm -f "$T/started" "$T/go" "$T/slow-done" "$T/one" "$T/after" "$LOG"
"$CCCHEF" apply --state-dir "$STATE" --no-color "$T/r.lua" >/dev/null 2>&1 &
PID=$!
track_pid "$PID"
check; wait_for "$T/started" || fail "the run did not reach execute[slow] (SIGTERM twice)"
kill -TERM "$PID"
sleep 0.2
kill -TERM "$PID"
wait "$PID"
CODE=$?
assert_code 143 "second SIGTERM" # 128 + 15
touch "$T/go"
check; grep -q '"ref":"execute\[reload\]"' "$PENDING" 2>/dev/null || fail "journal lacks execute[reload] after SIGTERM twice"
wait_for "$T/slow-done"
apply "$T/r.lua"
assert_code 0 "after SIGTERM twice"
assert_content "$LOG" "reload"

## Stdout closed before the run writes its report: EPIPE, not death.
rm -f "$T/started" "$T/one" "$T/after" "$LOG" "$T/reader.pid"
cat >"$T/p.lua" <<LUA
execute "reader gone" { command = "while [ ! -s $T/reader.pid ] || kill -0 \$(cat $T/reader.pid) 2>/dev/null; do sleep 0.05; done" }
file "$T/one" { content = "one\n", notifies = { "run", "execute[reload]" } }
execute "reload" { command = "echo reload >> $LOG", action = "nothing" }
LUA
( "$CCCHEF" apply --state-dir "$STATE" "$T/p.lua" 2>"$T/pipe.err"; echo $? >"$T/pipe.code" ) |
	( echo "$BASHPID" >"$T/reader.pid" )
check; wait_for "$T/pipe.code" || fail "the run with a closed stdout did not end"
assert_eq "$(cat "$T/pipe.code")" 0 "exit code with a closed stdout"
assert_content "$T/one" "one"
assert_content "$LOG" "reload"

## A command outlives a ccchef killed with SIGKILL, output and all: its
## output goes to a file, not to a pipe that would kill it with SIGPIPE.
rm -f "$T/started" "$T/go"
cat >"$T/c.lua" <<LUA
execute "long" { command = "touch $T/started; sh $T/await $T/go; seq 1 200000; echo done >&2; touch $T/cmd-finished" }
LUA
"$CCCHEF" apply --state-dir "$STATE" "$T/c.lua" >/dev/null 2>&1 &
PID=$!
track_pid "$PID"
check; wait_for "$T/started" || fail "the command did not start"
kill -9 "$PID"
wait "$PID" 2>/dev/null
touch "$T/go"
check; wait_for "$T/cmd-finished" || fail "the command died with ccchef"

## The runner: its controller goes away (stdout closed after the first
## event, SIGHUP): it finishes the run and records it in last-run.json.
if [ -n "${RUNNER:-}" ]; then
	rm -f "$T/started" "$T/go" "$T/one"
	mkdir -p "$T/k"
	cat >"$T/k/site.lua" <<LUA
execute "slow" { command = "touch $T/started; sh $T/await $T/go" }
file "$T/one" { content = "one\n" }
LUA
	echo '{"run_list":["site.lua"],"node_name":"n1"}' >"$T/k/run.json"
	tar -C "$T/k" -cf "$T/bundle.tar" .
	mkfifo "$T/events"
	cat "$T/events" >/dev/null &
	READER=$!
	track_pid "$READER"
	"$RUNNER" --state-dir "$T/rstate" <"$T/bundle.tar" >"$T/events" 2>"$T/runner.err" &
	RPID=$!
	track_pid "$RPID"
	check; wait_for "$T/started" || fail "the runner did not start converging"
	kill "$READER" # the controller's end of the pipe is gone,
	wait "$READER" 2>/dev/null
	kill -HUP "$RPID" # and so is its session
	touch "$T/go"
	wait "$RPID"
	CODE=$?
	assert_code 0 "runner without its controller"
	assert_content "$T/one" "one"
	check; grep -q '"success":true' "$T/rstate/last-run.json" 2>/dev/null ||
		fail "last-run.json: $(cat "$T/rstate/last-run.json" 2>/dev/null)"
fi

## End to end over SSH: the controller and its worker are killed with
## SIGKILL mid-run (the session drops); the runner on the node finishes the
## run and records it in last-run.json.
if [ -n "${RUNNER:-}" ] && command -v ssh >/dev/null; then
	. "$(dirname "$0")/lib/sshd.sh"
	ssh_setup
	start_node n1
	trust_node n1
	rm -f "$T/started" "$T/go"
	mkdir -p "$T/kr"
	cat >"$T/kr/site.lua" <<LUA
execute "slow" { command = "touch $T/started; sh $T/await $T/go" }
file "$T/nodes/n1/root/after" { content = "after\n" }
LUA
	echo "return { n1 = { host = \"n1\" } }" >"$T/kr/nodes.lua"
	(cd "$T/kr" && exec "$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" --no-color n1 site.lua \
		>"$T/remote.out" 2>&1) &
	CPID=$!
	track_pid "$CPID"
	check; wait_for "$T/started" || fail "the remote run did not start: $(cat "$T/remote.out")"
	WORKERS=$(pgrep -P "$CPID")
	kill -9 "$CPID" $WORKERS
	wait "$CPID" 2>/dev/null
	touch "$T/go"
	for _ in $(seq 1 300); do
		grep -q '"success":true' "$T/nodes/n1/state/last-run.json" 2>/dev/null && break
		sleep 0.1
	done
	check; grep -q '"success":true' "$T/nodes/n1/state/last-run.json" 2>/dev/null ||
		fail "the runner did not record its run: $(cat "$T/nodes/n1/state/last-run.json" 2>/dev/null)"
	assert_content "$T/nodes/n1/root/after" "after"
fi

finish
