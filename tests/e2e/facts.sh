#!/bin/bash
# `ccchef facts`: valid JSON whose values match what the system's own tools
# say (hostname, uname -m, nproc, /etc/os-release, /proc/meminfo, ip), and
# recipes see the same values as node.*.
. "$(dirname "$0")/lib.sh"

"$CCCHEF" facts >"$T/facts.json" 2>"$T/facts.err"
CODE=$?
assert_code 0 "ccchef facts"
check; [ ! -s "$T/facts.err" ] || fail "facts wrote to stderr: $(cat "$T/facts.err")"

# fact KEY: the value as text (lists and tables as compact JSON); fails the
# test when the output is not one JSON object or KEY is missing.
fact() {
	python3 -c 'import json,sys
f = json.load(open(sys.argv[1]))
v = f[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":")))' "$T/facts.json" "$1" ||
		fail "facts: no '$1'"
}

for key in hostname fqdn os platform platform_version arch cpus memory ipaddress ip_addresses init package_manager; do
	check
	python3 -c 'import json,sys; sys.exit(0 if sys.argv[2] in json.load(open(sys.argv[1])) else 1)' \
		"$T/facts.json" "$key" || fail "facts lacks '$key'"
done

# /etc/os-release VAR
os_release() { (. /etc/os-release && eval "printf '%s' \"\${$1:-}\""); }

assert_eq "$(fact hostname)" "$(hostname)" "hostname"
assert_eq "$(fact os)" "$(uname -s | tr A-Z a-z)" "os"
assert_eq "$(fact arch)" "$(uname -m)" "arch"
# cpus: the online CPUs; nproc says the same unless this process is pinned
# to fewer (taskset), which it may only make smaller.
assert_eq "$(fact cpus)" "$(getconf _NPROCESSORS_ONLN)" "cpus"
check; [ "$(fact cpus)" -ge "$(nproc)" ] || fail "cpus $(fact cpus) < nproc $(nproc)"
assert_eq "$(fact platform)" "$(os_release ID)" "platform"
assert_eq "$(fact platform_version)" "$(os_release VERSION_ID)" "platform_version"
# fqdn: what the resolver says for the host name (hostname -f asks the same).
if FQDN=$(hostname -f 2>/dev/null) && [ -n "$FQDN" ]; then
	assert_eq "$(fact fqdn)" "$FQDN" "fqdn"
fi
# memory.total is MemTotal from /proc/meminfo, in bytes.
MEM_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["memory"]["total"])' "$T/facts.json")" \
	"$((MEM_KB * 1024))" "memory.total"
# init: systemd only when it runs (it creates /run/systemd/system).
if [ -d /run/systemd/system ]; then WANT_INIT=systemd; else WANT_INIT=sysvinit; fi
assert_eq "$(fact init)" "$WANT_INIT" "init"
if [ -x /usr/bin/apt-get ]; then assert_eq "$(fact package_manager)" "apt" "package_manager"; fi

# Addresses: the same set `ip` lists, and ipaddress is the first global IPv4
# address not on loopback (or 127.0.0.1 when there is none).
if command -v ip >/dev/null; then
	WANT_ADDRS=$(ip -o addr show | awk '{ split($4, a, "/"); print $2, ($3 == "inet" ? "inet" : "inet6"), a[1] }' | sed 's/%.*//' | sort)
	GOT_ADDRS=$(python3 -c 'import json,sys
for a in json.load(open(sys.argv[1]))["ip_addresses"]:
    print(a["interface"], a["family"], a["address"].split("%")[0])' "$T/facts.json" | sort)
	assert_eq "$GOT_ADDRS" "$WANT_ADDRS" "ip_addresses"
	WANT_IP=$(ip -o -4 addr show | awk '$2 != "lo" { split($4, a, "/"); print a[1]; exit }')
	assert_eq "$(fact ipaddress)" "${WANT_IP:-127.0.0.1}" "ipaddress"
fi

# A recipe sees the facts in node.
cat >"$T/r.lua" <<LUA
file "$T/node.txt" {
  content = table.concat({ node.hostname, node.fqdn, node.os, node.platform,
    node.platform_version, node.arch, tostring(node.cpus), tostring(node.memory.total),
    node.ipaddress, node.init, node.package_manager, tostring(#node.ip_addresses) }, "\n") .. "\n",
}
LUA
apply "$T/r.lua"
assert_code 0 "recipe using node"
N_ADDRS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ip_addresses"]))' "$T/facts.json")
WANT=$(printf '%s\n' "$(fact hostname)" "$(fact fqdn)" "$(fact os)" "$(fact platform)" \
	"$(fact platform_version)" "$(fact arch)" "$(fact cpus)" "$((MEM_KB * 1024))" \
	"$(fact ipaddress)" "$(fact init)" "$(fact package_manager)" "$N_ADDRS")
assert_content "$T/node.txt" "$WANT"
assert_summary 1 0

# `facts` takes no arguments.
"$CCCHEF" facts extra >"$T/.out" 2>"$T/.err"
CODE=$?
ERR=$(cat "$T/.err")
assert_code 2 "facts with an argument"
assert_err "facts takes no arguments"

finish
