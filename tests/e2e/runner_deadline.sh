#!/bin/bash
# ccchef-runner --deadline SECONDS (src/runner_deadline.c; docs/remote.md
# "Timeouts"), without SSH: at the deadline the run and the command it is
# running are stopped, what the run did is still reported, and the exit
# code is 124; SIGTERM to the runner does the same at once; a run that
# ends in time keeps its own exit code; a bad value is a usage error.
# Time bounds are generous (a check against hanging, not a benchmark).
. "$(dirname "$0")/lib/common.sh"
: "${RUNNER:?RUNNER must point at ccchef-runner}"
export CCCHEF_MACHINE_LOCK="$T/machine.lock"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# A sleep no other process on the machine runs (the PID makes it unique).
nap="41.$$"
naps() { pgrep -fx "sleep $nap"; }
# bundle NAME LUA: $T/NAME.tar, a bundle whose recipe is LUA.
bundle() {
	mkdir -p "$T/$1"
	printf '%s\n' "$2" >"$T/$1/site.lua"
	echo '{"run_list":["site.lua"],"node_name":"n1","kitchen":false}' >"$T/$1/run.json"
	tar -C "$T/$1" -cf "$T/$1.tar" site.lua run.json || exit 1
}
mkdir -p "$T/dest"
bundle slow "file(\"$T/dest/before\") { content = \"before\\n\" }
execute \"slow\" { command = \"sleep $nap\" }
file(\"$T/dest/after\") { content = \"after\\n\" }"
bundle quick "file(\"$T/dest/quick\") { content = \"quick\\n\" }"

t0=$(now)
"$RUNNER" --deadline 1 --state-dir "$STATE" <"$T/slow.tar" >"$T/.out" 2>"$T/.err"
CODE=$?; took=$(elapsed "$t0"); OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 124 "stopped at the deadline"
echo "a 1 s deadline took $took s"
check; awk -v t="$took" 'BEGIN { exit !(t < 4) }' || fail "a 1 s deadline took $took s"
check; [ -z "$(naps)" ] || fail "the command outlived the run: $(naps)"
assert_content "$T/dest/before" "before"
assert_no_file "$T/dest/after"
assert_out '"event":"run_end"'
assert_out "command killed by signal 15"

# SIGTERM to the runner (the watchdog): the same stop, at once.
"$RUNNER" --deadline 30 --state-dir "$STATE" <"$T/slow.tar" >"$T/.out" 2>"$T/.err" &
pid=$!
track_pid $pid
for i in $(seq 100); do [ -n "$(naps)" ] && break; sleep 0.05; done
check; [ -n "$(naps)" ] || fail "the command did not start"
t0=$(now)
kill -TERM "$pid"
wait "$pid"
CODE=$?; took=$(elapsed "$t0"); OUT=$(cat "$T/.out")
assert_code 124 "SIGTERM"
check; awk -v t="$took" 'BEGIN { exit !(t < 3) }' || fail "the stop after SIGTERM took $took s"
check; [ -z "$(naps)" ] || fail "the command outlived the run after SIGTERM: $(naps)"
assert_out '"event":"run_end"'

# In time: the run's own exit code and output.
"$RUNNER" --deadline 30 --state-dir "$STATE" <"$T/quick.tar" >"$T/.out" 2>"$T/.err"
CODE=$?; OUT=$(cat "$T/.out")
assert_code 0 "a run that ends in time"
assert_content "$T/dest/quick" "quick"
assert_out '"updated":1'

for bad in x 0 -1 ""; do
	"$RUNNER" --deadline "$bad" --state-dir "$STATE" <"$T/quick.tar" >"$T/.out" 2>"$T/.err"
	CODE=$?; ERR=$(cat "$T/.err")
	assert_code 2 "--deadline '$bad'"
	assert_err "--deadline needs a number of seconds"
done

finish
