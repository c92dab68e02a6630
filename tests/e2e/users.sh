#!/bin/bash
# user and group resources against the real passwd/group databases: accounts
# with a test-only prefix are created, modified (shell, home, groups) and
# removed with useradd/usermod/userdel and groupadd/groupmod/groupdel.
# Checks: first converge, second converge 0 updated, why-run creates
# nothing, append vs exact group members, bad names (exit 2), a converge
# failure (exit 1). Every account with the prefix is removed on exit.
. "$(dirname "$0")/lib/common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "users.sh needs root (it creates real accounts)" >&2
	exit 77
fi

# ccct_ + the PID keeps parallel runs (and other test suites) apart.
P="ccct_$$_"
remove_test_accounts() {
	for u in $(getent passwd | cut -d: -f1 | grep "^$P"); do userdel -r "$u" 2>/dev/null || userdel "$u"; done
	for g in $(getent group | cut -d: -f1 | grep "^$P"); do groupdel "$g"; done
}
EXTRA_CLEANUP=remove_test_accounts

free_id() { # free_id passwd|group START: the first id from START unused
	i=$2
	while getent "$1" "$i" >/dev/null; do i=$((i + 1)); done
	echo "$i"
}
UID1=$(free_id passwd 61000)
GID1=$(free_id group 61000)

field() { getent passwd "$1" | cut -d: -f"$2"; }
groups_of() { id -nG "$1" | tr ' ' '\n' | grep "^$P" | sort | tr '\n' ' '; }
members_of() { getent group "$1" | cut -d: -f4; }

cat >"$T/r.lua" <<LUA
group "${P}g1" { gid = $GID1 }
group "${P}g2" {}
user "${P}u" {
  uid = $UID1, shell = "/bin/sh", home = "$T/home-u", comment = "Test User",
  groups = { "${P}g1" }, manage_home = true,
}
user "${P}sys" { system = true, shell = "/usr/sbin/nologin" }
LUA
apply "$T/r.lua"
assert_code 0 "create"
assert_summary 4 0
assert_out "group[${P}g1]: create group"
assert_out "user[${P}sys]: create system user"
assert_eq "$(field "${P}u" 3)" "$UID1" "uid"
assert_eq "$(field "${P}u" 5)" "Test User" "comment"
assert_eq "$(field "${P}u" 6)" "$T/home-u" "home"
assert_eq "$(field "${P}u" 7)" "/bin/sh" "shell"
assert_eq "$(getent group "${P}g1" | cut -d: -f3)" "$GID1" "gid of g1"
assert_eq "$(groups_of "${P}u")" "${P}g1 ${P}u " "groups of u"
assert_eq "$(stat -c %U "$T/home-u" 2>/dev/null)" "${P}u" "home created and owned"
check; [ "$(field "${P}sys" 3)" -lt 1000 ] || fail "system user uid $(field "${P}sys" 3) not below 1000"
check; [ ! -e "/home/${P}sys" ] || fail "system user got a home without manage_home"

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# Why-run: a new user and group would be created; nothing is.
cat >"$T/new.lua" <<LUA
group "${P}g3" {}
user "${P}new" { groups = { "${P}g3" } }
LUA
apply -n "$T/new.lua"
assert_code 0 "why-run"
assert_summary 2 0
assert_out "would-update"
check; ! getent passwd "${P}new" >/dev/null || fail "why-run created the user"
check; ! getent group "${P}g3" >/dev/null || fail "why-run created the group"

# Modify shell, home (moved, manage_home) and the exact supplementary groups.
echo keep >"$T/home-u/file"
cat >"$T/mod.lua" <<LUA
user "${P}u" {
  shell = "/bin/bash", home = "$T/home-moved", groups = { "${P}g2" }, manage_home = true,
}
LUA
apply -n "$T/mod.lua"
assert_out "shell /bin/sh -> /bin/bash"
assert_out "groups ${P}g1 -> ${P}g2"
assert_eq "$(field "${P}u" 7)" "/bin/sh" "why-run left the shell"
apply "$T/mod.lua"
assert_code 0 "modify"
assert_summary 1 0
assert_out "home $T/home-u -> $T/home-moved"
assert_eq "$(field "${P}u" 7)" "/bin/bash" "shell changed"
assert_eq "$(field "${P}u" 6)" "$T/home-moved" "home changed"
assert_content "$T/home-moved/file" "keep"
assert_no_file "$T/home-u"
assert_eq "$(groups_of "${P}u")" "${P}g2 ${P}u " "groups replaced"
apply "$T/mod.lua"
assert_summary 0 0

# Group members: added by default (append); append = false replaces.
cat >"$T/app.lua" <<LUA
group "${P}g2" { members = { "${P}sys" } }
LUA
apply "$T/app.lua"
assert_summary 1 0
assert_eq "$(members_of "${P}g2" | tr ',' '\n' | sort | tr '\n' ' ')" "${P}sys ${P}u " "appended"
apply "$T/app.lua"
assert_summary 0 0
# The user's groups and the group's (additive) members together: stable.
cat "$T/mod.lua" >>"$T/app.lua"
apply "$T/app.lua"
assert_summary 0 0
cat >"$T/exact.lua" <<LUA
group "${P}g2" { members = { "${P}sys" }, append = false }
LUA
apply "$T/exact.lua"
assert_summary 1 0
assert_out "members ${P}sys,${P}u -> ${P}sys"
assert_eq "$(members_of "${P}g2")" "${P}sys" "exact members"

# A failure from the tool: a supplementary group that does not exist.
cat >"$T/fail.lua" <<LUA
user "${P}u" { groups = { "${P}missing" } }
LUA
apply "$T/fail.lua"
assert_code 1 "missing group"
assert_out "fail.lua:1"
assert_out "usermod failed"
assert_out "${P}missing"

# Remove, twice.
cat >"$T/rm.lua" <<LUA
user "${P}u" { action = "remove", manage_home = true }
user "${P}sys" { action = "remove" }
group "${P}g1" { action = "remove" }
group "${P}g2" { action = "remove" }
LUA
apply -n "$T/rm.lua"
assert_summary 4 0
check; getent passwd "${P}u" >/dev/null || fail "why-run removed the user"
apply "$T/rm.lua"
assert_code 0 "remove"
assert_summary 4 0
check; ! getent passwd "${P}u" >/dev/null || fail "user still there"
check; ! getent group "${P}g1" >/dev/null || fail "group still there"
assert_no_file "$T/home-moved"
apply "$T/rm.lua"
assert_summary 0 0

# Bad names: compile-time errors (exit 2) before anything is created.
for bad in "Bad User!" "1${P}digit" "${P}this_name_is_far_too_long_xxxxxxxxx"; do
	cat >"$T/bad.lua" <<LUA
group "${P}before" {}
user "$bad" {}
LUA
	apply "$T/bad.lua"
	assert_code 2 "bad name '$bad'"
	assert_err "bad.lua:2: user[$bad]: invalid user name"
	check; ! getent group "${P}before" >/dev/null || fail "a bad recipe changed the system"
done
cat >"$T/badg.lua" <<LUA
group "${P}ok" { members = { "Root" } }
LUA
apply "$T/badg.lua"
assert_code 2 "bad member name"
assert_err "badg.lua:1: group[${P}ok]: invalid user name \"Root\""

finish
