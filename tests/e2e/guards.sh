#!/bin/bash
# guards: only_if / not_if as shell commands and as Lua functions, on
# execute and on a file; skipped resources are shown with -l info; guards
# DO run under why-run (as in Chef; docs/recipes.md) while the guarded
# resource does not; a guard that raises fails the resource (exit 1).
. "$(dirname "$0")/lib/common.sh"

LOG="$T/log"
cat >"$T/r.lua" <<LUA
local log = "$LOG"
execute "only_if true" { command = "echo a >> " .. log .. "; touch $T/a", only_if = "test -d $T", creates = "$T/a" }
execute "only_if false" { command = "echo b >> " .. log, only_if = "test -e $T/nope" }
execute "not_if true" { command = "echo c >> " .. log, not_if = "echo guard-ran >> $T/guard.log; true" }
execute "not_if false" { command = "echo d >> " .. log .. "; touch $T/d", not_if = "false", creates = "$T/d" }
execute "lua only_if false" { command = "echo e >> " .. log, only_if = function() return false end }
execute "lua not_if" {
  command = "echo f >> " .. log .. "; touch $T/f",
  not_if = function() return read_file("$T/f") ~= nil end,
}
file "$T/guarded.conf" { content = "x\n", only_if = "test -e $T/enable" }
LUA

# why-run: shell guards run (guard.log written), functions too; nothing
# guarded runs.
apply -n -l info "$T/r.lua"
assert_code 0 "why-run"
assert_out "skipped      execute[only_if false] (only_if \`test -e $T/nope\` failed)"
assert_out "skipped      execute[not_if true] (not_if \`echo guard-ran >> $T/guard.log; true\` succeeded)"
assert_out "skipped      execute[lua only_if false] (only_if was false)"
assert_out "would-update execute[only_if true]"
assert_out "would-update execute[lua not_if]"
assert_content "$T/guard.log" "guard-ran"
assert_no_file "$LOG"

apply -l info "$T/r.lua"
assert_code 0
assert_out "skipped      execute[only_if false]"
assert_out "skipped      file[$T/guarded.conf] (only_if \`test -e $T/enable\` failed)"
assert_out "7 resources, 3 updated, 0 failed, 4 skipped"
assert_content "$LOG" "$(printf 'a\nd\nf')"
assert_no_file "$T/guarded.conf"

# Second run: the Lua not_if now sees the file; 0 updated.
apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0
# Skipped resources are not listed at the default level.
assert_not_out "skipped      "

# A guard that opens the way: the file is created once enabled.
touch "$T/enable"
apply "$T/r.lua"
assert_summary 1 0
assert_content "$T/guarded.conf" "x"

# A guard that raises: the resource fails with the recipe's file and line.
cat >"$T/bad.lua" <<LUA
execute "touch $T/never" { only_if = function() error("no database configured") end }
LUA
apply "$T/bad.lua"
assert_code 1 "guard raises"
assert_out "failed       execute[touch $T/never]"
assert_out "bad.lua:1: only_if raised an error: $T/bad.lua:1: no database configured"
assert_no_file "$T/never"

# A guard of the wrong type is an input error (exit 2).
cat >"$T/bad2.lua" <<LUA
execute "touch $T/never" { not_if = true }
LUA
apply "$T/bad2.lua"
assert_code 2 "guard type"
assert_err "bad2.lua:1: execute[touch $T/never]: property 'not_if': expected a shell command (string) or a function, got boolean true"

finish
