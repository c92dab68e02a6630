#!/bin/bash
# The shipped files-only example (recipes/demo.lua) converges, then
# converges again with 0 updated, and why-run after a hand edit shows the
# diff and the notification it would fire. (recipes/web.lua, the Apache
# demo, is converged by apache.sh.)
. "$(dirname "$0")/lib/common.sh"
: "${SRC:?}"
export CCCHEF_DEMO_ROOT="$T/demo"

apply "$SRC/recipes/demo.lua"
assert_code 0 "first"
assert_summary 8 0
check; grep -q "^listen 8080$" "$T/demo/conf/site.conf" || fail "template rendered"
check; grep -q "redirect 301 /old /new" "$T/demo/conf/site.conf" || fail "template loop"
assert_file "$T/demo/reloads.log"
apply "$SRC/recipes/demo.lua"
assert_summary 0 0
echo "listen 9999" >>"$T/demo/conf/site.conf"
apply -n "$SRC/recipes/demo.lua"
assert_out "-listen 9999"
assert_out "would notify execute[reload site]"
check; tail -1 "$T/demo/conf/site.conf" | grep -q 9999 || fail "why-run wrote"

finish
