#!/bin/bash
# Bad input in a kitchen: each case exits 2 with one message that says what
# is wrong and where ccchef looked, and changes nothing.
. "$(dirname "$0")/lib/common.sh"
K="$T/k"
mk() { mkdir -p "$(dirname "$K/$1")"; cat >"$K/$1"; }
mk cookbooks/good/recipes/default.lua <<LUA
file "$T/must-not-exist" { content = "x" }
LUA
mk roles/a.lua <<'LUA'
return { run_list = { "recipe:good", "role:b" } }
LUA
mk roles/b.lua <<'LUA'
return { run_list = { "role:c" } }
LUA
mk roles/c.lua <<'LUA'
return { run_list = { "role:a" } }
LUA
mk roles/typo.lua <<'LUA'
return { run_lst = { "recipe:good" } }
LUA
mk environments/live.lua <<'LUA'
return { attributes = {} }
LUA
cd "$K" || exit 1

expect_input_error() { # CASE EXPECTED-STDERR-FRAGMENT ARGS...
	local name=$1 msg=$2
	shift 2
	apply "$@"
	assert_code 2 "$name"
	assert_err "$msg"
	check; [ "$(printf '%s' "$ERR" | grep -c 'error:')" = 1 ] || fail "$name: want exactly one error line"
	assert_no_file "$T/must-not-exist"
}

expect_input_error "role not found" "role 'nope' not found (looked for roles/nope.lua)" role:nope
expect_input_error "role suggestion" "(did you mean 'b'?)" role:b2
expect_input_error "cookbook not found" "cookbook 'nope' not found (looked in cookbooks/)" recipe:nope
expect_input_error "cookbook suggestion" "(did you mean 'good'?)" recipe:goood
expect_input_error "recipe not found" "recipe 'good::extra' not found (looked for cookbooks/good/recipes/extra.lua; cookbook has: default)" recipe:good::extra
expect_input_error "role cycle" "role cycle: a -> b -> c -> a" role:a
expect_input_error "role unknown key" "role typo: unknown key 'run_lst'" role:typo
expect_input_error "environment not found" "environment 'prod' not found (looked for environments/prod.lua; environments: live)" -E prod recipe:good
expect_input_error "bad --attr" "expected KEY.PATH=VALUE" --attr novalue recipe:good
printf '{"a": ' >"$T/bad.json"
expect_input_error "bad -j" "-j $T/bad.json: invalid JSON" -j "$T/bad.json" recipe:good

# include_recipe of a missing recipe names the including line.
mk cookbooks/inc/recipes/default.lua <<'LUA'
-- line 1
include_recipe "good::missing"
LUA
expect_input_error "include_recipe missing" "cookbooks/inc/recipes/default.lua:2: recipe 'good::missing' not found" recipe:inc

# An attribute file that errors.
mk cookbooks/badattr/attributes/default.lua <<'LUA'
default.x.y = 1
default.x.z = nil + 1
LUA
expect_input_error "attribute file error" "cookbooks/badattr/attributes/default.lua:2: attempt to perform arithmetic on a nil value" recipe:good
rm -r "$K/cookbooks/badattr"

# A custom resource with an unknown property type.
mk cookbooks/cr/resources/thing.lua <<'LUA'
return { properties = { name2 = { type = "strng" } }, actions = { create = function(r) end } }
LUA
expect_input_error "unknown property type" "resource type cr_thing: property 'name2' has unknown type \"strng\"" recipe:good
check; printf '%s' "$ERR" | grep -qF "(did you mean 'string'?)" || fail "type suggestion"
check; printf '%s' "$ERR" | grep -qF "cookbooks/cr/resources/thing.lua" || fail "names the resource file"

# Required and defaulted at once.
mk cookbooks/cr/resources/thing.lua <<'LUA'
return { properties = { p = { type = "string", required = true, default = "x" } }, actions = { create = function(r) end } }
LUA
expect_input_error "required and default" "property 'p' is both required and has a default" recipe:good

# Two custom resources that end up with the same type name.
rm -r "$K/cookbooks/cr"
mk cookbooks/a_b/resources/c.lua <<'LUA'
return { actions = { create = function(r) end } }
LUA
mk cookbooks/a/resources/b_c.lua <<'LUA'
return { actions = { create = function(r) end } }
LUA
expect_input_error "duplicate type" "resource type a_b_c is defined twice" recipe:good
rm -r "$K/cookbooks/a_b" "$K/cookbooks/a"

# A custom resource that is not a table / has no actions.
mk cookbooks/cr/resources/empty.lua <<'LUA'
return { properties = {} }
LUA
expect_input_error "no actions" "a custom resource needs actions" recipe:good
rm -r "$K/cookbooks/cr"

# recipe: without a kitchen.
mkdir "$T/nokitchen" && cd "$T/nokitchen" || exit 1
expect_input_error "no kitchen" "recipe:good needs a kitchen, and none was found" recipe:good

finish
