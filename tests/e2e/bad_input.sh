#!/bin/bash
# Bad input: every mistake gets the right exit code (2 for input errors,
# 1 for failures during converge), exactly one line on stderr that names the
# recipe file and line (and the resource where there is one), and -- for
# errors found at compile time -- nothing changed on disk: each bad recipe
# first declares a new file and a change to an existing file, and both must
# be left alone, and the state directory must not even be created.
. "$(dirname "$0")/lib/common.sh"


# What is on disk, excluding the captured output: paths, types, sizes, modes.
snapshot() {
	find "$T" -mindepth 1 \( -name .out -o -name .err \) -prune -o -printf '%y %p %s %m\n' | sort
}

printf 'old\n' >"$T/existing"

# recipe NAME: writes $T/NAME.lua from stdin after two lines that would
# change the disk (line 1 creates $T/sentinel, line 2 rewrites
# $T/existing), so the mistake in the body is on line 3.
recipe() {
	{
		printf 'file "%s/sentinel" { content = "created\\n" }\n' "$T"
		printf 'file "%s/existing" { content = "new\\n" }\n' "$T"
		cat
	} >"$T/$1.lua"
}

# One line on stderr, containing every TEXT given.
assert_one_error() {
	check
	n=$(printf '%s' "$ERR" | grep -c '')
	[ "$n" = 1 ] || fail "$CASE: want exactly one line on stderr, got $n"
	for text in "$@"; do
		check
		printf '%s' "$ERR" | grep -qF -- "$text" || fail "$CASE: stderr lacks: $text"
	done
}

# compile_error NAME TEXT...: apply $T/NAME.lua, expect exit 2, one error
# line with the texts, and the disk exactly as before.
compile_error() {
	CASE=$1
	shift
	before=$(snapshot)
	apply "$T/$CASE.lua"
	assert_code 2 "$CASE"
	assert_one_error "$@"
	check
	[ "$(snapshot)" = "$before" ] || fail "$CASE: the disk changed: $(diff <(echo "$before") <(snapshot))"
	assert_no_file "$T/sentinel"
	assert_content "$T/existing" "old"
	assert_no_file "$STATE"
}

# 1. Lua syntax error
recipe syntax <<LUA
file "$T/a" {
  content = "x"
  mode = "0644" }
LUA
compile_error syntax "$T/syntax.lua:5: syntax error: '}' expected (to close '{' at line 3) near 'mode'"

# 2. runtime error in a recipe: nil arithmetic
recipe runtime <<LUA
local count = nil
file "$T/a" { content = tostring(count + 1) }
LUA
compile_error runtime "$T/runtime.lua:4: attempt to perform arithmetic on a nil value (local 'count')"

# 3. unknown resource type, with the closest name suggested
recipe unknown_type <<LUA
fiel "$T/a" { content = "x" }
LUA
compile_error unknown_type "$T/unknown_type.lua:3:" "unknown resource type or undefined name 'fiel' (did you mean 'file'?)"

# 4. unknown property, with the closest name suggested
recipe unknown_prop <<LUA
file "$T/a" { contnet = "x" }
LUA
compile_error unknown_prop "$T/unknown_prop.lua:3: file[$T/a]: unknown property 'contnet' (did you mean 'content'?)"

# 5. wrong type: mode as a decimal number (Lua has no octal literals)
recipe mode_number <<LUA
file "$T/a" { content = "x", mode = 644 }
LUA
compile_error mode_number "$T/mode_number.lua:3: file[$T/a]: property 'mode': mode must be an octal string like \"0644\", got number 644 (Lua has no octal numbers)"
recipe mode_dir <<LUA
directory "$T/d" { mode = 755 }
LUA
compile_error mode_dir "$T/mode_dir.lua:3: directory[$T/d]: property 'mode':" 'got number 755'

# 6. wrong type: content as a table
recipe content_table <<LUA
file "$T/a" { content = {} }
LUA
compile_error content_table "$T/content_table.lua:3: file[$T/a]: property 'content': expected a string, got table"

# 7. missing required property: link without `to`
recipe link_no_to <<LUA
link "$T/l" { }
LUA
compile_error link_no_to "$T/link_no_to.lua:3: link[$T/l]: missing required property 'to'"

# 8. missing required property: template without source
recipe template_no_source <<LUA
template "$T/t" { vars = { x = 1 } }
LUA
compile_error template_no_source "$T/template_no_source.lua:3: template[$T/t]: missing required property 'source'"

# 9. notify to a resource that does not exist (with a suggestion)
recipe notify_missing <<LUA
execute "reload app" { command = "true", action = "nothing" }
file "$T/a" { content = "x", notifies = { "run", "execute[reload ap]" } }
LUA
compile_error notify_missing "$T/notify_missing.lua:4: file[$T/a]: notifies execute[reload ap], which is not declared in this run (did you mean 'execute[reload app]'?)"

# 10. notify with an action the target does not have
recipe notify_action <<LUA
execute "reload app" { command = "true", action = "nothing" }
file "$T/a" { content = "x", notifies = { "restart", "execute[reload app]" } }
LUA
compile_error notify_action "$T/notify_action.lua:4: file[$T/a]:" "execute[reload app] has no action 'restart'"

# 11. unknown action
recipe unknown_action <<LUA
file "$T/a" { content = "x", action = "creat" }
LUA
compile_error unknown_action "$T/unknown_action.lua:3: file[$T/a]: unknown action 'creat' (did you mean 'create'?)"

# 12. a template with a syntax error: the template file and line are named
mkdir -p "$T/templates"
printf 'line one\nport {{ port \nline three\n' >"$T/templates/unclosed.tmpl"
recipe template_syntax <<LUA
template "$T/t" { source = "unclosed.tmpl", vars = { port = 80 } }
LUA
compile_error template_syntax "$T/template_syntax.lua:3: template[$T/t]:" "unclosed.tmpl:2: unclosed '{{'"

# 13. a template whose Lua code is wrong
printf 'a\n{%% for _, x in %%}\n{{ x }}\n{%% end %%}\n' >"$T/templates/badcode.tmpl"
recipe template_code <<LUA
template "$T/t" { source = "badcode.tmpl" }
LUA
compile_error template_code "$T/template_code.lua:3: template[$T/t]:" "badcode.tmpl:2: unexpected symbol at the end of the {% %} tag"

# 14. a template with an undefined variable
printf 'listen {{ port }}\nserver {{ server_nmae }}\n' >"$T/templates/undef.tmpl"
recipe template_undef <<LUA
template "$T/t" { source = "undef.tmpl", vars = { port = 80, server_name = "x" } }
LUA
compile_error template_undef "$T/template_undef.lua:3: template[$T/t]:" "undef.tmpl:2: undefined variable 'server_nmae'"

# 15. a path that is not absolute
recipe relative_path <<LUA
file "etc/motd" { content = "x" }
LUA
compile_error relative_path "$T/relative_path.lua:3: file[etc/motd]:" 'path "etc/motd" is not absolute'

# 16. properties given twice
recipe props_twice <<LUA
file "$T/a" { content = "x" } { mode = "0644" }
LUA
compile_error props_twice "$T/props_twice.lua:3: file[$T/a]: properties were already given"

# 17. properties that are not a table
recipe props_string <<LUA
file "$T/a" "hello"
LUA
compile_error props_string "$T/props_string.lua:3: file[$T/a]: expected a table of properties" 'got string "hello"'

# 18. both content and source
recipe content_and_source <<LUA
file "$T/a" { content = "x", source = "a.txt" }
LUA
compile_error content_and_source "$T/content_and_source.lua:3: file[$T/a]: give content or source, not both"

# 19. a resource without a name
recipe no_name <<LUA
file(nil) { content = "x" }
LUA
compile_error no_name "$T/no_name.lua:3: file needs a name"

# 20. a guard of the wrong type
recipe guard_type <<LUA
execute "true" { only_if = 5 }
LUA
compile_error guard_type "$T/guard_type.lua:3: execute[true]: property 'only_if': expected a shell command (string) or a function, got number 5"

# 21. a typo in a variable name
recipe undefined_name <<LUA
file "$T/a" { content = nodee.hostname }
LUA
compile_error undefined_name "$T/undefined_name.lua:3:" "undefined name 'nodee' (did you mean 'node'?)"

# 21b. error() without a location still names the recipe file
recipe error_level0 <<LUA
error("this recipe needs node.app to be set", 0)
LUA
compile_error error_level0 "$T/error_level0.lua: this recipe needs node.app to be set"

# 21c. properties the engine needs at compile time cannot be lazy: a
# function as action, or as apache_module's service (once "internal error",
# exit 70)
recipe lazy_action <<LUA
file "$T/a" { action = function() return "create" end }
LUA
compile_error lazy_action "$T/lazy_action.lua:3: file[$T/a]: property 'action' cannot be lazy (a function)"

recipe lazy_service <<LUA
apache_module "ssl" { conf_dir = "$T/apache2", service = function() return "apache2" end }
LUA
compile_error lazy_service "$T/lazy_service.lua:3: apache_module[ssl]: property 'service' cannot be lazy (a function)"

recipe lazy_notifies <<LUA
file "$T/a" { content = "x", notifies = function() return { "restart", "service[x]" } end }
LUA
compile_error lazy_notifies "$T/lazy_notifies.lua:3: file[$T/a]: property 'notifies' cannot be lazy"

# 21d. a recipe that assigns string.format (once "internal error", exit
# 70, or the engine's reports rewritten): it changes the recipe's own
# copy only; the run and its report are normal.
cat >"$T/string_format.lua" <<LUA
string.format = function() return "HIJACKED" end
print(string.format("%d", 1))
file "$T/sf" { content = ("%s\\n"):format("real") }
LUA
CASE=string_format
run apply --state-dir "$T/sf-state" --no-color "$T/string_format.lua"
assert_code 0 "$CASE"
assert_out "HIJACKED"
assert_out "updated      file[$T/sf]"
assert_summary 1 0
check
[ "$(printf '%s' "$OUT" | grep -c HIJACKED)" = 1 ] || fail "$CASE: the engine's output used the recipe's string.format"
assert_content "$T/sf" "real"
rm -rf "$T/sf-state" "$T/sf"

# 21e. a recipe that never ends fails at compile time with its file and
# line (the instruction budget, lowered here so the test is quick)
recipe endless <<LUA
local n = 0
while true do pcall(function() while true do n = n + 1 end end) end
LUA
CCCHEF_MAX_INSTRUCTIONS=2000000 compile_error endless "$T/endless.lua:4" "did not finish within 2000000 instructions"

# 22. the mistake is in the second recipe of the run list: the first one's
# resources must not have been applied either.
cat >"$T/good.lua" <<LUA
file "$T/sentinel" { content = "x" }
LUA
cat >"$T/second_bad.lua" <<LUA
file "$T/b" { mode = "rw-r--r--" }
LUA
CASE=second_recipe
apply "$T/good.lua" "$T/second_bad.lua"
assert_code 2 "$CASE"
assert_one_error "$T/second_bad.lua:1: file[$T/b]: property 'mode'"
assert_no_file "$T/sentinel"
assert_no_file "$STATE"

# 23. a recipe file that does not exist
CASE=missing_recipe
apply "$T/nope.lua"
assert_code 2 "$CASE"
assert_one_error "recipe file $T/nope.lua does not exist"
assert_no_file "$STATE"

# 24. a directory given as a recipe
CASE=directory_recipe
apply "$T/templates"
assert_code 2 "$CASE"
assert_one_error "$T/templates is a directory, not a recipe file"
assert_no_file "$STATE"

# 25. unknown command-line option, with a suggestion
CASE=unknown_option
apply --frmat json "$T/good.lua"
assert_code 2 "$CASE"
assert_one_error "unknown option --frmat (did you mean '--format'?)"
assert_no_file "$T/sentinel"

# 26. an option without its value; a bad option value
CASE=option_value
run apply "$T/good.lua" --lock-timeout
assert_code 2 "$CASE"
assert_one_error "option --lock-timeout needs a value"
CASE=option_format
apply --format xml "$T/good.lua"
assert_code 2 "$CASE"
assert_one_error "--format must be human or json"
CASE=option_number
apply --backups many "$T/good.lua"
assert_code 2 "$CASE"
assert_one_error "--backups needs a non-negative number"
assert_no_file "$T/sentinel"

# 27. unknown command, with a suggestion; apply without a recipe
CASE=unknown_command
run aply "$T/good.lua"
assert_code 2 "$CASE"
assert_one_error "unknown command 'aply' (did you mean 'apply'?)"
CASE=no_runlist
run apply
assert_code 2 "$CASE"
assert_one_error "apply needs a run list"
assert_no_file "$T/sentinel"

# 27b. -j attribute files are strict JSON (docs/cli.md): each mistake is an
# input error naming the file, never an internal error (issue 9).
mkdir -p "$T/kitchen"
attrs_json() { # attrs_json NAME: the JSON text on stdin, into $T/NAME.json
	cat >"$T/$1.json"
}
printf '{"a": [[1, 2], [3]], "b": [{"c": [[{"d": 1}]]}]}' | attrs_json nested_arrays
CASE=json_nested_arrays
run attrs -k "$T/kitchen" -j "$T/nested_arrays.json"
assert_code 0 "$CASE"
assert_out 'a = [[1,2],[3]]'
assert_out 'b = [{"c":[[{"d":1}]]}]'
printf '{"a\\u0000b": 1}' | attrs_json nul_key
CASE=json_nul_key
run attrs -k "$T/kitchen" -j "$T/nul_key.json"
assert_code 2 "$CASE"
assert_one_error "-j $T/nul_key.json: invalid JSON: line 1: attribute name" "contains control character U+0000"
printf '{"a": "x\ty"}' | attrs_json raw_control
CASE=json_raw_control
run attrs -k "$T/kitchen" -j "$T/raw_control.json"
assert_code 2 "$CASE"
assert_one_error "-j $T/raw_control.json: invalid JSON: line 1: control character U+0009 in a string must be escaped"
# A control character in a cookbook attribute name: bad input naming the
# file and line (it was an internal error), for attrs and apply alike.
mkdir -p "$T/nulkit/cookbooks/nk/attributes" "$T/nulkit/cookbooks/nk/recipes"
printf 'default["a\\0b"] = 1\n' >"$T/nulkit/cookbooks/nk/attributes/default.lua"
printf 'file "%s/nk" { content = "x" }\n' "$T" >"$T/nulkit/cookbooks/nk/recipes/default.lua"
CASE=attribute_name_nul
run attrs -k "$T/nulkit" recipe:nk
assert_code 2 "$CASE"
assert_one_error 'cookbooks/nk/attributes/default.lua:1: attribute name "a\0b" contains a control character'
run apply -n --state-dir "$T/state" -k "$T/nulkit" recipe:nk
assert_code 2 "$CASE (apply)"
python3 -c 'print("{\"a\":" + "[" * 100000 + "]" * 100000 + "}")' | attrs_json deep
CASE=json_deep
run attrs -k "$T/kitchen" -j "$T/deep.json"
assert_code 2 "$CASE"
assert_one_error "-j $T/deep.json: invalid JSON: line 1: nested deeper than 200 levels"
printf '[1, 2]' | attrs_json top_array
CASE=json_top_array
run attrs -k "$T/kitchen" -j "$T/top_array.json"
assert_code 2 "$CASE"
assert_one_error "-j $T/top_array.json: invalid JSON: the top level must be a JSON object"
printf '{"a": 1,\n "a": 2}' | attrs_json duplicate
CASE=json_duplicate
apply -j "$T/duplicate.json" "$T/good.lua"
assert_code 2 "$CASE"
assert_one_error "-j $T/duplicate.json: invalid JSON: line 2: duplicate key \"a\""
assert_no_file "$T/sentinel"

# Converge failures (exit 1): the resources before the failure were applied
# (the run stops at the failing one), the message names file, line, resource.

# 28. a file whose parent directory does not exist
cat >"$T/no_parent.lua" <<LUA
file "$T/sentinel" { content = "x\n" }
file "$T/missing/dir/f" { content = "x\n" }
file "$T/after" { content = "x\n" }
LUA
CASE=no_parent
apply "$T/no_parent.lua"
assert_code 1 "$CASE"
assert_one_error "$T/no_parent.lua:2: file[$T/missing/dir/f]: parent directory $T/missing/dir does not exist"
assert_out "failed       file[$T/missing/dir/f]"
assert_summary 1 1
assert_file "$T/sentinel"
assert_no_file "$T/missing"
assert_no_file "$T/after"

# 29. execute that exits non-zero: its output is shown
cat >"$T/exec_fail.lua" <<LUA
execute "migrate" { command = "echo to-stdout; echo to-stderr >&2; exit 3" }
LUA
CASE=exec_fail
apply "$T/exec_fail.lua"
assert_code 1 "$CASE"
assert_one_error "$T/exec_fail.lua:1: execute[migrate]: command exited 3 (expected 0)"
assert_out "| to-stdout"
assert_out "| to-stderr"

# 30. execute in a cwd that does not exist: the message says which
cat >"$T/exec_cwd.lua" <<LUA
execute "build" { command = "make", cwd = "$T/src" }
LUA
CASE=exec_cwd
apply "$T/exec_cwd.lua"
assert_code 1 "$CASE"
assert_one_error "$T/exec_cwd.lua:1: execute[build]: command could not start: cwd $T/src does not exist"

finish
