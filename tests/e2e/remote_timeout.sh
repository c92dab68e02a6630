#!/bin/bash
# --command-timeout stops the runner on the node (docs/remote.md,
# "Timeouts"): the node's run ends near the timeout asked for (not
# --connect-timeout later), the runner and the command it was running are
# gone when `remote` returns, and the node's lock is free: the next run
# starts at once. The time bound is generous (a check against hanging,
# not a benchmark).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
start_node n1
trust_node n1
mkdir -p "$T/k"
# A sleep no other process on the machine runs (the PID makes it unique).
nap="31.$$"
cat >"$T/k/slow.lua" <<LUA
file(node.root .. "/before") { content = "before\n" }
execute "slow" { command = "sleep $nap" }
file(node.root .. "/after") { content = "after\n" }
LUA
cat >"$T/k/quick.lua" <<'LUA'
file(node.root .. "/quick") { content = "quick\n" }
LUA
cat >"$T/k/nodes.lua" <<LUA
return { n1 = { host = "n1", attributes = { root = "$T/nodes/n1/root" } } }
LUA
cd "$T/k" || exit 1
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
runner_procs() { pgrep -f "$T/nodes/n1/cache/runner-" ; pgrep -fx "sleep $nap"; }

# Upload first, so the timed run below measures a run, not an upload.
remote n1 quick.lua
assert_code 0 "first run"

t0=$(now)
remote --command-timeout 2 --connect-timeout 10 n1 slow.lua
took=$(elapsed "$t0")
assert_code 1 "timed out"
assert_err "n1: error: the run timed out (--command-timeout)"
check; printf '%s' "$OUT" | grep -qE "^n1 +timed out " || fail "n1 row"
echo "timed-out run took $took s (timeout 2 s)"
check; awk -v t="$took" 'BEGIN { exit !(t < 6) }' || fail "the run took $took s, over 3x the 2 s timeout"
# The node stops the runner before the controller gives up (0.3 s before
# the deadline, the controller waits 1.5 s after it); on a very loaded
# machine the stop may still be finishing: it gets 3 s more, not 30.
for i in $(seq 30); do [ -z "$(runner_procs)" ] && break; sleep 0.1; done
check; [ -z "$(runner_procs)" ] || fail "runner or its command still running: $(runner_procs | xargs ps -o pid,args -p 2>/dev/null)"
assert_content "$T/nodes/n1/root/before" "before"
assert_no_file "$T/nodes/n1/root/after"

# The lock is free: the next run converges at once.
t0=$(now)
remote --command-timeout 20 n1 quick.lua
took=$(elapsed "$t0")
assert_code 0 "next run"
echo "next run took $took s"
check; awk -v t="$took" 'BEGIN { exit !(t < 6) }' || fail "the next run took $took s: waited for the lock?"
assert_content "$T/nodes/n1/root/quick" "quick"

finish
