#!/bin/bash
# Failover through the haproxy cookbook (issue 13, cases 1, 2 and 6), with
# real engines (private Apaches) behind a real haproxy and a bounded load
# loop (tests/e2e/lib/haproxy.sh, load.py):
#   1. an engine SIGKILLed in the middle of a load: 0 failed requests
#      (retries + redispatch), the balancer marks it DOWN, and once it is
#      back it is UP and answers again;
#   2. a slow engine (each answer delayed 1.5 s) gets far fewer requests
#      than the others (leastconn): a proportion of the same load, not a
#      time;
#   6. a node added to the inventory joins the pool when the balancer is
#      converged: the config gains its server, haproxy reloads (a new
#      worker, the same master), a load running across the reload loses no
#      request, and the new engine answers.
# Each case prints "case N: sent S, failed F".
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/haproxy.sh"

worker_pid() { lb_cmd "show info" 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }

engine_start e1 v1
engine_start e2 v1
engine_start e3 v1
lb_inventory e1 e2 e3
lb_converge
assert_code 0 "balancer converge"
for e in e1 e2 e3; do check; lb_wait_status "$e" UP || fail "$e is $(lb_status "$e"), not UP"; done

# --- 1. an engine killed under load -----------------------------------------
# 600 requests at 100 a second from 4 workers: e2 is killed after 150, so
# about 4.5 s of the load run against a dead engine, DOWN included.
load_start kill 600 4 100
check; load_wait_progress kill 150 || fail "the load did not reach 150 requests"
engine_kill e2
check; lb_wait_status e2 DOWN || fail "e2 not marked DOWN: $(lb_status e2)"
check; [ "$(cat "$T/load/kill.progress")" -lt 600 ] || fail "e2 was marked down only after the load ended"
load_wait kill
echo "case 1: sent $LOAD_SENT, failed $LOAD_FAILED (e2 killed after 150)"
assert_eq "$LOAD_SENT" 600 "requests sent"
assert_eq "$LOAD_FAILED" 0 "failed requests with an engine killed: $LOAD_ERRORS"
check; [ "$(load_count kill "e2 v1")" -gt 0 ] || fail "e2 answered nothing before it was killed"
engine_start e2
check; lb_wait_status e2 UP || fail "e2 back but not UP: $(lb_status e2)"
load_run back 150 4
echo "case 1 (e2 back): sent $LOAD_SENT, failed $LOAD_FAILED, e2 answered $(load_count back "e2 v1")"
assert_eq "$LOAD_FAILED" 0 "failed requests once e2 is back"
check; [ "$(load_count back "e2 v1")" -gt 0 ] || fail "e2 is not used again: $LOAD_JSON"

# --- 2. a slow engine gets less traffic --------------------------------------
engine_set_delay e3 1.5
load_run slow 240 6
engine_set_delay e3 0
s1=$(load_count slow "e1 v1") s2=$(load_count slow "e2 v1") s3=$(load_count slow "e3 v1")
echo "case 2: sent $LOAD_SENT, failed $LOAD_FAILED; e1 $s1, e2 $s2, e3 (slow) $s3"
assert_eq "$LOAD_FAILED" 0 "failed requests with a slow engine"
check; [ $((s3 * 4)) -lt "$s1" ] && [ $((s3 * 4)) -lt "$s2" ] ||
	fail "the slow engine got $s3 requests, the others $s1 and $s2 (want under a quarter of each)"

# --- 6. a node added to the inventory joins the pool ------------------------
engine_start e4 v1
master=$(lb_master)
worker=$(worker_pid)
load_start grow 500 4 100
check; load_wait_progress grow 100 || fail "the load did not reach 100 requests"
lb_inventory e1 e2 e3 e4
lb_converge
assert_code 0 "converge with e4 in the inventory"
assert_out "updated      template[$LB_DIR/haproxy.cfg]"
assert_out "updated      service[ccchef-lb-$$] reload"
check; grep -q "^	server e4 127.0.0.1:$ENGINE_PORT_e4 check$" "$LB_DIR/haproxy.cfg" || fail "no server e4"
check; lb_wait_status e4 UP || fail "e4 not UP: $(lb_status e4)"
assert_eq "$(lb_master)" "$master" "the master stays"
check; [ "$(worker_pid)" != "$worker" ] || fail "no new worker: haproxy did not reload"
load_wait grow
echo "case 6: sent $LOAD_SENT, failed $LOAD_FAILED across the reload; e4 answered $(load_count grow "e4 v1")"
assert_eq "$LOAD_SENT" 500 "requests sent"
assert_eq "$LOAD_FAILED" 0 "failed requests across the reload: $LOAD_ERRORS"
check; [ "$(load_count grow "e4 v1")" -gt 0 ] || fail "e4 answered nothing in the load that spanned its arrival: $LOAD_JSON"
load_run grown 100 4
assert_eq "$LOAD_FAILED" 0 "failed requests after the reload"
check; [ "$(load_count grown "e4 v1")" -gt 0 ] || fail "e4 answers nothing: $LOAD_JSON"

finish
