#!/bin/bash
# The haproxy cookbook (cookbooks/haproxy) for real: Debian's haproxy in
# front of two engines (private Apaches, tests/e2e/lib/haproxy.sh), its
# servers from nodes("role:engine"). Why-run first (nothing written, nothing
# started), first converge (config, haproxy running, both servers UP and
# answering), second converge 0 updated and no reload (the same worker),
# attributes that would land in the config refused (exit 2, config and
# haproxy untouched), a config haproxy refuses never goes live (verify).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/haproxy.sh"

worker_pid() { lb_cmd "show info" 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }

engine_start e1 v1
engine_start e2 v1
lb_inventory

lb_converge -n
assert_code 0 "why-run"
assert_out "would-update template[$LB_DIR/haproxy.cfg]"
assert_no_file "$LB_DIR/haproxy.cfg"
assert_no_file "$LB_PIDFILE"

lb_converge
assert_code 0 "first converge"
assert_out "updated      template[$LB_DIR/haproxy.cfg]"
assert_file "$LB_DIR/haproxy.cfg"
check; grep -q "^	server e1 127.0.0.1:$ENGINE_PORT_e1 check$" "$LB_DIR/haproxy.cfg" || fail "server e1: $(cat "$LB_DIR/haproxy.cfg")"
check; grep -q "^	server e2 127.0.0.1:$ENGINE_PORT_e2 check$" "$LB_DIR/haproxy.cfg" || fail "server e2"
check; grep -q "^	stats socket $LB_SOCKET mode 600 level admin" "$LB_DIR/haproxy.cfg" || fail "admin socket line"
check; grep -q "^	balance leastconn$" "$LB_DIR/haproxy.cfg" || fail "leastconn"
check; grep -q "^	option redispatch 1$" "$LB_DIR/haproxy.cfg" || fail "redispatch"
check; grep -q "^	http-check send meth GET uri /health$" "$LB_DIR/haproxy.cfg" || fail "httpchk path"
assert_mode "$LB_SOCKET" 600
check; kill -0 "$(lb_master)" 2>/dev/null || fail "haproxy is not running"
check; lb_wait_status e1 UP || fail "e1 is $(lb_status e1), not UP"
check; lb_wait_status e2 UP || fail "e2 is $(lb_status e2), not UP"
load_run first 40 2
assert_eq "$LOAD_FAILED" 0 "failed requests"
check; [ "$(load_count first "e1 v1")" -gt 0 ] && [ "$(load_count first "e2 v1")" -gt 0 ] || fail "both engines answer: $LOAD_JSON"

master=$(lb_master)
worker=$(worker_pid)
cfg=$(cat "$LB_DIR/haproxy.cfg")
lb_converge
assert_code 0 "second converge"
assert_summary 0 0
assert_eq "$(lb_master)" "$master" "master PID after the second run"
assert_eq "$(worker_pid)" "$worker" "worker PID after the second run (no reload)"

# Values that would land in the config are refused before anything runs.
for bad in 'haproxy.port=70000|haproxy.port = "70000": expected an integer 1-65535' \
	'haproxy.backend="a b"|haproxy.backend = "a b": expected a name' \
	'haproxy.check_path="/x y"|haproxy.check_path = "/x y": expected an absolute URL path' \
	'haproxy.check_host="a\nb"|haproxy.check_host' \
	'haproxy.bind_address="1.2.3.999"|not an IPv4 address' \
	'haproxy.config="/etc/../x"|haproxy.config' \
	'haproxy.admin_socket="/run/x y.sock"|haproxy.admin_socket' \
	'haproxy.retry_on=["conn-failure", "x\ny"]|haproxy.retry_on[2]' \
	'haproxy.balance="random;"|haproxy.balance' \
	'haproxy.user="root\nx"|haproxy.user'; do
	lb_converge --attr "${bad%%|*}"
	assert_code 2 "bad attribute ${bad%%|*}"
	assert_err "${bad##*|}"
done
printf 'return { lb = { roles = { "lb" } }, e1 = { roles = { "engine" }, attributes = { haproxy_server = { port = "80; x" } } } }\n' >"$LBK/nodes.lua"
lb_converge
assert_code 2 "a node's haproxy_server.port"
assert_err "nodes.lua e1: haproxy_server.port"
assert_eq "$(cat "$LB_DIR/haproxy.cfg")" "$cfg" "config after refused input"
assert_eq "$(worker_pid)" "$worker" "worker after refused input"

# A config haproxy itself refuses (a server name that does not resolve):
# verify fails the converge and the live config and haproxy stay as they are.
lb_inventory
sed -i 's|^}$|  e3 = { host = "no-such-engine.invalid", roles = { "engine" } },\n}|' "$LBK/nodes.lua"
lb_converge
assert_code 1 "haproxy -c refuses the candidate"
assert_out "failed       template[$LB_DIR/haproxy.cfg]"
assert_out "no-such-engine.invalid"
assert_eq "$(cat "$LB_DIR/haproxy.cfg")" "$cfg" "live config after a refused candidate"
assert_eq "$(worker_pid)" "$worker" "worker after a refused candidate"
load_run after 20 2
assert_eq "$LOAD_FAILED" 0 "still serving after a refused candidate"

finish
