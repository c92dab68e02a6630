#!/bin/bash
# `ccchef remote` shows each node's lines as they happen (issue 10): the
# runner writes and flushes each event when it happens and the controller
# passes it on at once, so a resource that waits for its own earlier event
# to reach the operator finishes (driven by the test, not by timing); a
# node stopped by --command-timeout still reports what it changed; a node
# whose /tmp is unusable is a failed node, not bad input; the node table
# sorts naturally and a failed row says why.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
start_node n2
trust_node n2
start_node n10
trust_node n10
NODE_ENV="TMPDIR=$T/no-such-dir" start_node n3
trust_node n3
mkdir -p "$T/k/cookbooks"
cd "$T/k" || exit 1

# The second resource waits (at most 20 s) for the file the test creates
# once it has seen the first resource's line in the controller's output.
cat >"$T/k/stream.lua" <<LUA
execute "first" { command = "true" }
execute "second" {
  command = "i=0; until [ -e $T/go ]; do i=\$((i+1)); [ \$i -gt 400 ] && exit 1; sleep 0.05; done",
}
LUA
for format in json human; do
	rm -f "$T/go"
	"$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" --no-color --format "$format" n2 stream.lua \
		>"$T/stream.$format" 2>&1 &
	pid=$!
	track_pid $pid
	i=0
	until grep -q 'execute\[first\]' "$T/stream.$format" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 400 ] && break
		sleep 0.05
	done
	touch "$T/go"
	wait $pid
	CODE=$?
	OUT=$(cat "$T/stream.$format")
	assert_code 0 "streamed $format run"
	if [ "$format" = json ]; then
		assert_out '"resource":"execute[second]"'
		assert_out '"status":"updated"'
	else
		assert_out "n2:   updated      execute[second]"
	fi
done

# --command-timeout: the node is reported as timed out, with the changes
# it made before the timeout.
cat >"$T/k/slow.lua" <<LUA
file("$T/nodes/n2/root/before-timeout") { content = "made\n" }
execute "slow" { command = "sleep 4" }
LUA
remote --command-timeout 2 n2 slow.lua
assert_code 1 "timed out"
assert_out "n2:   updated      file[$T/nodes/n2/root/before-timeout]"
check; printf '%s' "$OUT" | grep -qE "^n2 +timed out " || fail "timed out row"
assert_content "$T/nodes/n2/root/before-timeout" "made"

# A node whose temporary directory is unusable: failed (exit 1), with the
# reason in its row; the other nodes converge; rows in natural order.
cat >"$T/k/ok.lua" <<'LUA'
execute "fine" { command = "true" }
LUA
remote n10,n3,n2 ok.lua
assert_code 1 "one node without a usable /tmp"
check; printf '%s' "$OUT" | grep -qE "^n3 +failed +- +- +- +[0-9.]+ s +cannot create a private directory under $T/no-such-dir" ||
	fail "n3 row"
check; [ "$(printf '%s\n' "$OUT" | grep -oE '^n[0-9]+ ' | tr -d ' ' | tr '\n' ' ')" = "n2 n3 n10 " ] ||
	fail "natural order: $(printf '%s\n' "$OUT" | grep -oE '^n[0-9]+ ' | tr '\n' ' ')"
check; printf '%s' "$OUT" | grep -qE "^n10 +converged " || fail "n10 converged"

# A failed resource's row names it and its error.
cat >"$T/k/bad.lua" <<'LUA'
execute "breaks" { command = "exit 3" }
LUA
remote n2 bad.lua
assert_code 1 "failed resource"
check; printf '%s' "$OUT" | grep -qE "^n2 +failed +1 +0 +1 +[0-9.]+ s +execute\[breaks\]: " || fail "failed row with its reason"

# A recipe that fails only with the node's own facts passes the
# controller's compile (node.facts_known is false there) and fails on the
# node: bad input, with its kitchen-relative file:line in human output, in
# the table, and in JSON.
cat >"$T/k/nodefacts.lua" <<'LUA'
file("/tmp/never-written-by-ccchef-tests") { content = "x" }
if node.facts_known then error("only on the node") end
LUA
remote n2 nodefacts.lua
assert_code 2 "compile error on the node"
assert_err "n2: error: nodefacts.lua:2: only on the node"
check; printf '%s' "$OUT" | grep -qE "^n2 +bad input .*nodefacts.lua:2: only on the node" || fail "bad input row"
remote --format json n2 nodefacts.lua
assert_out '"event":"error","file":"nodefacts.lua","kind":"input","line":2,"message":"only on the node"'

finish
