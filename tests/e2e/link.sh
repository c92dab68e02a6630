#!/bin/bash
# link resource: create, retarget, delete, second converge 0 updated,
# why-run changes nothing, a regular file in the way is replaced only with
# force = true (and backed up), bad input.
. "$(dirname "$0")/lib/common.sh"

mkdir "$T/v1" "$T/v2"
cat >"$T/r.lua" <<LUA
link "$T/current" { to = "$T/v1" }
link "$T/rel" { to = "v2" }
LUA

apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update link[$T/current]: create -> $T/v1"
assert_no_file "$T/current"

apply "$T/r.lua"
assert_code 0
assert_summary 2 0
assert_eq "$(readlink "$T/current")" "$T/v1" "target"
assert_eq "$(readlink "$T/rel")" "v2" "relative target kept as written"

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# Retarget.
sed -i "s|$T/v1|$T/v2|" "$T/r.lua"
apply -n "$T/r.lua"
assert_out "would-update link[$T/current]: target $T/v1 -> $T/v2"
assert_eq "$(readlink "$T/current")" "$T/v1" "why-run kept the target"
apply "$T/r.lua"
assert_summary 1 0
assert_eq "$(readlink "$T/current")" "$T/v2" "retargeted"
apply "$T/r.lua"
assert_summary 0 0

# A regular file in the way: refused without force, untouched.
echo precious >"$T/cfg"
cat >"$T/noforce.lua" <<LUA
link "$T/cfg" { to = "$T/v1" }
LUA
apply "$T/noforce.lua"
assert_code 1 "file in the way"
assert_out "failed       link[$T/cfg]"
assert_out "noforce.lua:1: $T/cfg exists and is not a symbolic link (set force = true to replace it)"
check; [ -f "$T/cfg" ] && [ ! -L "$T/cfg" ] || fail "file replaced without force"
assert_content "$T/cfg" "precious"

# With force: why-run first, then replaced and the file backed up.
cat >"$T/force.lua" <<LUA
link "$T/cfg" { to = "$T/v1", force = true }
LUA
apply -n "$T/force.lua"
assert_out "would-update link[$T/cfg]: replace file with link -> $T/v1"
check; [ ! -L "$T/cfg" ] || fail "why-run replaced the file"
apply "$T/force.lua"
assert_code 0 "force"
assert_eq "$(readlink "$T/cfg")" "$T/v1" "forced link"
check; [ "$(cat "$STATE"/backup"$T"/cfg.ccchef-* 2>/dev/null)" = "precious" ] || fail "no backup of the replaced file"
apply "$T/force.lua"
assert_summary 0 0

# A directory in the way is never replaced, even with force.
mkdir "$T/adir"
cat >"$T/dir.lua" <<LUA
link "$T/adir" { to = "$T/v1", force = true }
LUA
apply "$T/dir.lua"
assert_code 1 "directory in the way"
assert_out "dir.lua:1: $T/adir is a directory; not replacing it with a link"
check; [ -d "$T/adir" ] && [ ! -L "$T/adir" ] || fail "directory replaced"

# Delete: links only; the target stays.
cat >"$T/del.lua" <<LUA
link "$T/current" { action = "delete" }
LUA
apply -n "$T/del.lua"
assert_out "would-update link[$T/current] delete"
assert_file "$T/current"
apply "$T/del.lua"
assert_code 0 "delete"
assert_summary 1 0
assert_no_file "$T/current"
assert_file "$T/v2"
apply "$T/del.lua"
assert_summary 0 0

# Deleting something that is not a link is refused.
cat >"$T/delfile.lua" <<LUA
link "$T/plainfile" { action = "delete" }
LUA
echo keep >"$T/plainfile"
apply "$T/delfile.lua"
assert_code 1 "delete a regular file"
assert_out "delfile.lua:1: $T/plainfile is not a symbolic link; not deleting it"
assert_content "$T/plainfile" "keep"

# Compile-time error: `to` missing; exit 2, nothing done.
cat >"$T/bad.lua" <<LUA
link "$T/made-before-error" { to = "$T/v1" }
link "$T/noto" { }
LUA
apply "$T/bad.lua"
assert_code 2 "missing to"
assert_err "bad.lua:2: link[$T/noto]: missing required property 'to'"
assert_no_file "$T/made-before-error"

finish
