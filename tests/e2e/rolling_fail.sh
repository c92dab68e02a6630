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

ssh_setup
engines_start 3
balancer_start
write_kitchen
cd "$T/k" || exit 1
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
finish
