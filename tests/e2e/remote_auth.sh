#!/bin/bash
# ccchef remote's authentication (src/lua_ssh_auth.c, docs/remote.md
# "Speed"): the first identity file's key is offered signed at once, one
# request (sshd's debug log counts them), where the usual sequence ("none",
# then each key offered unsigned, then signed) takes three; when that key
# is not usable or not accepted, the usual sequence still finds the right
# one: an encrypted first identity whose key is in the agent, a wrong key
# named last in the config, a wrong -i with the right key in the config.
# No key accepted: the same error as before. And the runner's sha256,
# which the worker computes with libssh's libcrypto, is sha256sum's.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
NODE_LOGLEVEL=DEBUG1 start_node n1
trust_node n1
mkdir -p "$T/k"
cat >"$T/k/site.lua" <<LUA
file("$T/nodes/n1/root/motd") { content = "hello\n" }
LUA
cd "$T/k" || exit 1
log="$T/nodes/n1/sshd.log"
# requests: the userauth requests sshd logged since the last mark.
mark() { MARK=$(wc -l <"$log"); }
requests() { tail -n +"$((MARK + 1))" "$log" | grep -c "userauth-request for user"; }

# config NAME KEY...: $T/ssh/config-NAME, n1 with KEY... as its
# IdentityFile lines, in order.
config() {
	local name=$1
	shift
	{
		printf 'Host n1\n  HostName 127.0.0.1\n  Port %s\n  User root\n  UserKnownHostsFile %s\n' "$PORT_n1" "$T/ssh/known_hosts"
		for k in "$@"; do printf '  IdentityFile %s\n' "$k"; done
	} >"$T/ssh/config-$name"
}
# with CONFIG ARGS...: ccchef remote with that config; sets OUT, ERR, CODE.
with() {
	local name=$1
	shift
	"$CCCHEF" remote -F "$T/ssh/config-$name" --runner "$RUNNER" --no-color "$@" n1 site.lua >"$T/.out" 2>"$T/.err"
	CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
}
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/wrong" || exit 1
cp "$T/ssh/id_ed25519" "$T/ssh/locked"
ssh-keygen -q -p -P '' -N 'a passphrase' -f "$T/ssh/locked" >/dev/null || exit 1

mark
remote n1 site.lua
assert_code 0 "the config's key"
assert_content "$T/nodes/n1/root/motd" "hello"
assert_eq "$(requests)" 1 "userauth requests, the first identity's key signed at once"

# What ssh(1) sends for the same login: the usual sequence.
mark
ssh -F "$T/ssh/config" -o BatchMode=yes n1 true || fail "ssh n1 true"
check; [ "$(requests)" -ge 3 ] || fail "ssh(1) made $(requests) userauth requests; this test assumes at least 3"

# libssh takes the last IdentityFile line as its first identity: a wrong
# last key, then the usual sequence finds the right one.
echo changed >"$T/nodes/n1/root/motd"
config wrong-last "$T/ssh/id_ed25519" "$T/ssh/wrong"
mark
with wrong-last
assert_code 0 "a wrong key named last"
assert_content "$T/nodes/n1/root/motd" "hello"
check; [ "$(requests)" -gt 1 ] || fail "the wrong key was not offered first"

# -i is the first identity; a wrong one, and the config's right key.
echo changed >"$T/nodes/n1/root/motd"
config right "$T/ssh/id_ed25519"
with right -i "$T/ssh/wrong"
assert_code 0 "a wrong -i, the right IdentityFile"
assert_content "$T/nodes/n1/root/motd" "hello"

# An encrypted first identity (no prompt: the worker has no terminal), its
# key in the agent.
config locked "$T/ssh/locked"
eval "$(ssh-agent -s -a "$T/agent.sock")" >/dev/null
track_pid "$SSH_AGENT_PID"
ssh-add -q "$T/ssh/id_ed25519" 2>/dev/null
echo changed >"$T/nodes/n1/root/motd"
with locked
assert_code 0 "an encrypted first identity, its key in the agent"
assert_content "$T/nodes/n1/root/motd" "hello"
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# Without the agent: no key is accepted, and the error says so.
echo changed >"$T/nodes/n1/root/motd"
with locked
assert_code 1 "an encrypted key and no agent"
assert_err "authentication failed for user root: no key was accepted"
assert_content "$T/nodes/n1/root/motd" "changed"
config wrong "$T/ssh/wrong"
with wrong
assert_code 1 "a wrong key only"
assert_err "authentication failed for user root: no key was accepted"
assert_content "$T/nodes/n1/root/motd" "changed"

# The worker's sha256 of the runner: the one the node's cache is named by.
remote --format json n1 site.lua
assert_code 0 "json run"
sum=$(sha256sum "$RUNNER" | cut -d' ' -f1)
assert_out "\"sha256\":\"$sum\""
assert_file "$T/nodes/n1/cache/runner-$sum"

finish
