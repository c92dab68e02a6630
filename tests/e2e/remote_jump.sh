#!/bin/bash
# ProxyJump as ssh(1) does it (docs/remote.md, "Jump hosts"): a node named
# in a -F file with `ProxyJump bastion` (the bastion itself defined in that
# same file) is converged through the bastion; the bastion's sshd log shows
# the forwarding to the node. The bastion's host key follows ccchef's rule
# too: refused when unknown (even with StrictHostKeyChecking no in the
# file), recorded with --accept-new-host-key.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
command -v ssh >/dev/null || { echo "remote_jump: ssh(1) missing (openssh-client)" >&2; exit 77; }

ssh_setup
NODE_LOGLEVEL=DEBUG1 start_node bastion
# The node listens on another loopback address than the bastion.
NODE_LISTEN=127.0.0.2 start_node n1
trust_node bastion
trust_node n1
mkdir -p "$T/k"
cat >"$T/k/site.lua" <<LUA
file("$T/nodes/n1/root/motd") { content = "through the bastion\n" }
LUA
cd "$T/k" || exit 1

# The node's block says to go through the bastion; first in the file, so
# ssh takes it first.
{ printf 'Host n1\n  ProxyJump bastion\n  StrictHostKeyChecking no\n'; cat "$T/ssh/config"; } >"$T/ssh/config-jump"
: >"$T/nodes/bastion/sshd.log"

remote -F "$T/ssh/config-jump" n1 site.lua
assert_code 0 "converge through the bastion"
assert_content "$T/nodes/n1/root/motd" "through the bastion"
check; grep -q "direct-tcpip.*127.0.0.2" "$T/nodes/bastion/sshd.log" ||
	grep -qE "connect(ing|ed)? to 127.0.0.2 port $PORT_n1" "$T/nodes/bastion/sshd.log" ||
	fail "the bastion's log shows no forwarding to 127.0.0.2: $(grep -i tcpip "$T/nodes/bastion/sshd.log" | head -5)"

# Second run, the runner cached: still through the bastion.
: >"$T/nodes/bastion/sshd.log"
remote -F "$T/ssh/config-jump" n1 site.lua
assert_code 0 "second run"
assert_out "n1: runner cached"
check; grep -q "127.0.0.2" "$T/nodes/bastion/sshd.log" || fail "second run did not use the bastion"

# The bastion's key unknown: refused, whatever the file says.
grep -v "^\[127.0.0.1\]:$PORT_bastion " "$T/ssh/known_hosts" >"$T/kh" && cp "$T/kh" "$T/ssh/known_hosts"
echo changed >"$T/nodes/n1/root/motd"
remote -F "$T/ssh/config-jump" n1 site.lua
assert_code 1 "unknown bastion key"
assert_err "through bastion"
assert_content "$T/nodes/n1/root/motd" "changed"
check; ! grep -q "^\[127.0.0.1\]:$PORT_bastion " "$T/ssh/known_hosts" || fail "bastion key recorded without the flag"

remote -F "$T/ssh/config-jump" --accept-new-host-key n1 site.lua
assert_code 0 "bastion key accepted with the flag"
check; grep -q "^\[127.0.0.1\]:$PORT_bastion " "$T/ssh/known_hosts" || fail "bastion key not recorded"
assert_content "$T/nodes/n1/root/motd" "through the bastion"

finish
