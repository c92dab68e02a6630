#!/bin/bash
# remote_directory: a tree copied from a source directory, kept in sync:
# first converge, second converge 0 updated, why-run changes nothing,
# changed/added/removed files repaired, purge, files_mode, backups of
# replaced, purged and deleted files, bad input.
. "$(dirname "$0")/lib/common.sh"

mkdir -p "$T/files/site/css" "$T/files/site/empty"
printf '<h1>hi</h1>\n' >"$T/files/site/index.html"
printf 'body {}\n' >"$T/files/site/css/main.css"
printf '#!/bin/sh\n' >"$T/files/site/run.sh"
chmod 755 "$T/files/site/run.sh"
cat >"$T/r.lua" <<LUA
remote_directory "$T/www" { source = "site", purge = true }
LUA

apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update remote_directory[$T/www]: create"
assert_no_file "$T/www"

apply "$T/r.lua"
assert_code 0 "first converge"
assert_summary 1 0
assert_content "$T/www/index.html" "<h1>hi</h1>"
assert_content "$T/www/css/main.css" "body {}"
assert_mode "$T/www/run.sh" 755          # the source file's mode
assert_mode "$T/www/index.html" 644
check; [ -d "$T/www/empty" ] || fail "empty directory copied"

apply "$T/r.lua"
assert_code 0 "second converge"
assert_summary 0 0

# Drift: a changed file, a chmod, an extra file; why-run reports, touches nothing.
echo changed >"$T/www/index.html"
chmod 600 "$T/www/css/main.css"
echo extra >"$T/www/extra.txt"
apply -n "$T/r.lua"
assert_out "write 1 (index.html)"
assert_out "chmod 1 (css/main.css)"
assert_out "remove 1 (extra.txt)"
assert_content "$T/www/index.html" "changed"
assert_file "$T/www/extra.txt"
apply "$T/r.lua"
assert_summary 1 0
assert_content "$T/www/index.html" "<h1>hi</h1>"
assert_mode "$T/www/css/main.css" 644
assert_no_file "$T/www/extra.txt"

# Backups (docs/resources.md): every replaced and purged file is kept,
# as file keeps its old content; a purged directory's files too; a link
# purged is removed, never followed or copied.
BK="$T/backups"
echo "old index" >"$T/www/index.html"
mkdir -p "$T/www/olddir/deeper"
for i in 1 2 3 4 5 6 7 8; do echo "extra $i" >"$T/www/extra$i.txt"; done
echo "deep" >"$T/www/olddir/deeper/f.txt"
echo "secret" >"$T/outside-secret"
ln -s "$T/outside-secret" "$T/www/planted-link"
apply --backup-dir "$BK" "$T/r.lua"
assert_code 0 "purge with backups"
assert_summary 1 0
assert_no_file "$T/www/extra1.txt"
assert_no_file "$T/www/olddir"
assert_no_file "$T/www/planted-link"
assert_content "$T/outside-secret" "secret"
check; n=$(find "$BK" -type f | wc -l); [ "$n" = 10 ] || fail "10 backups (8 extra, olddir/deeper/f.txt, index.html), got $n: $(find "$BK" -type f)"
check; b=$(ls "$BK$T/www/"index.html.ccchef-* 2>/dev/null); [ "$(cat "$b" 2>/dev/null)" = "old index" ] || fail "index.html's old content backed up"
check; b=$(ls "$BK$T/www/olddir/deeper/"f.txt.ccchef-* 2>/dev/null); [ "$(cat "$b" 2>/dev/null)" = "deep" ] || fail "a purged directory's file backed up"
check; ! ls "$BK$T/www/"planted-link* >/dev/null 2>&1 || fail "a purged link is not backed up (it is not a file of the tree)"
check; [ "$(stat -c %a "$(ls "$BK$T/www/"extra1.txt.ccchef-*)")" = 600 ] || fail "backups are 0600"
# backup = false keeps none.
cat >"$T/nobackup.lua" <<LUA
remote_directory "$T/www" { source = "site", purge = true, backup = false }
LUA
echo "extra" >"$T/www/extra9.txt"
apply --backup-dir "$BK" "$T/nobackup.lua"
assert_code 0 "backup = false"
assert_no_file "$T/www/extra9.txt"
check; ! ls "$BK$T/www/"extra9.txt* >/dev/null 2>&1 || fail "backup = false keeps no copy"

# Without purge an extra file stays; files_mode applies to every file.
cat >"$T/keep.lua" <<LUA
remote_directory "$T/www" { source = "$T/files/site", files_mode = "0640" }
LUA
echo extra >"$T/www/extra.txt"
apply "$T/keep.lua"
assert_code 0 "no purge"
assert_file "$T/www/extra.txt"
assert_mode "$T/www/index.html" 640
assert_mode "$T/www/run.sh" 640

# delete
cat >"$T/del.lua" <<LUA
remote_directory "$T/www" { source = "site", action = "delete" }
LUA
apply --backup-dir "$BK" "$T/del.lua"
assert_no_file "$T/www"
check; b=$(ls "$BK$T/www/css/"main.css.ccchef-* 2>/dev/null); [ "$(cat "$b" 2>/dev/null)" = "body {}" ] || fail "delete backs up the tree's files"
apply "$T/del.lua"
assert_summary 0 0

# Bad input: a missing source (converge, exit 1); no source at all (exit 2).
cat >"$T/bad.lua" <<LUA
remote_directory "$T/www2" { source = "nope" }
LUA
apply "$T/bad.lua"
assert_code 1 "missing source"
assert_out "source directory nope not found (looked in $T/files/ and $T/)"
assert_no_file "$T/www2"
cat >"$T/bad2.lua" <<LUA
remote_directory "$T/www2" { purge = true }
LUA
apply "$T/bad2.lua"
assert_code 2 "no source"
assert_err "bad2.lua:1: remote_directory[$T/www2]: missing required property 'source'"

finish
