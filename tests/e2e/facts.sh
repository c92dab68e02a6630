#!/bin/bash
# `ccchef facts`: valid JSON whose values match what the system's own tools
# say (hostname, uname -m, nproc, /etc/os-release, /proc/meminfo, ip), and
# recipes see the same values as node.*.
. "$(dirname "$0")/lib/common.sh"

"$CCCHEF" facts >"$T/facts.json" 2>"$T/facts.err"
CODE=$?
assert_code 0 "ccchef facts"
check; [ ! -s "$T/facts.err" ] || fail "facts wrote to stderr: $(cat "$T/facts.err")"

# One python run reads the output (failing the test if it is not one JSON
# object) and sets F_<key> for every fact, lists and tables as compact
# JSON, plus F_memory_total and F_n_addresses; MISSING lists absent keys.
check
if ! FACTS_SH=$(python3 - "$T/facts.json" <<'PY'
import json, shlex, sys
f = json.load(open(sys.argv[1]))
assert isinstance(f, dict), "facts is not a JSON object"
want = ["hostname", "fqdn", "os", "platform", "platform_version", "arch", "cpus",
        "memory", "ipaddress", "ip_addresses", "init", "package_manager"]
print("MISSING=%s" % shlex.quote(" ".join(k for k in want if k not in f)))
for k, v in f.items():
    if not isinstance(v, str):
        v = json.dumps(v, sort_keys=True, separators=(",", ":"))
    print("F_%s=%s" % (k, shlex.quote(v)))
print("F_memory_total=%s" % shlex.quote(str(f.get("memory", {}).get("total"))))
print("F_n_addresses=%d" % len(f.get("ip_addresses", [])))
print("F_address_lines=%s" % shlex.quote("\n".join(sorted(
    "%s %s %s" % (a["interface"], a["family"], a["address"].split("%")[0])
    for a in f.get("ip_addresses", [])))))
PY
); then
	fail "ccchef facts is not a JSON object: $(cat "$T/facts.json")"
	finish
fi
eval "$FACTS_SH"
assert_eq "$MISSING" "" "facts missing"

# /etc/os-release VAR
os_release() { (. /etc/os-release && eval "printf '%s' \"\${$1:-}\""); }

assert_eq "$F_hostname" "$(hostname)" "hostname"
assert_eq "$F_os" "$(uname -s | tr A-Z a-z)" "os"
assert_eq "$F_arch" "$(uname -m)" "arch"
# cpus: the online CPUs; nproc says the same unless this process is pinned
# to fewer (taskset), which it may only make smaller.
assert_eq "$F_cpus" "$(getconf _NPROCESSORS_ONLN)" "cpus"
check; [ "$F_cpus" -ge "$(nproc)" ] || fail "cpus $F_cpus < nproc $(nproc)"
assert_eq "$F_platform" "$(os_release ID)" "platform"
assert_eq "$F_platform_version" "$(os_release VERSION_ID)" "platform_version"
# fqdn: what the resolver says for the host name (hostname -f asks the same).
if FQDN=$(hostname -f 2>/dev/null) && [ -n "$FQDN" ]; then
	assert_eq "$F_fqdn" "$FQDN" "fqdn"
fi
# memory.total is MemTotal from /proc/meminfo, in bytes.
MEM_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
assert_eq "$F_memory_total" "$((MEM_KB * 1024))" "memory.total"
# init: systemd only when it runs (it creates /run/systemd/system).
if [ -d /run/systemd/system ]; then WANT_INIT=systemd; else WANT_INIT=sysvinit; fi
assert_eq "$F_init" "$WANT_INIT" "init"
if [ -x /usr/bin/apt-get ]; then assert_eq "$F_package_manager" "apt" "package_manager"; fi

# Addresses: the same set `ip` lists, and ipaddress is the first global IPv4
# address not on loopback (or 127.0.0.1 when there is none).
if command -v ip >/dev/null; then
	WANT_ADDRS=$(ip -o addr show | awk '{ split($4, a, "/"); print $2, ($3 == "inet" ? "inet" : "inet6"), a[1] }' | sed 's/%.*//' | sort)
	assert_eq "$(printf '%b' "$F_address_lines")" "$WANT_ADDRS" "ip_addresses"
	WANT_IP=$(ip -o -4 addr show | awk '$2 != "lo" { split($4, a, "/"); print a[1]; exit }')
	assert_eq "$F_ipaddress" "${WANT_IP:-127.0.0.1}" "ipaddress"
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
WANT=$(printf '%s\n' "$F_hostname" "$F_fqdn" "$F_os" "$F_platform" \
	"$F_platform_version" "$F_arch" "$F_cpus" "$((MEM_KB * 1024))" \
	"$F_ipaddress" "$F_init" "$F_package_manager" "$F_n_addresses")
assert_content "$T/node.txt" "$WANT"
assert_summary 1 0

# `facts` takes no arguments.
"$CCCHEF" facts extra >"$T/.out" 2>"$T/.err"
CODE=$?
ERR=$(cat "$T/.err")
assert_code 2 "facts with an argument"
assert_err "facts takes no arguments"

finish
