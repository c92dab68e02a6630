#!/bin/bash
# ccchef remote's SSH checks against a real sshd: an unknown host key is
# refused, --accept-new-host-key records it, a changed key is always refused,
# a key the node does not accept is an authentication error, a node that
# never answers times out (--connect-timeout).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
start_node n1
mkdir -p "$T/k"
cat >"$T/k/site.lua" <<LUA
file("$T/nodes/n1/root/motd") { content = "hello\n" }
LUA
cd "$T/k" || exit 1

remote n1 site.lua
assert_code 1 "unknown host key"
assert_err "host key verification failed: [127.0.0.1]:$PORT_n1 is not in $T/ssh/known_hosts"
assert_err "ssh-ed25519 key is SHA256:"
assert_err "--accept-new-host-key"
assert_no_file "$T/nodes/n1/root/motd"
check; [ ! -s "$T/ssh/known_hosts" ] || fail "known_hosts changed without --accept-new-host-key"
check; printf '%s' "$OUT" | grep -qE "^n1 +unreachable " || fail "summary says unreachable"

remote --accept-new-host-key n1 site.lua
assert_code 0 "accept new"
assert_out "n1: recorded the new ssh-ed25519 host key SHA256:"
assert_content "$T/nodes/n1/root/motd" "hello"
check; grep -q "^\[127.0.0.1\]:$PORT_n1 ssh-ed25519 $(cut -d' ' -f2 "$T/nodes/n1/host_ed25519.pub")" "$T/ssh/known_hosts" ||
	fail "known_hosts lacks the node's key: $(cat "$T/ssh/known_hosts")"

remote n1 site.lua
assert_code 0 "recorded key is trusted"
assert_not_out "recorded the new"

# Changed key: refused, even with --accept-new-host-key; known_hosts untouched.
cp "$T/ssh/known_hosts" "$T/known_hosts.before"
restart_node n1 newkey
echo changed >"$T/nodes/n1/root/motd"
remote --accept-new-host-key n1 site.lua
assert_code 1 "changed host key"
assert_err "REMOTE HOST IDENTIFICATION HAS CHANGED"
assert_err "ssh-keygen -f $T/ssh/known_hosts -R '[127.0.0.1]:$PORT_n1'"
assert_err "Refusing to connect"
assert_content "$T/nodes/n1/root/motd" "changed"
check; cmp -s "$T/ssh/known_hosts" "$T/known_hosts.before" || fail "known_hosts was modified"

# Wrong key: a config without the authorized key, and -i another key.
trust_node n1
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/wrong" || exit 1
printf 'Host n1\n  HostName 127.0.0.1\n  Port %s\n  User root\n  UserKnownHostsFile %s\n' \
	"$PORT_n1" "$T/ssh/known_hosts" >"$T/ssh/config-wrong"
"$CCCHEF" remote -F "$T/ssh/config-wrong" -i "$T/ssh/wrong" --runner "$RUNNER" n1 site.lua >"$T/.out" 2>"$T/.err"
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 1 "wrong key"
assert_err "authentication failed for user root"
assert_content "$T/nodes/n1/root/motd" "changed"

# -u and -i from the command line win over the config.
"$CCCHEF" remote -F "$T/ssh/config-wrong" -i "$T/ssh/id_ed25519" -u root --runner "$RUNNER" n1 site.lua >"$T/.out" 2>"$T/.err"
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 0 "-i with the right key"
assert_content "$T/nodes/n1/root/motd" "hello"

# ssh-agent: a config with no IdentityFile, the key only in the agent.
eval "$(ssh-agent -s -a "$T/agent.sock")" >/dev/null
track_pid "$SSH_AGENT_PID"
ssh-add -q "$T/ssh/id_ed25519" 2>/dev/null
echo agent >"$T/nodes/n1/root/motd"
remote -F "$T/ssh/config-wrong" n1 site.lua
assert_code 0 "key from the agent"
assert_content "$T/nodes/n1/root/motd" "hello"
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# --command-timeout: a node's run that takes too long is reported as timed
# out; the other node converges. (e2e-remote_timeout checks that the
# runner on the node is stopped and the time bounded.)
start_node n2
trust_node n2
cat >"$T/k/slow.lua" <<'LUA'
if node.slow then execute "slow" { command = "sleep 30" } end
file(node.root .. "/done") { content = "done\n" }
LUA
cat >"$T/k/nodes.lua" <<LUA
return {
  n1 = { host = "n1", attributes = { root = "$T/nodes/n1/root", slow = true } },
  n2 = { host = "n2", attributes = { root = "$T/nodes/n2/root" } },
}
LUA
# A generous timeout: n2 (an upload and one file) must finish within it
# even on a loaded machine; n1 sleeps far longer and is stopped.
remote --command-timeout 6 n1,n2 slow.lua
assert_code 1 "command timeout"
assert_err "n1: error: the run timed out (--command-timeout)"
check; printf '%s' "$OUT" | grep -qE "^n1 +timed out " || fail "n1 row"
check; printf '%s' "$OUT" | grep -qE "^n2 +converged +1 +1 +0 " || fail "n2 row"
assert_content "$T/nodes/n2/root/done" "done"
rm -f "$T/k/nodes.lua"

# A node of another architecture (its uname says so): refused before any
# upload; nothing cached.
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho aarch64\n' >"$T/fakebin/uname"
chmod 755 "$T/fakebin/uname"
NODE_ENV="PATH=$T/fakebin:/usr/local/bin:/usr/bin:/bin" start_node n3
trust_node n3
remote n3 site.lua
assert_code 1 "other architecture"
assert_err "n3: error: the node runs on aarch64; this runner is built for $(uname -m)"
check; [ -z "$(ls -A "$T/nodes/n3/cache")" ] || fail "something was cached on n3: $(ls -A "$T/nodes/n3/cache")"

# A node that accepts TCP but never speaks SSH: --connect-timeout ends it.
silent=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$silent" &
track_pid $!
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$silent") 2>/dev/null && break; sleep 0.05; done
remote --connect-timeout 1 "root@127.0.0.1:$silent" site.lua
assert_code 1 "silent node"
assert_err "root@127.0.0.1:$silent: error: cannot connect to 127.0.0.1 port $silent"

# Nothing listening at all.
down=$(free_port)
remote "root@127.0.0.1:$down" site.lua
assert_code 1 "node down"
assert_err "cannot connect to 127.0.0.1 port $down"
assert_err "Connection refused"

finish
