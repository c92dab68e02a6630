#!/bin/bash
# ccchef remote over many nodes at once: 10 nodes with -p 10 all converge;
# a node that is down, and a node whose recipe fails, are reported while the
# others converge, and the exit code says so; --serial stops after a failing
# batch; --detailed-exitcodes.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
mkdir -p "$T/k"
inv="return {"
for i in 1 2 3 4 5 6 7 8 9 10; do
	start_node "n$i"
	trust_node "n$i"
	inv="$inv n$i = { host = \"n$i\", roles = { \"all\" }, attributes = { root = \"$T/nodes/n$i/root\" } },"
done
echo "$inv }" >"$T/k/nodes.lua"
cat >"$T/k/site.lua" <<'LUA'
for i = 1, 5 do
  file(node.root .. "/f" .. i) { content = node.name .. " " .. i .. "\n" }
end
if node.fail then
  execute "fails on purpose" { command = "echo broken >&2; exit 7" }
end
LUA
cd "$T/k" || exit 1

remote -p 10 @all site.lua
assert_code 0 "10 nodes"
for i in 1 2 3 4 5 6 7 8 9 10; do
	assert_content "$T/nodes/n$i/root/f5" "n$i 5"
	check; printf '%s' "$OUT" | grep -qE "^n$i +converged +5 +5 +0 " || fail "row of n$i"
	check; printf '%s' "$OUT" | grep -q "^n$i: uploaded the runner" || fail "n$i upload line"
done

remote -p 10 @all site.lua
assert_code 0 "10 nodes, second run"
assert_not_out "done; running:" # no progress line when stdout is not a terminal
check; [ "$(printf '%s' "$OUT" | grep -cE '^n[0-9]+ +converged +5 +0 +0 ')" = 10 ] || fail "10 rows with 0 updated"
check; [ "$(printf '%s' "$OUT" | grep -c 'runner cached')" = 10 ] || fail "10 cached runners"

# On a terminal (script(1) gives it one) a last line shows who is running.
script -qec "'$CCCHEF' remote -F '$T/ssh/config' --runner '$RUNNER' -p 4 @all site.lua" /dev/null >"$T/tty.out" 2>&1
check; grep -q "\[0/10 done; running: n1 n2 n3 n4\]" "$T/tty.out" || fail "progress line: $(head -c 600 "$T/tty.out")"
check; grep -qE "\[9/10 done; running: n[0-9]+\]" "$T/tty.out" || fail "last progress line"
check; grep -qE "^n9 +converged +5 +0 +0 " "$T/tty.out" || fail "table after the progress line"

# n3 down, n5's recipe fails: the others converge, exit 1.
stop_node n3
sed -i "s|n5 = { host = \"n5\", roles = { \"all\" }, attributes = {|n5 = { host = \"n5\", roles = { \"all\" }, attributes = { fail = true,|" nodes.lua
for i in 1 2 4 5 6; do rm -f "$T/nodes/n$i/root/f1"; done
remote -p 3 @all site.lua
assert_code 1 "one node down, one failing"
assert_err "n3: error: cannot connect to 127.0.0.1 port $PORT_n3"
assert_out "n5:   failed       execute[fails on purpose]"
assert_out "n5:       | broken"
check; printf '%s' "$OUT" | grep -qE "^n3 +unreachable +- +- +- " || fail "n3 row"
check; printf '%s' "$OUT" | grep -qE "^n5 +failed +6 +1 +1 " || fail "n5 row"
for i in 1 2 4 6; do
	assert_content "$T/nodes/n$i/root/f1" "n$i 1"
	check; printf '%s' "$OUT" | grep -qE "^n$i +converged +5 +1 +0 " || fail "row of n$i"
done
assert_content "$T/nodes/n5/root/f1" "n5 1" # converged up to the failure

remote --detailed-exitcodes @all site.lua
assert_code 4 "detailed: failures, no changes"

# --serial 2: n1,n2 converge; the batch n3,n4 fails (n3 down); the rest is not run.
rm -f "$T/nodes/n1/root/f2" "$T/nodes/n9/root/f2"
remote --serial 2 n1,n2,n3,n4,n5,n6,n7,n8,n9,n10 site.lua
assert_code 1 "serial"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +5 +1 +0 " || fail "serial: n1 converged"
check; printf '%s' "$OUT" | grep -qE "^n3 +unreachable" || fail "serial: n3 unreachable"
check; printf '%s' "$OUT" | grep -qE "^n4 +converged" || fail "serial: n4 (same batch) converged"
check; printf '%s' "$OUT" | grep -qE "^n9 +not run" || fail "serial: n9 not run"
assert_no_file "$T/nodes/n9/root/f2"
assert_err "n9: error: not converged: an earlier batch failed (--serial)"

# status sees every node, the one that is down as unreachable.
status_cmd @all
assert_code 1 "status with a node down"
check; printf '%s' "$OUT" | grep -qE "^n5 +[0-9-]+ [0-9:]+ +failed: execute\[fails on purpose\]" || fail "status n5 row"
check; printf '%s' "$OUT" | grep -qE "^n3 +- +unreachable" || fail "status n3 row"

finish
