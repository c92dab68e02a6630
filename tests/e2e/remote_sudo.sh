#!/bin/bash
# ccchef remote --sudo (docs/remote.md, "sudo"): a non-root login user whose
# only sudo right is the documented rule (NOPASSWD for the root-owned
# ccchef-sudo-install) converges as root; the runner root executes is
# root's own copy in a root-owned directory, checked by hash as root on
# every run, so files the login user plants in its cache (the old attack:
# replace the cached runner) change nothing root runs; a damaged root copy
# is replaced, never run. A user whose sudo wants a password gets a clear
# error. Needs root (useradd, sudoers.d).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
[ "$(id -u)" = 0 ] || { echo "remote_sudo: needs root" >&2; exit 77; }
command -v sudo >/dev/null || { echo "remote_sudo: sudo missing (tools/install-deps test)" >&2; exit 1; }
command -v visudo >/dev/null || { echo "remote_sudo: visudo missing" >&2; exit 1; }

ok_user="ccsudo$$"
no_user="ccnosu$$"
SUDOERS="/etc/sudoers.d/ccchef-test-$$"
EXTRA_CLEANUP='rm -f "$SUDOERS"; userdel -r "$ok_user" 2>/dev/null; userdel -r "$no_user" 2>/dev/null'
# "*" is no password, not a locked account: sshd lets key logins in.
useradd -m -s /bin/bash -p '*' "$ok_user" || exit 1
# bash run by sshd reads ~/.bashrc even for a command: a chatty one must not
# confuse the bootstrap.
echo 'echo "chatty bashrc here"' >"/home/$ok_user/.bashrc"
useradd -m -s /bin/sh -p '*' "$no_user" || exit 1

# The installer, root's, as an administrator installs it (its runner
# directory moved into this test's world).
chmod 755 "$T"
mkdir -p "$T/sbin" "$T/rootdir"
INSTALLER="$T/sbin/ccchef-sudo-install"
RUNNERS="$T/rootdir/runners"
sed "s|^RUNNERS=/var/lib/ccchef/runners\$|RUNNERS=$RUNNERS|" "$SRC/tools/ccchef-sudo-install" >"$INSTALLER"
check; grep -qx "RUNNERS=$RUNNERS" "$INSTALLER" || fail "installer's RUNNERS line not found"
chown -R root:root "$T/sbin" "$T/rootdir"
chmod 755 "$INSTALLER" "$T/sbin" "$T/rootdir"

# The documented rule, validated before it is installed.
echo "$ok_user ALL=(root) NOPASSWD: $INSTALLER" >"$T/sudoers"
visudo -cf "$T/sudoers" >/dev/null || { echo "bad sudoers" >&2; exit 1; }
install -o root -g root -m 0440 "$T/sudoers" "$SUDOERS" || exit 1
visudo -c >/dev/null || { rm -f "$SUDOERS"; echo "sudoers broken" >&2; exit 1; }

ssh_setup
# sshd reads authorized_keys as the login user.
chmod 755 "$T/ssh"
chmod 644 "$T/ssh/authorized_keys"
NODE_ENV="CCCHEF_SUDO_INSTALLER=$INSTALLER" start_node n1 "$ok_user"
NODE_ENV="CCCHEF_SUDO_INSTALLER=$INSTALLER" start_node n2 "$no_user"
trust_node n1
trust_node n2
chmod 755 "$T/nodes" "$T/nodes/n1" "$T/nodes/n2"
chown "$ok_user" "$T/nodes/n1/cache"
chown "$no_user" "$T/nodes/n2/cache"
mkdir -p "$T/k"
cat >"$T/k/site.lua" <<'LUA'
file(node.root .. "/as-root") { content = "converged by sudo\n", mode = "0600" }
LUA
cat >"$T/k/nodes.lua" <<LUA
return {
  n1 = { host = "n1", attributes = { root = "$T/nodes/n1/root" } },
  n2 = { host = "n2", attributes = { root = "$T/nodes/n2/root" } },
}
LUA
cd "$T/k" || exit 1
sha=$(sha256sum "$RUNNER" | cut -d' ' -f1)
root_copy="$RUNNERS/ccchef-runner-$sha"

check; ssh -F "$T/ssh/config" -o BatchMode=yes n1 true | grep -q "chatty bashrc here" ||
	fail "the login shell should print from .bashrc (else the next check proves nothing)"
check; ! ssh -F "$T/ssh/config" -o BatchMode=yes n1 'sudo -n true' 2>/dev/null ||
	fail "the user must have no sudo right but the installer"

remote --sudo n1 site.lua
assert_code 0 "sudo converge"
assert_err "n1: | chatty bashrc here"
assert_out "n1: uploaded the runner"
assert_content "$T/nodes/n1/root/as-root" "converged by sudo"
check; [ "$(stat -c %U "$T/nodes/n1/root/as-root")" = root ] || fail "file should belong to root"
check; [ "$(stat -c '%U %a' "$root_copy" 2>/dev/null)" = "root 755" ] || fail "root's runner copy: $(ls -l "$RUNNERS")"
check; [ -z "$(ls -A "$T/nodes/n1/cache")" ] || fail "nothing goes to the user's cache under --sudo: $(ls -A "$T/nodes/n1/cache")"
assert_file "$T/nodes/n1/state/last-run.json"

remote --sudo n1 site.lua
assert_code 0 "sudo second run"
assert_out "n1: runner cached"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +1 +0 +0 " || fail "0 updated"

# The old attack: the login user plants a runner of that name in its cache
# (and wherever else it can write). Root runs its own verified copy.
evil="$T/nodes/n1/cache/runner-$sha"
printf '#!/bin/sh\ntouch %s/pwned\nexit 0\n' "$T" >"$evil"
chmod 755 "$evil"
chown "$ok_user" "$evil"
mkdir -p "/home/$ok_user/.cache/ccchef"
cp "$evil" "/home/$ok_user/.cache/ccchef/runner-$sha"
chown -R "$ok_user" "/home/$ok_user/.cache"
echo changed >"$T/nodes/n1/root/as-root"
remote --sudo n1 site.lua
assert_code 0 "run with planted runners"
assert_content "$T/nodes/n1/root/as-root" "converged by sudo"
assert_no_file "$T/pwned"
# Nor can the user replace root's copy.
check; ! runuser -u "$ok_user" -- cp "$evil" "$root_copy" 2>/dev/null || fail "the user replaced root's runner"
check; ! runuser -u "$ok_user" -- rm -f "$root_copy" 2>/dev/null && [ -f "$root_copy" ] || fail "the user removed root's runner"

# A damaged root copy (disk error, an administrator's mistake) is refused
# by its hash and replaced by an upload, never run.
printf 'garbage' >>"$root_copy"
remote --sudo n1 site.lua
assert_code 0 "damaged root copy"
assert_out "n1: uploaded the runner"
check; echo "$sha  $root_copy" | sha256sum -c --status || fail "root copy not replaced"
assert_no_file "$T/pwned"

status_cmd --sudo n1
assert_code 0 "status with sudo"
check; printf '%s' "$OUT" | grep -qE "^n1 +[0-9-]+ [0-9:]+ +converged" || fail "status row"

# --command-timeout under sudo: root's runner and its command are stopped
# by the installer's deadline (a sleep no other process runs).
nap="32.$$"
cat >"$T/k/slow.lua" <<LUA
execute "slow" { command = "sleep $nap" }
LUA
remote --sudo --command-timeout 2 n1 slow.lua
assert_code 1 "sudo run timed out"
assert_err "n1: error: the run timed out (--command-timeout)"
for i in $(seq 30); do pgrep -f "$root_copy" >/dev/null || pgrep -fx "sleep $nap" >/dev/null || break; sleep 0.1; done
check; ! pgrep -f "$root_copy" >/dev/null && ! pgrep -fx "sleep $nap" >/dev/null ||
	fail "root's runner or its command still running"

# The user whose sudo wants a password: a clear error, nothing converged.
remote --sudo n2 site.lua
assert_code 1 "sudo wants a password"
assert_err "n2: error: sudo asks $no_user for a password"
assert_err "NOPASSWD"
assert_no_file "$T/nodes/n2/root/as-root"
check; printf '%s' "$OUT" | grep -qE "^n2 +failed " || fail "n2 row"

finish
