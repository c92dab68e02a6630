#!/bin/bash
# remote_directory: a tree copied from a source directory, kept in sync:
# first converge, second converge 0 updated, why-run changes nothing,
# changed/added/removed files repaired, purge, files_mode, bad input.
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
apply "$T/del.lua"
assert_no_file "$T/www"
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
