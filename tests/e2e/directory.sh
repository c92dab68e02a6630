#!/bin/bash
# directory resource: recursive create and delete, mode/owner/group changes
# (a real system user), second converge 0 updated, why-run changes nothing,
# bad input (compile time: exit 2; converge time: exit 1, nothing left behind).
. "$(dirname "$0")/lib/common.sh"

cat >"$T/r.lua" <<LUA
directory "$T/a/b/c" { recursive = true, mode = "0750", owner = "nobody", group = "nogroup" }
directory "$T/plain" { }
LUA

# why-run on a fresh world: reported, nothing made.
apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update directory[$T/a/b/c]: create, mode 0750, owner nobody, group nogroup"
assert_summary 2 0
assert_no_file "$T/a"
assert_no_file "$T/plain"

apply "$T/r.lua"
assert_code 0
assert_summary 2 0
assert_out "updated      directory[$T/a/b/c]"
assert_mode "$T/a/b/c" 750
# Chef's rule: created parents get 0755 and the running user; mode and owner
# apply to the last component only.
assert_mode "$T/a" 755
assert_mode "$T/a/b" 755
assert_eq "$(stat -c %U:%G "$T/a/b/c")" "nobody:nogroup" "owner of c"
assert_eq "$(stat -c %U "$T/a/b")" "$(id -un)" "owner of created parent"
assert_mode "$T/plain" 755

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# Drift: mode and owner changed behind ccchef's back.
chmod 0700 "$T/a/b/c"
chown root:root "$T/a/b/c"
apply -n "$T/r.lua"
assert_code 0 "why-run drift"
assert_out "mode 0700 -> 0750"
assert_out "owner root -> nobody"
assert_out "group root -> nogroup"
assert_mode "$T/a/b/c" 700
assert_eq "$(stat -c %U:%G "$T/a/b/c")" "root:root" "why-run left owner"
apply "$T/r.lua"
assert_summary 1 0
assert_mode "$T/a/b/c" 750
assert_eq "$(stat -c %U:%G "$T/a/b/c")" "nobody:nogroup" "owner repaired"

# why-run on a fresh tree declared level by level: each directory's parent
# is one the run would create first, which is not a failure (the real run
# would succeed); a file whose directory nobody creates still fails.
cat >"$T/nested.lua" <<LUA
directory "$T/n1" { }
directory "$T/n1/n2" { mode = "0700" }
file "$T/n1/n2/f" { content = "x\n" }
link "$T/n1/l" { to = "n2" }
directory "$T/r1/r2/r3" { recursive = true }
file "$T/r1/r2/f" { content = "y\n" }
LUA
apply -n "$T/nested.lua"
assert_code 0 "why-run of nested directories"
assert_out "would-update directory[$T/n1/n2]: create, mode 0700"
assert_out "would-update file[$T/n1/n2/f]: create"
assert_out "would-update link[$T/n1/l]"
assert_out "would-update file[$T/r1/r2/f]: create"
assert_summary 6 0
assert_no_file "$T/n1"
assert_no_file "$T/r1"
apply "$T/nested.lua"
assert_summary 6 0
assert_content "$T/n1/n2/f" "x"
apply "$T/nested.lua"
assert_summary 0 0
echo "file \"$T/nobody-makes/f\" { content = \"z\" }" >"$T/orphan.lua"
apply -n "$T/orphan.lua"
assert_code 1 "why-run, no directory declared"
assert_out "parent directory $T/nobody-makes does not exist"

# Delete: a non-empty tree needs recursive = true.
echo data >"$T/a/b/c/file"
cat >"$T/del.lua" <<LUA
directory "$T/a" { action = "delete" }
LUA
apply "$T/del.lua"
assert_code 1 "delete non-empty without recursive"
assert_out "failed       directory[$T/a] delete"
assert_out "del.lua:1: $T/a is not empty (set recursive = true"
assert_file "$T/a/b/c/file"

cat >"$T/del.lua" <<LUA
directory "$T/a" { action = "delete", recursive = true }
LUA
apply -n "$T/del.lua"
assert_code 0 "why-run delete"
assert_out "would-update directory[$T/a] delete"
assert_file "$T/a/b/c/file"
apply "$T/del.lua"
assert_code 0 "recursive delete"
assert_summary 1 0
assert_no_file "$T/a"
apply "$T/del.lua"
assert_summary 0 0

# Converge failure: a missing parent without recursive; exit 1 with file,
# line and resource.
cat >"$T/bad1.lua" <<LUA
directory "$T/plain" { }
directory "$T/missing/child" { }
LUA
apply "$T/bad1.lua"
assert_code 1 "missing parent"
assert_out "failed       directory[$T/missing/child]"
assert_out "bad1.lua:2: parent directory $T/missing does not exist (set recursive = true to create it)"
assert_no_file "$T/missing"

# Converge failure: an unknown owner fails before the directory is made.
cat >"$T/bad2.lua" <<LUA
directory "$T/owned" { owner = "no-such-user-ccchef" }
LUA
apply "$T/bad2.lua"
assert_code 1 "unknown owner"
assert_out "bad2.lua:1: owner 'no-such-user-ccchef' does not exist"
assert_no_file "$T/owned"

# Converge failure: a file is in the way.
echo x >"$T/afile"
cat >"$T/bad3.lua" <<LUA
directory "$T/afile" { }
LUA
apply "$T/bad3.lua"
assert_code 1 "file in the way"
assert_out "bad3.lua:1: $T/afile exists and is not a directory"
assert_content "$T/afile" "x"

# Compile-time error: mode as a number; exit 2 and nothing is created,
# not even the resources declared before the bad one.
cat >"$T/bad4.lua" <<LUA
directory "$T/before-error" { }
directory "$T/numeric" { mode = 755 }
LUA
apply "$T/bad4.lua"
assert_code 2 "numeric mode"
assert_err "bad4.lua:2: directory[$T/numeric]: property 'mode': mode must be an octal string"
assert_no_file "$T/before-error"
assert_no_file "$T/numeric"

finish
