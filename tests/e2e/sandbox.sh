#!/bin/bash
# sandbox: recipes and templates run in their own environment
# (ccchef.sandbox, docs/recipes.md "The recipe environment",
# docs/templates.md "Limits"): no os.exit, no os.execute/io.popen/io.open,
# no dofile/loadfile/require, load is text only and stays in the sandbox,
# library tables are private copies (recipes) or read-only (templates), the
# engine's metatables are out of reach; endless loops in recipes, lazy
# values, guards and templates end with a clear error, and template output
# is bounded. Every case also checks that nothing ran: why-run executes no
# template code that could run a command.
. "$(dirname "$0")/lib/common.sh"

PWNED="$T/pwned"

# expect_error CODE TEXT...: the last run exited CODE and its stderr has
# every TEXT; nothing was executed ($PWNED absent).
expect_error() {
	local code=$1
	shift
	assert_code "$code" "$CASE"
	for text in "$@"; do
		check
		printf '%s' "$ERR" | grep -qF -- "$text" || fail "$CASE: stderr lacks: $text"
	done
	assert_no_file "$PWNED"
}

# 1. Templates: os.execute under why-run, os.exit, io, load, require: none
# exist. Each template is rendered at compile time, so exit 2.
mkdir "$T/templates"
i=0
for body in \
	"{% os.execute('touch $PWNED') %}" \
	"{% os.exit(0) %}" \
	"{% io.open('$PWNED', 'w') %}" \
	"{% io.popen('touch $PWNED') %}" \
	"{% load('x = 1')() %}" \
	"{% require('os').execute('touch $PWNED') %}" \
	"{% dofile('/etc/hostname') %}"; do
	i=$((i + 1))
	CASE="template $body"
	printf 'before\n%s\nafter\n' "$body" >"$T/templates/t$i.tmpl"
	printf 'template "%s/out%d" { source = "t%d.tmpl" }\n' "$T" "$i" "$i" >"$T/t$i.lua"
	apply -n "$T/t$i.lua"
	expect_error 2 "t$i.tmpl:2:"
	assert_no_file "$T/out$i"
	apply "$T/t$i.lua"
	expect_error 2 "t$i.tmpl:2:"
	assert_not_out "0 failed" # no summary of a run that never started
done

# Templates cannot change the libraries they share.
CASE="template assigns string.format"
printf '{%% string.format = nil %%}x\n' >"$T/templates/ro.tmpl"
printf 'template "%s/ro" { source = "ro.tmpl" }\n' "$T" >"$T/ro.lua"
apply -n "$T/ro.lua"
expect_error 2 "ro.tmpl:1:" "string is read-only in templates"

# What templates may use still works: string methods, os.date, math.
CASE="template globals"
cat >"$T/templates/ok.tmpl" <<'TMPL'
{{ ("%05.1f"):format(math.pi) }} {{ string.upper(name) }} {{ os.date("!%Y", 0) }} {{ #table.concat({ "a", "b" }) }}
TMPL
printf 'template "%s/ok" { source = "ok.tmpl", vars = { name = "web" } }\n' "$T" >"$T/ok.lua"
apply "$T/ok.lua"
assert_code 0 "$CASE"
assert_content "$T/ok" "003.1 WEB 1970 2"

# 2. Recipes: no os.exit/execute, io, dofile, loadfile, require, debug,
# string.dump; load refuses bytecode and runs in the sandbox.
i=0
for body in \
	"os.exit(0)" \
	"os.execute('touch $PWNED')" \
	"io.open('$PWNED', 'w')" \
	"dofile('/etc/hostname')" \
	"loadfile('/etc/hostname')" \
	"require('os')" \
	"debug.getinfo(1)" \
	"string.dump(print)" \
	"load('os.execute([[touch $PWNED]])')()" \
	"load('return 1', 'x', 'b')" \
	"setmetatable(_ENV, nil)" \
	"setmetatable({}, { __gc = function() end })"; do
	i=$((i + 1))
	CASE="recipe $body"
	printf 'file "%s/r%d" { content = "x" }\n%s\n' "$T" "$i" "$body" >"$T/r$i.lua"
	apply "$T/r$i.lua"
	expect_error 2 "error: "
	check
	printf '%s' "$ERR" | grep -qE "r$i.lua:2:|field 'execute'" || fail "$CASE: no location or reason"
	assert_no_file "$T/r$i"
done

# The engine's metatables are not handed out; what a recipe sets it gets.
CASE="getmetatable"
cat >"$T/mt.lua" <<LUA
assert(getmetatable("") == nil, "string metatable visible")
local h = file "$T/mt" { content = "x" }
assert(getmetatable(h) == nil, "handle metatable visible")
-- A handle shows its reference, not the engine's record or resource type.
assert(h.ref == "file[$T/mt]" and h.type == "file" and h.name == "$T/mt")
assert(h.unit == nil and h.props == nil and h[1] == nil and next(h) == nil, "engine record reachable")
assert(not pcall(function() h.ref = "x" end), "handle writable")
local s = file "$T/mt2"
assert(s[1] == nil and s.unit == nil and next(s) == nil, "engine record reachable before properties")
s { content = "y" }
local mine = setmetatable({}, { __index = { v = 42 } })
assert(mine.v == 42 and getmetatable(mine).__index.v == 42)
local ok = pcall(error, "x")
assert(os.exit == nil and os.execute == nil and os.remove == nil and rawget(_ENV, "io") == nil)
assert(type(os.time()) == "number" and os.getenv("HOME") ~= nil and type(os.date()) == "string")
assert(load("return os.exit")() == nil, "load escaped the sandbox")
assert(shell_quote("a b'c") == [['a b'\\''c']])
-- read_file reads regular files only: /dev/zero would never end.
local z, why = read_file("/dev/zero")
assert(z == nil and why:find("not a regular file"), why)
LUA
apply "$T/mt.lua"
assert_code 0 "$CASE"
assert_content "$T/mt" "x"
assert_content "$T/mt2" "y"

# Adding to string in a recipe changes the recipe's copy only.
CASE="string copy"
cat >"$T/sc.lua" <<LUA
function string.shout(s) return s:upper() .. "!" end
string.format = nil
file "$T/sc" { content = string.shout("hi") }
LUA
apply "$T/sc.lua"
assert_code 0 "$CASE"
assert_content "$T/sc" "HI!"
assert_out "1 updated, 0 failed"

# 3. Endless loops end with a clear error: recipe (exit 2, compile time,
# file and line), lazy value and guard function (exit 1, the resource
# fails), template (exit 2, even under why-run). The budget is lowered so
# the test is quick; the default is docs/recipes.md's.
export CCCHEF_MAX_INSTRUCTIONS=3000000
CASE="endless recipe"
printf 'file "%s/e1" { content = "x" }\nwhile true do end\n' "$T" >"$T/e1.lua"
apply -n "$T/e1.lua"
expect_error 2 "$T/e1.lua:2: the recipe did not finish within 3000000 instructions"

CASE="endless lazy value"
cat >"$T/e2.lua" <<LUA
file "$T/e2" { content = function() while true do end end }
LUA
apply "$T/e2.lua"
expect_error 1 "$T/e2.lua:1: file[$T/e2]: lazy property 'content' failed:" "did not finish within 3000000 instructions"
assert_no_file "$T/e2"

CASE="endless guard"
cat >"$T/e3.lua" <<LUA
file "$T/e3" { content = "x", only_if = function() while true do pcall(function() while true do end end) end end }
LUA
apply -n "$T/e3.lua"
expect_error 1 "file[$T/e3]: only_if raised an error:" "only_if did not finish within 3000000 instructions"

# Error values and tables with metamethods that never end: the engine
# never calls them outside the budget (no tostring of a raised table; the
# check of a lazy value runs in the budget).
CASE="endless __tostring"
cat >"$T/e5.lua" <<LUA
local evil = setmetatable({}, { __tostring = function() while true do end end,
  __index = function() while true do end end })
file "$T/e5" { content = function() error(evil) end }
LUA
apply "$T/e5.lua"
expect_error 1 "lazy property 'content' failed: (an error value that is a table, not a message)"
sed -n 1,2p "$T/e5.lua" >"$T/e6.lua"
printf 'file "%s/e6" { content = "x", only_if = function() error(evil) end }\n' "$T" >>"$T/e6.lua"
apply "$T/e6.lua"
expect_error 1 "only_if raised an error: (an error value that is a table, not a message)"
CASE="endless __index in a lazy value's check"
sed -n 1,2p "$T/e5.lua" >"$T/e7.lua"
printf 'execute "e7" { command = "true", returns = function() return evil end }\n' >>"$T/e7.lua"
apply "$T/e7.lua"
expect_error 1 "lazy property 'returns' failed:" "did not finish within 3000000 instructions"

CASE="endless custom resource action"
mkdir -p "$T/k/cookbooks/cb/resources" "$T/k/cookbooks/cb/recipes"
cat >"$T/k/cookbooks/cb/resources/spin.lua" <<'LUA'
return { actions = { run = function(r) while true do end end } }
LUA
printf 'cb_spin "x" {}\nfile "%s/after-spin" { content = "x" }\n' "$T" >"$T/k/cookbooks/cb/recipes/default.lua"
run apply --state-dir "$STATE" --no-color -k "$T/k" recipe:cb
expect_error 1 "cb_spin[x]" "action 'run' of cb_spin did not finish within 3000000 instructions"
assert_no_file "$T/after-spin"

CASE="endless role, attribute and resource definition files"
mkdir -p "$T/k2/roles" "$T/k2/cookbooks/c2/recipes" "$T/k2/cookbooks/c2/attributes" "$T/k2/cookbooks/c3/resources"
printf 'file "%s/k2-out" { content = "x" }\n' "$T" >"$T/k2/cookbooks/c2/recipes/default.lua"
printf 'while true do end\n' >"$T/k2/roles/spin.lua"
run apply -n --state-dir "$STATE" --no-color -k "$T/k2" role:spin
expect_error 2 "roles/spin.lua:1: the recipe did not finish within 3000000 instructions"
rm "$T/k2/roles/spin.lua"
printf 'while true do end\n' >"$T/k2/cookbooks/c2/attributes/default.lua"
run apply -n --state-dir "$STATE" --no-color -k "$T/k2" recipe:c2
expect_error 2 "cookbooks/c2/attributes/default.lua:1:" "did not finish within 3000000 instructions"
rm "$T/k2/cookbooks/c2/attributes/default.lua"
printf 'while true do end\n' >"$T/k2/cookbooks/c3/resources/spin.lua"
run apply -n --state-dir "$STATE" --no-color -k "$T/k2" recipe:c2
expect_error 2 "cookbooks/c3/resources/spin.lua:1:" "did not finish within 3000000 instructions"
assert_no_file "$T/k2-out"

CASE="endless template"
printf 'a\n{%% while true do end %%}\n' >"$T/templates/loop.tmpl"
printf 'template "%s/e4" { source = "loop.tmpl" }\n' "$T" >"$T/e4.lua"
apply -n "$T/e4.lua"
expect_error 2 "loop.tmpl:2: template" "did not finish within 3000000 instructions"
unset CCCHEF_MAX_INSTRUCTIONS

# 4. Template output is bounded: a clear error names the template and the
# limit (64 MiB by default), before the output is held in memory.
CASE="big template"
printf '{%% for i = 1, 10000000 do %%}0123456789012345678901234567890123456789012345678901234567890123456789\n{%% end %%}' \
	>"$T/templates/big.tmpl"
printf 'template "%s/big" { source = "big.tmpl" }\n' "$T" >"$T/big.lua"
apply -n "$T/big.lua"
expect_error 2 "big.tmpl:1: template" "output larger than 67108864 bytes"
assert_no_file "$T/big"

CASE="template output limit lowered"
CCCHEF_TEMPLATE_MAX_BYTES=1000 apply "$T/ok.lua" # 25 bytes: fine
assert_code 0 "$CASE"
printf '{{ string.rep("x", 1001) }}' >"$T/templates/rep.tmpl"
printf 'template "%s/rep" { source = "rep.tmpl" }\n' "$T" >"$T/rep.lua"
CCCHEF_TEMPLATE_MAX_BYTES=1000 apply "$T/rep.lua"
expect_error 2 "rep.tmpl:1: string.rep would make 1001 bytes, more than the template output limit (1000 bytes)"
CASE="string method rep"
printf '{{ ("xy"):rep(5000000000) }}' >"$T/templates/rep2.tmpl"
printf 'template "%s/rep2" { source = "rep2.tmpl" }\n' "$T" >"$T/rep2.lua"
apply -n "$T/rep2.lua"
expect_error 2 "rep2.tmpl:1: string.rep would make 10000000000 bytes, more than the template output limit (67108864 bytes)"
# ... and Lua's own string methods are back after the render: with a
# 100-byte template limit, the recipe's rep after a render is not held to it.
CASE="string methods restored"
cat >"$T/restored.lua" <<LUA
template "$T/ok2" { source = "ok.tmpl", vars = { name = "x" } }
assert(#("x"):rep(20) == 20)
LUA
CCCHEF_TEMPLATE_MAX_BYTES=100 apply -n "$T/restored.lua"
assert_code 0 "$CASE"

finish
