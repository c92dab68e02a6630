#!/bin/bash
# Rolling deploy through a load balancer (issue 13, case 3;
# docs/failover.md, "Rolling deploys"): `ccchef remote --serial 1` over 3
# engines (private Apache processes, each its own sshd node) behind a real
# haproxy, while 2 request loops run through the balancer: each engine is
# drained, converged (its content, then its own health check), and put back
# in turn; 0 failed requests, every answer the old or the new version, all
# engines on the new version at the end, all back in service.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/rolling_env.sh"

rolling_world 3

# First run (uploads the runners; the content is already v1): every phase.
remote --serial 1 @engine
assert_code 0 "first rollout"
for e in e1 e2 e3; do
	assert_out "$e: drain: drained: lb1 engines: drain, 0 sessions"
	assert_out "$e: undrain: back in service: lb1 engines: ready, "
	check; printf '%s\n' "$OUT" | grep -qE "^$e +converged +2 +0 +0 " || fail "row of $e (content already v1, check passing: 0 updated)"
done
# The converge phase is the node's own lines in human output.
assert_not_out ": converge: "
# One at a time: e1 is back before e2 is drained, e2 before e3.
check; printf '%s\n' "$OUT" | grep -E '^e[123]: (drain|undrain):' | cut -d: -f1,2 | tr '\n' ' ' |
	grep -qx 'e1: drain e1: undrain e2: drain e2: undrain e3: drain e3: undrain ' ||
	fail "phases in order: $(printf '%s\n' "$OUT" | grep -E '^e[123]: (drain|undrain):')"

# Case 3: v2 under load.
load_start 2
sleep 0.5
t0=$(date +%s.%N)
remote --serial 1 @engine --attr version=v2
t1=$(date +%s.%N)
sleep 0.5
load_stop
assert_code 0 "rollout of v2"
echo "case 3 (rolling deploy of 3 engines under load): $SENT requests sent, $FAILED failed; versions: $VERSIONS"
echo "case 3: the 3-engine rolling deploy took $(echo "$t1 - $t0" | bc) s"
assert_eq "$FAILED" 0 "failed requests during the rolling deploy"
check; [ "$SENT" -gt 50 ] || fail "the load loop sent only $SENT requests"
check; ! grep -vE '^e[123] v[12] 200$' "$T/load.all" | grep -q . || fail "answers other than v1/v2: $(grep -vE '^e[123] v[12] 200$' "$T/load.all" | head -3)"
check; grep -q ' v2 200$' "$T/load.all" || fail "no v2 answer during the load"
for e in e1 e2 e3; do
	eval "port=\$HTTP_PORT_$e"
	assert_eq "$(curl -s "http://127.0.0.1:$port/")" "$e v2" "$e's content after the rollout"
	assert_eq "$(server_state $e | cut -d' ' -f1,3)" "ready UP" "$e back in service"
done
# After the rollout the balancer answers v2 only.
for i in 1 2 3 4 5 6; do
	check; curl -s "http://127.0.0.1:$LB_PORT/" | grep -qE '^e[123] v2$' || fail "balancer answer after the rollout"
done

# JSON: the rollout events, with node, phase and each balancer's answer.
remote --serial 2 @engine --attr version=v2 --format json
assert_code 0 "rollout, json"
for phase in drain converge undrain; do
	check; [ "$(printf '%s\n' "$OUT" | grep '"event":"rollout"' | grep -c "\"phase\":\"$phase\"")" = 3 ] ||
		fail "3 rollout events of phase $phase"
done
check; printf '%s\n' "$OUT" | grep '"event":"rollout"' | grep '"node":"e3"' | grep '"phase":"drain"' |
	grep -q '"balancer":"lb1"' || fail "e3's drain event names lb1"
assert_out '"event":"remote_end"'

# Why-run drains nothing (it changes nothing, balancers included).
remote -n --serial 1 @engine --attr version=v9
assert_code 0 "why-run rollout"
assert_not_out ": drain:"
assert_out "would update"
for e in e1 e2 e3; do assert_eq "$(server_state $e | cut -d' ' -f1)" "ready" "$e after why-run"; done

# Without --serial nothing is drained (a plain converge of every node).
remote @engine --attr version=v2
assert_code 0 "remote without --serial"
assert_not_out ": drain:"
finish
