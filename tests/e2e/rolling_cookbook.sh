#!/bin/bash
# A rolling deploy through the balancer that cookbooks/haproxy builds
# (issue 13, case 3 end to end; docs/failover.md): the engines and the
# balancer of tests/e2e/lib/haproxy.sh, each also an sshd node; the
# balancer's haproxy.backend is the cookbook's default and its
# haproxy.admin_socket comes from nodes.lua, read as `ccchef attrs lb`
# reads them; the engines' role says balanced_by = "lb" and its recipe
# deploys a version then checks it with http_check. Under a bounded load:
# 0 failed requests, only old and new versions, all new at the end.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/haproxy.sh"

ssh_setup
for e in e1 e2 e3; do
	engine_start "$e" v1
	start_node "$e"
	trust_node "$e"
	eval "LB_NODE_EXTRA_$e=\"port = \$PORT_$e\""
done
start_node lb
trust_node lb
LB_NODE_EXTRA_lb="port = $PORT_lb, attributes = { haproxy = { admin_socket = \"$LB_SOCKET\" } }"
lb_inventory e1 e2 e3
lb_converge
assert_code 0 "the balancer's converge"
for e in e1 e2 e3; do check; lb_wait_status "$e" UP || fail "$e is $(lb_status "$e"), not UP"; done

mkdir -p "$LBK/roles" "$LBK/cookbooks/site/recipes"
cat >"$LBK/roles/engine.lua" <<EOF2
return {
  run_list = { "recipe:site" },
  attributes = { balanced_by = "lb", engines_dir = "$T/engines", version = "v1" },
}
EOF2
cat >"$LBK/cookbooks/site/recipes/default.lua" <<'EOF2'
file(node.engines_dir .. "/" .. node.name .. "/www/version") { content = node.version .. "\n", mode = "0644" }
http_check("http://127.0.0.1:" .. node.haproxy_server.port .. "/") {
  expect_body = node.name .. " " .. node.version, retries = 10, retry_delay = 0.2,
}
EOF2
cd "$LBK" || exit 1

# The balancer's attributes as `ccchef attrs lb` computes them: the
# cookbook's backend, the inventory's socket.
run attrs lb
check; printf '%s\n' "$OUT" | grep -q "^haproxy.backend = \"engines\" .*cookbooks/haproxy/attributes/default.lua" || fail "attrs lb: backend"

# First rollout: runners uploaded, nothing to change.
remote --serial 1 @engine
assert_code 0 "first rollout"
for e in e1 e2 e3; do assert_out "$e: undrain: back in service: lb engines: ready"; done

# 3000 requests at 100 a second from 4 workers (about 30 s, several times
# what the rollout takes even on a loaded machine): the rollout starts once
# 100 are done.
load_start roll 3000 4 100
check; load_wait_progress roll 100 || fail "the load did not start"
t0=$(date +%s.%N)
remote --serial 1 @engine --attr version=v2
t1=$(date +%s.%N)
assert_code 0 "rollout of v2"
done_at_end=$(cat "$T/load/roll.progress")
load_wait roll
echo "case 3 (cookbook balancer): sent $LOAD_SENT, failed $LOAD_FAILED; rollout took $(echo "$t1 - $t0" | bc) s, $done_at_end requests done by its end"
assert_eq "$LOAD_SENT" 3000 "requests sent"
check; [ "$done_at_end" -lt 3000 ] || fail "the load ended before the rollout did"
check; [ "$(load_count roll "e3 v2")" -gt 0 ] || fail "no request saw e3's new version during the load"
assert_eq "$LOAD_FAILED" 0 "failed requests during the rollout: $LOAD_ERRORS"
check; python3 -c 'import json,sys; by=json.load(sys.stdin)["by"]; sys.exit(0 if all(k.split()[1] in ("v1","v2") for k in by) else 1)' <<<"$LOAD_JSON" ||
	fail "answers other than v1/v2: $LOAD_JSON"
for e in e1 e2 e3; do
	port="ENGINE_PORT_$e"
	assert_eq "$(curl -s "http://127.0.0.1:${!port}/")" "$e v2" "$e after the rollout"
	assert_eq "$(lb_status "$e")" UP "$e back in service"
done

# drain / undrain and status against the cookbook's balancer.
"$CCCHEF" drain -F "$T/ssh/config" --runner "$RUNNER" e2 >"$T/.out" 2>"$T/.err"
CODE=$? OUT=$(cat "$T/.out") ERR=$(cat "$T/.err")
assert_code 0 "drain e2"
assert_eq "$(lb_status e2)" DRAIN "haproxy's status of e2"
status_cmd @engine
check; printf '%s\n' "$OUT" | grep -E '^e2 ' | grep -q "lb engines: drain, 0 sessions" || fail "status of e2"
"$CCCHEF" undrain -F "$T/ssh/config" --runner "$RUNNER" e2 >"$T/.out" 2>"$T/.err"
CODE=$? OUT=$(cat "$T/.out") ERR=$(cat "$T/.err")
assert_code 0 "undrain e2"
assert_eq "$(lb_status e2)" UP "e2 back"
finish
