#!/bin/bash
# ccchef drain / undrain (issue 13, case 5; docs/failover.md): 3 engines
# (private Apache processes) behind a real haproxy, every node reached
# through its own loopback sshd. Under load, drain and undrain by hand lose
# no request; drain waits for a session held open on the engine, and says
# so when --timeout passes first; undrain waits for the balancer's check;
# `status` shows the balancer state; bad input is found before connecting.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/rolling_env.sh"

rolling_world 3

ccchef_lb() { # drain|undrain|status ARGS...: with the test's ssh config
	local cmd=$1
	shift
	"$CCCHEF" "$cmd" -F "$T/ssh/config" --runner "$RUNNER" "$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# Case 5: drain and undrain by hand under load.
load_start 2
sleep 0.5
ccchef_lb drain e2
assert_code 0 "drain e2"
assert_out "e2: drained on lb1 engines: drain, 0 sessions"
assert_eq "$(server_state e2 | cut -d' ' -f1-2)" "drain 0" "haproxy's state of e2"
# Drained: the load goes to e1 and e3 only.
sleep 0.5
n_before=$(cat "$T"/load.*.log | grep -c '^e2 ')
sleep 1
assert_eq "$(cat "$T"/load.*.log | grep -c '^e2 ')" "$n_before" "requests to drained e2"
ccchef_lb undrain e2
assert_code 0 "undrain e2"
assert_out "e2: ready on lb1 engines: ready, "
assert_out "UP (L7OK)"
sleep 1
load_stop
echo "case 5 (drain/undrain e2 under load): $SENT requests sent, $FAILED failed"
assert_eq "$FAILED" 0 "failed requests while draining by hand"
check; [ "$(grep -c '^e2 ' "$T/load.all")" -gt "$n_before" ] || fail "e2 serves again after undrain"

# Two nodes at once, JSON.
ccchef_lb drain e1,e3 --format json
assert_code 0 "drain e1,e3"
check; [ "$(printf '%s\n' "$OUT" | grep -c '"event":"balancer"')" = 2 ] || fail "one balancer event per server"
assert_out '"event":"drain_end"'
assert_out '"success":true'
ccchef_lb undrain e1,e3
assert_code 0 "undrain e1,e3"

# A session held open on e3 (a slow answer pinned to it): drain waits for
# it to finish, and the request completes.
curl -s -H 'X-Engine: e3' -o "$T/big" -w '%{http_code}' "http://127.0.0.1:$LB_PORT/cgi/slow?4" >"$T/big.code" &
dl=$!
track_pid $dl
i=0
until [ "$(server_state e3 | cut -d' ' -f2)" = 1 ]; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05
done
assert_eq "$(server_state e3 | cut -d' ' -f2)" 1 "the held session on e3"
ccchef_lb drain e3 --timeout 0.5
assert_code 1 "drain with a session still open after --timeout"
assert_err "e3: error: lb1 engines: drain, 1 sessions"
assert_err "1 sessions still open after"
assert_eq "$(server_state e3 | cut -d' ' -f1)" "drain" "e3 stays drained"
ccchef_lb drain e3 --timeout 30
assert_code 0 "drain waits for the session"
wait $dl
assert_eq "$(cat "$T/big.code")" 200 "the held request finished"
assert_content "$T/big" "slow e3"
check; awk '/^e3: drained/ { split($0, a, "("); t = a[length(a)]; sub(/ s\)/, "", t); exit !(t + 0 >= 0.5) }' "$T/.out" ||
	fail "drain took the session's time: $OUT"

# status shows the balancer state of balanced nodes.
status_cmd e1,e3
assert_out "lb1 engines: drain, 0 sessions"
check; printf '%s\n' "$OUT" | grep -E '^e1 ' | grep -q "lb1 engines: ready" || fail "status of e1: $OUT"
ccchef_lb undrain e3
assert_code 0 "undrain e3"

# undrain waits for the balancer's own check: an engine that is down stays
# DOWN, and undrain says so at its timeout.
kill "$ENGINE_PID_e1"; wait "$ENGINE_PID_e1" 2>/dev/null
i=0
until [ "$(server_state e1 | cut -d' ' -f3)" = DOWN ]; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05
done
assert_eq "$(server_state e1 | cut -d' ' -f3)" DOWN "haproxy's check of the stopped e1"
ccchef_lb undrain e1 --timeout 1
assert_code 1 "undrain of an engine whose check fails"
assert_err "the balancer's check still says DOWN"
engine_start e1

# Bad input before any connection: a node no balancer serves, a balancer
# without the haproxy attributes, a name that is not in the inventory.
ccchef_lb drain lb1
assert_code 2 "drain of a node no balancer serves"
assert_err "lb1: no balancer serves it (set the balanced_by attribute"
sed -i 's/haproxy = { backend = "engines", /haproxy = { /' nodes.lua
ccchef_lb drain e1
assert_code 2 "balancer without haproxy.backend"
assert_err "balancer lb1 (balanced_by of e1) has no haproxy.backend attribute"
ccchef_lb drain nosuch
assert_code 2 "unknown node"
assert_err "nosuch is not a node of the inventory"
finish
