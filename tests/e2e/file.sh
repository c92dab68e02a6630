#!/bin/bash
# file resource: first converge, second converge 0 updated, why-run writes
# nothing and shows a diff, backups kept and bounded, bad input.
. "$(dirname "$0")/lib/common.sh"

cat >"$T/r.lua" <<LUA
file "$T/a" { content = "one\n", mode = "0600" }
file "$T/b" { content = "two\n" }
LUA
apply "$T/r.lua"
assert_code 0
assert_summary 2 0
assert_content "$T/a" "one"
assert_mode "$T/a" 600
assert_mode "$T/b" 644

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# Drift: content and mode changed behind ccchef's back; why-run shows it.
echo changed >"$T/a"
chmod 0644 "$T/a"
apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update"
assert_out "-changed"
assert_out "+one"
assert_out "mode 0644 -> 0600"
assert_content "$T/a" "changed"
assert_mode "$T/a" 644

apply "$T/r.lua"
assert_summary 1 0
assert_content "$T/a" "one"
assert_mode "$T/a" 600
check; ls "$STATE/backup$T/" | grep -q '^a\.ccchef-' || fail "no backup of $T/a"
check; [ "$(cat "$STATE"/backup"$T"/a.ccchef-*)" = "changed" ] || fail "backup content"

# Backups are bounded per file.
for i in 1 2 3 4 5 6 7; do echo "v$i" >"$T/a"; apply --backups 3 "$T/r.lua"; done
check; n=$(ls "$STATE/backup$T/" | grep -c '^a\.ccchef-'); [ "$n" = 3 ] || fail "want 3 backups, got $n"

# delete and create_if_missing
cat >"$T/d.lua" <<LUA
file "$T/b" { action = "delete" }
file "$T/c" { content = "first\n", action = "create_if_missing" }
LUA
echo preexisting >"$T/c"
apply "$T/d.lua"
assert_no_file "$T/b"
assert_content "$T/c" "preexisting"
apply "$T/d.lua"
assert_summary 0 0

# source: a file shipped beside the recipe
mkdir -p "$T/files"
printf 'shipped\n' >"$T/files/s.txt"
cat >"$T/s.lua" <<LUA
file "$T/copy" { source = "s.txt" }
LUA
apply "$T/s.lua"
assert_content "$T/copy" "shipped"

# A large source (over 256 KiB) is compared and copied by streaming; its
# diff is a note, also in JSON; a change is backed up and converges once.
head -c 600000 /dev/urandom >"$T/files/big.bin"
cat >"$T/big.lua" <<LUA
file "$T/big" { source = "big.bin" }
LUA
apply "$T/big.lua" -l info
assert_code 0 "large source"
assert_out "(diff omitted: 600000 bytes)"
check; cmp -s "$T/files/big.bin" "$T/big" || fail "large source: copy differs"
apply "$T/big.lua"
assert_summary 0 0
printf 'X' | dd of="$T/big" bs=1 seek=300000 conv=notrunc 2>/dev/null
apply "$T/big.lua" --format json
assert_out '"diff":"(diff omitted: 600000 bytes)\n"'
check; cmp -s "$T/files/big.bin" "$T/big" || fail "large source: repair differs"
apply "$T/big.lua"
assert_summary 0 0

# touch: an existing file keeps its content and inode, only its time moves;
# a missing one is created empty.
printf 'kept\n' >"$T/t1"
touch -d 2001-01-01 "$T/t1"
INO=$(stat -c %i "$T/t1")
cat >"$T/touch.lua" <<LUA
file "$T/t1" { action = "touch" }
file "$T/t2" { action = "touch" }
LUA
apply "$T/touch.lua"
assert_code 0 "touch"
assert_content "$T/t1" "kept"
assert_eq "$(stat -c %i "$T/t1")" "$INO" "touch keeps the inode"
check; [ "$(stat -c %Y "$T/t1")" -gt "$(date -d 2020-01-01 +%s)" ] || fail "touch: time not set"
assert_content "$T/t2" ""

# Bad input: the parent directory does not exist -> converge failure, exit 1.
cat >"$T/bad.lua" <<LUA
file "$T/nope/x" { content = "x" }
LUA
apply "$T/bad.lua"
assert_code 1 "missing parent"
assert_out "parent directory $T/nope does not exist"
assert_out "bad.lua:1"

# Bad input: mode as a number -> compile error, exit 2, nothing written.
cat >"$T/bad2.lua" <<LUA
file "$T/created-before-error" { content = "x" }
file "$T/m" { mode = 644 }
LUA
apply "$T/bad2.lua"
assert_code 2 "numeric mode"
assert_err "bad2.lua:2: file[$T/m]: property 'mode': mode must be an octal string"
assert_no_file "$T/created-before-error"

finish
