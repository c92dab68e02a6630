#!/bin/bash
# Host keys are ccchef's decision whatever the ssh config says (docs/remote.md,
# "Host keys"): with `StrictHostKeyChecking no` in a -F file and in the
# login user's ~/.ssh/config, an unknown key is still refused without
# --accept-new-host-key, a changed key is refused even with it (the message
# gives the old and new fingerprints and the known_hosts file and line), and
# an accepted key is a host_key event. HostKeyAlias names the entry.
# Needs root (a user whose home is the test's, since libssh and ssh(1) take
# ~ from the passwd entry, not $HOME).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
[ "$(id -u)" = 0 ] || { echo "remote_hostkey: needs root" >&2; exit 77; }

ssh_setup
start_node n1
mkdir -p "$T/k"
cat >"$T/k/site.lua" <<LUA
file("$T/nodes/n1/root/motd") { content = "hello\n" }
LUA
cd "$T/k" || exit 1
kh="$T/ssh/known_hosts"
key_b64=$(cut -d' ' -f2 "$T/nodes/n1/host_ed25519.pub")
fp_of() { ssh-keygen -l -E sha256 -f "$1" | cut -d' ' -f2; }

# A -F file saying StrictHostKeyChecking no, first (ssh takes the first value).
{ printf 'Host *\n  StrictHostKeyChecking no\n'; cat "$T/ssh/config"; } >"$T/ssh/config-nocheck"
grep -q "StrictHostKeyChecking no" "$T/ssh/config-nocheck" || exit 1

remote -F "$T/ssh/config-nocheck" n1 site.lua
assert_code 1 "unknown key with StrictHostKeyChecking no (-F)"
assert_err "host key verification failed: [127.0.0.1]:$PORT_n1 is not in $kh"
assert_no_file "$T/nodes/n1/root/motd"
check; [ ! -s "$kh" ] || fail "known_hosts written without --accept-new-host-key"

remote -F "$T/ssh/config-nocheck" --accept-new-host-key --format json n1 site.lua
assert_code 0 "unknown key accepted with the flag"
check; printf '%s\n' "$OUT" | grep '"event":"host_key"' | grep -q "\"fingerprint\":\"$(fp_of "$T/nodes/n1/host_ed25519.pub")\"" ||
	fail "no host_key event with the fingerprint"
check; grep -qx "\[127.0.0.1\]:$PORT_n1 ssh-ed25519 $key_b64" "$kh" || fail "entry not recorded: $(cat "$kh")"
assert_content "$T/nodes/n1/root/motd" "hello"

# Changed key: refused with StrictHostKeyChecking no, with and without the flag.
old_fp=$(fp_of "$T/nodes/n1/host_ed25519.pub")
restart_node n1 newkey
new_fp=$(fp_of "$T/nodes/n1/host_ed25519.pub")
cp "$kh" "$T/kh.before"
echo changed >"$T/nodes/n1/root/motd"
for flag in "" --accept-new-host-key; do
	remote -F "$T/ssh/config-nocheck" $flag n1 site.lua
	assert_code 1 "changed key, StrictHostKeyChecking no, flag '$flag'"
	assert_err "REMOTE HOST IDENTIFICATION HAS CHANGED"
	assert_err "is now $new_fp; $kh line 1 has ssh-ed25519 $old_fp"
	assert_err "ssh-keygen -f $kh -R '[127.0.0.1]:$PORT_n1'"
	assert_content "$T/nodes/n1/root/motd" "changed"
	check; cmp -s "$kh" "$T/kh.before" || fail "known_hosts modified"
done

# The same through the login user's ~/.ssh/config (no -F): a user whose
# home is in the test directory. /etc/ssh/ssh_config is read by the same
# call (ssh_options_parse_config with no file) and the same override
# follows it (src/lua_ssh.c, l_session); the machine's file is not edited.
u="cchk$$"
EXTRA_CLEANUP='userdel "$u" 2>/dev/null'
chmod 755 "$T"
useradd -M -d "$T/home" -s /bin/sh "$u" || exit 1
mkdir -p "$T/home/.ssh"
cp "$T/ssh/id_ed25519" "$T/home/.ssh/id_ed25519"
: >"$T/home/.ssh/known_hosts"
printf 'Host n1\n  HostName 127.0.0.1\n  Port %s\n  User root\n  StrictHostKeyChecking no\n' "$PORT_n1" >"$T/home/.ssh/config"
chown -R "$u" "$T/home"
chmod 700 "$T/home/.ssh"
chmod 755 "$T/k"
as_user() {
	runuser -u "$u" -- "$CCCHEF" remote --runner "$RUNNER" --no-color "$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}
as_user n1 site.lua
assert_code 1 "unknown key with StrictHostKeyChecking no (~/.ssh/config)"
assert_err "host key verification failed: [127.0.0.1]:$PORT_n1 is not in $T/home/.ssh/known_hosts"
check; [ ! -s "$T/home/.ssh/known_hosts" ] || fail "user's known_hosts written"
echo "[127.0.0.1]:$PORT_n1 ssh-ed25519 $key_b64" >"$T/home/.ssh/known_hosts"
as_user --accept-new-host-key n1 site.lua
assert_code 1 "changed key with StrictHostKeyChecking no (~/.ssh/config)"
assert_err "is now $new_fp; $T/home/.ssh/known_hosts line 1 has ssh-ed25519 $old_fp"
assert_content "$T/nodes/n1/root/motd" "changed"

# A key marked @revoked is refused even when an entry also lists it.
cur_b64=$(cut -d' ' -f2 "$T/nodes/n1/host_ed25519.pub")
printf '[127.0.0.1]:%s ssh-ed25519 %s\n@revoked [127.0.0.1]:%s ssh-ed25519 %s\n' \
	"$PORT_n1" "$cur_b64" "$PORT_n1" "$cur_b64" >"$kh"
remote -F "$T/ssh/config-nocheck" --accept-new-host-key n1 site.lua
assert_code 1 "revoked key"
assert_err "is marked @revoked in $kh line 2"

# HostKeyAlias: the entry is looked up (and recorded) under the alias, with
# no port, as ssh(1) does.
printf 'Host n1\n  HostKeyAlias n1-alias\n' >"$T/ssh/config-alias"
cat "$T/ssh/config" >>"$T/ssh/config-alias"
: >"$kh"
remote -F "$T/ssh/config-alias" n1 site.lua
assert_code 1 "alias unknown"
assert_err "host key verification failed: n1-alias is not in $kh"
remote -F "$T/ssh/config-alias" --accept-new-host-key n1 site.lua
assert_code 0 "alias accepted"
check; grep -qx "n1-alias ssh-ed25519 $(cut -d' ' -f2 "$T/nodes/n1/host_ed25519.pub")" "$kh" ||
	fail "alias entry: $(cat "$kh")"
assert_content "$T/nodes/n1/root/motd" "hello"
remote -F "$T/ssh/config-alias" n1 site.lua
assert_code 0 "alias known"
# The alias found through an Include with a glob, as ssh(1) reads it.
mkdir -p "$T/ssh/conf.d"
printf 'Host n1\n  HostKeyAlias n1-included\n' >"$T/ssh/conf.d/alias.conf"
{ printf 'Include %s/ssh/conf.d/*.conf\n' "$T"; cat "$T/ssh/config"; } >"$T/ssh/config-include"
remote -F "$T/ssh/config-include" n1 site.lua
assert_code 1 "alias through Include"
assert_err "host key verification failed: n1-included is not in $kh"
# An entry for the real [host]:port does not count when an alias is set.
echo "[127.0.0.1]:$PORT_n1 ssh-ed25519 $(cut -d' ' -f2 "$T/nodes/n1/host_ed25519.pub")" >"$kh"
remote -F "$T/ssh/config-alias" n1 site.lua
assert_code 1 "alias: host:port entry is not the alias's"
assert_err "n1-alias is not in"
# The alias with an old key: changed.
echo "n1-alias ssh-ed25519 $key_b64" >"$kh"
remote -F "$T/ssh/config-alias" n1 site.lua
assert_code 1 "alias changed"
assert_err "$kh line 1 has ssh-ed25519 $old_fp"

finish
