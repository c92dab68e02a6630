#!/bin/bash
# Lazy values: a property given as a Lua function is evaluated at converge
# time, so it can use what an earlier resource made; why-run reports such a
# value as unknown instead of failing; a lazy value of the wrong type, or
# one that raises, fails the resource with a clear message (exit 1).
. "$(dirname "$0")/lib/common.sh"

cat >"$T/r.lua" <<LUA
execute "make version" {
  command = "echo 1.2.\$\$ > $T/VERSION",
  creates = "$T/VERSION",
}
file "$T/app.conf" {
  content = function()
    local v = assert(read_file("$T/VERSION"))
    return "version = " .. v
  end,
  mode = function() return "0640" end,
}
template "$T/lazy-vars.conf" {
  source = "v.tmpl",
  vars = function() return { v = read_file("$T/VERSION") } end,
}
LUA
mkdir "$T/templates"
printf 'from template: {{ v }}' >"$T/templates/v.tmpl"

# why-run: VERSION does not exist yet; the lazy value is unknown, which is
# reported, not a failure; nothing is written.
apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update file[$T/app.conf]: unknown until the changes before it are made"
assert_no_file "$T/VERSION"
assert_no_file "$T/app.conf"

apply "$T/r.lua"
assert_code 0
assert_summary 3 0
version=$(cat "$T/VERSION")
check; [ -n "$version" ] || fail "VERSION empty"
assert_content "$T/app.conf" "version = $version"
assert_content "$T/lazy-vars.conf" "from template: $version"
assert_mode "$T/app.conf" 640

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# The value is read at converge time of each run: a new VERSION shows up.
echo 2.0 >"$T/VERSION"
apply "$T/r.lua"
assert_summary 2 0
assert_content "$T/app.conf" "version = 2.0"

# Wrong type: a number for content. Exit 1 with file, line, resource and
# the property; nothing written.
cat >"$T/bad.lua" <<LUA
file "$T/wrong-type" {
  content = function() return 42 end,
}
LUA
apply "$T/bad.lua"
assert_code 1 "wrong type"
assert_out "failed       file[$T/wrong-type]"
assert_out "bad.lua:1: lazy property 'content': expected a string, got number 42"
assert_no_file "$T/wrong-type"

# Wrong type: a lazy mode given as a number (the octal trap).
cat >"$T/bad2.lua" <<LUA
file "$T/wrong-mode" { content = "x", mode = function() return 644 end }
LUA
apply "$T/bad2.lua"
assert_code 1 "lazy numeric mode"
assert_out "bad2.lua:1: lazy property 'mode': mode must be an octal string"
assert_no_file "$T/wrong-mode"

# A lazy value that raises; and one that returns nil plus a reason.
cat >"$T/bad3.lua" <<LUA
file "$T/raises" { content = function() error("no such setting") end }
LUA
apply "$T/bad3.lua"
assert_code 1 "lazy raises"
assert_out "bad3.lua:1: lazy property 'content' failed: $T/bad3.lua:1: no such setting"
cat >"$T/bad4.lua" <<LUA
file "$T/from-missing" { content = function() return read_file("$T/nope") end }
LUA
apply "$T/bad4.lua"
assert_code 1 "lazy nil"
assert_out "bad4.lua:1: lazy property 'content' returned nil: $T/nope: No such file or directory"
assert_no_file "$T/from-missing"

# Lazy template vars: checked at converge time, so a template error is a
# converge failure (exit 1) that still names the template file and line.
cat >"$T/bad5.lua" <<LUA
template "$T/lazy-undefined" { source = "v.tmpl", vars = function() return { w = 1 } end }
LUA
apply "$T/bad5.lua"
assert_code 1 "lazy vars, undefined variable"
assert_out "bad5.lua:1: $T/templates/v.tmpl:1: undefined variable 'v'"
assert_no_file "$T/lazy-undefined"
cat >"$T/bad6.lua" <<LUA
template "$T/lazy-string" { source = "v.tmpl", vars = function() return "v=1" end }
LUA
apply "$T/bad6.lua"
assert_code 1 "lazy vars, wrong type"
assert_out "bad6.lua:1: lazy property 'vars': expected a table, got string \"v=1\""

finish
