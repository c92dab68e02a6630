#!/bin/bash
# ccchef remote --sudo: a non-root login user whose sudo needs no password
# converges as root (the runner is cached in that user's directory); a user
# whose sudo wants a password gets a clear error. Needs root (useradd, sudoers).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
[ "$(id -u)" = 0 ] || { echo "remote_sudo: needs root" >&2; exit 77; }
command -v sudo >/dev/null || { echo "remote_sudo: sudo missing (tools/install-deps test)" >&2; exit 1; }

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
echo "$ok_user ALL=(root) NOPASSWD: ALL" >"$SUDOERS"
chmod 440 "$SUDOERS"
visudo -cf "$SUDOERS" >/dev/null || { echo "bad sudoers" >&2; exit 1; }

ssh_setup
# sshd reads authorized_keys as the login user.
chmod 755 "$T" "$T/ssh"
chmod 644 "$T/ssh/authorized_keys"
start_node n1 "$ok_user"
start_node n2 "$no_user"
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

check; ssh -F "$T/ssh/config" -o BatchMode=yes n1 true | grep -q "chatty bashrc here" ||
	fail "the login shell should print from .bashrc (else the next check proves nothing)"
remote --sudo n1 site.lua
assert_code 0 "sudo converge"
assert_err "n1: | chatty bashrc here"
assert_out "n1: uploaded the runner"
assert_content "$T/nodes/n1/root/as-root" "converged by sudo"
check; [ "$(stat -c %U "$T/nodes/n1/root/as-root")" = root ] || fail "file should belong to root"
check; [ "$(stat -c %U "$T/nodes/n1/cache"/runner-*)" = "$ok_user" ] || fail "runner cached by the login user"
assert_file "$T/nodes/n1/state/last-run.json"

remote --sudo n1 site.lua
assert_code 0 "sudo second run"
assert_out "n1: runner cached"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +1 +0 +0 " || fail "0 updated"

status_cmd --sudo n1
assert_code 0 "status with sudo"
check; printf '%s' "$OUT" | grep -qE "^n1 +[0-9-]+ [0-9:]+ +converged" || fail "status row"

# The user whose sudo wants a password: a clear error, nothing converged.
remote --sudo n2 site.lua
assert_code 1 "sudo wants a password"
assert_err "n2: error: sudo asks $no_user for a password"
assert_err "NOPASSWD"
assert_no_file "$T/nodes/n2/root/as-root"
check; printf '%s' "$OUT" | grep -qE "^n2 +failed " || fail "n2 row"

finish
