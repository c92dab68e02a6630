#!/bin/bash
# A rolling deploy whose health check fails on one engine (issue 13, case
# 4; docs/failover.md, "Rolling deploys"): that engine stays drained, the
# rollout stops within the failure budget (--max-failures N or N%), the
# nodes not reached are not run, the balancer keeps serving from the
# others under load (0 failed requests), the exit code says failure, and
# `ccchef status` shows it.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/rolling_env.sh"

rolling_world 3
# e2's health check asks for a page that is not there: its deploy fails.
sed -i 's|e2 = { host = "e2", roles = { "engine" }, attributes = { |&health_path = "/missing", |' nodes.lua

load_start 2
sleep 0.5
remote --serial 1 @engine --attr version=v2
sleep 0.5
load_stop
echo "case 4 (health check fails on e2, budget 0): $SENT requests sent, $FAILED failed; versions: $VERSIONS"
assert_code 1 "a failed health check fails the rollout"
assert_eq "$FAILED" 0 "failed requests while e2 fails"
check; printf '%s\n' "$OUT" | grep -qE "^e1 +converged " || fail "e1 converged"
check; printf '%s\n' "$OUT" | grep -qE "^e2 +failed .*http_check\[http://127.0.0.1:[0-9]+/missing\]" || fail "e2 failed on its health check"
check; printf '%s\n' "$OUT" | grep -qE "^e3 +not run " || fail "e3 not run"
assert_out "e2: undrain: left drained: its run failed"
assert_err "e3: error: not converged: an earlier batch failed (--serial); 1 failed, more than --max-failures 0"
assert_eq "$(server_state e2 | cut -d' ' -f1)" "drain" "e2 stays drained"
assert_eq "$(server_state e1 | cut -d' ' -f1,3)" "ready UP" "e1 back in service"
assert_eq "$(server_state e3 | cut -d' ' -f1)" "ready" "e3 untouched"
check; [ "$(grep -c '^e2 v2' "$T/load.all")" = 0 ] || fail "e2's new, failing version was served"
# The balancer keeps serving from the others.
for i in 1 2 3 4; do
	check; curl -s "http://127.0.0.1:$LB_PORT/" | grep -qE '^e[13] v[12]$' || fail "balancer answer with e2 drained"
done

status_cmd @engine
assert_code 0 "status"
check; printf '%s\n' "$OUT" | grep -E '^e2 ' | grep 'failed: http_check\[' | grep -q 'lb1 engines: drain, 0 sessions' ||
	fail "status shows e2 failed and drained"
check; printf '%s\n' "$OUT" | grep -E '^e1 ' | grep -q 'lb1 engines: ready, 0 sessions, UP' || fail "status of e1"
status_cmd @engine --format json
check; printf '%s\n' "$OUT" | grep '"event":"balancer_state"' | grep '"node":"e2"' | grep -q '"state":"drain"' ||
	fail "status json: e2 drained"

# A budget of 1 (34% of 3 nodes): e2 fails again, e3 is still deployed.
load_start 2
remote --serial 1 --max-failures 34% @engine --attr version=v3
load_stop
echo "case 4 (health check fails on e2, budget 34%): $SENT requests sent, $FAILED failed; versions: $VERSIONS"
assert_code 1 "a failure within the budget still exits 1"
assert_eq "$FAILED" 0 "failed requests, budget 1"
check; printf '%s\n' "$OUT" | grep -qE "^e3 +converged " || fail "e3 converged within the budget"
eval "port=\$HTTP_PORT_e3"
assert_eq "$(curl -s "http://127.0.0.1:$port/")" "e3 v3" "e3's content"
assert_eq "$(server_state e2 | cut -d' ' -f1)" "drain" "e2 still drained"
assert_eq "$(server_state e3 | cut -d' ' -f1,3)" "ready UP" "e3 back in service"

# Bad budgets are usage errors.
remote --max-failures 1 @engine
assert_code 2 "--max-failures without --serial"
assert_err "--max-failures needs --serial"
remote --serial 1 --max-failures x @engine
assert_code 2 "--max-failures x"
assert_err "--max-failures needs N or N%"

# Fixed: the next rollout takes e2 back.
sed -i 's|health_path = "/missing", ||' nodes.lua
remote --serial 1 @engine --attr version=v3
assert_code 0 "rollout after the fix"
assert_out "e2: undrain: back in service"
assert_eq "$(server_state e2 | cut -d' ' -f1,3)" "ready UP" "e2 back in service"

# A node that converges (its own check passes) but that the balancer's
# check does not take back: undrain waits --drain-timeout for UP, then
# drains it again and fails it.
cat >"$T/wait_down.sh" <<EOC
#!/usr/bin/python3
# Until haproxy's check says e3 is DOWN (at most 20 s).
import socket, sys, time
for _ in range(200):
    s = socket.socket(socket.AF_UNIX); s.connect("$T/lb/admin.sock"); s.sendall(b"show stat\\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    for line in out.decode().splitlines():
        c = line.split(",")
        if len(c) > 17 and c[0] == "engines" and c[1] == "e3" and c[17] == "DOWN": sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
EOC
chmod +x "$T/wait_down.sh"
sed -i "s|e3 = { host = \"e3\", roles = { \"engine\" }, attributes = { |&break_root = true, health_path = \"/cgi/slow?0\", health_body = \"slow e3\", wait_down = \"$T/wait_down.sh\", |" nodes.lua
remote --serial 1 --drain-timeout 1 @engine --attr version=v3
assert_code 1 "a node the balancer does not take back"
assert_out "e3: undrain: the balancer does not take it back, drained again: lb1 engines: ready, 0 sessions, DOWN"
assert_out "the balancer's check still says DOWN after 1 s"
check; printf '%s\n' "$OUT" | grep -qE "^e3 +failed +3 +2 +0 .*the balancer does not take it back" || fail "e3 row"
assert_eq "$(server_state e3 | cut -d' ' -f1,3)" "drain DOWN" "e3 drained again"

# The balancer node unreachable: a node that cannot be drained is not
# converged (it might still serve requests), and the rollout stops.
stop_node lb1
remote --serial 1 @engine --attr version=v4
assert_code 1 "rollout with the balancer down"
assert_out "e1: drain: not drained, so not converged: lb1 engines: cannot connect to 127.0.0.1 port $PORT_lb1"
check; printf '%s\n' "$OUT" | grep -qE "^e1 +failed +- +- +- .*not drained" || fail "e1 row"
check; printf '%s\n' "$OUT" | grep -qE "^e2 +not run " || fail "e2 not run"
eval "port=\$HTTP_PORT_e1"
assert_eq "$(curl -s "http://127.0.0.1:$port/")" "e1 v3" "e1 not converged"
"$CCCHEF" drain -F "$T/ssh/config" --runner "$RUNNER" e1 >"$T/.out" 2>"$T/.err"
CODE=$? OUT=$(cat "$T/.out") ERR=$(cat "$T/.err")
assert_code 1 "drain with the balancer down"
assert_err "e1: error: lb1 engines: cannot connect"
finish
