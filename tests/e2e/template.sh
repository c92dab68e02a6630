#!/bin/bash
# template resource: loops, conditionals and whitespace kept exactly,
# lookup in templates/ beside the recipe, `node` available, second converge
# 0 updated, why-run shows a unified diff and writes nothing, and template
# errors (syntax, undefined variable, nil value) stop the run with exit 2
# naming the TEMPLATE file and line, before anything changes on disk.
. "$(dirname "$0")/lib/common.sh"

HOST=$("$CCCHEF" facts | sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p')
mkdir "$T/templates"
# Tag lines without a dash keep their newline; with a dash they eat it.
# Blank lines, trailing spaces and the final newline stay as written.
cat >"$T/templates/app.conf.tmpl" <<'TMPL'
# app on {{ node.hostname }}

{% for _, s in ipairs(sites) do -%}
site {{ s.name }} port={{ s.port }}
{% end -%}
{% if debug then -%}
debug on
{% else -%}
debug off
{% end -%}
{# this comment leaves nothing, not even its line: #}
  indented, trailing spaces   
{% if debug then %}
kept blank line above
{% end %}

last line
TMPL
cat >"$T/r.lua" <<LUA
template "$T/app.conf" {
  source = "app.conf.tmpl",
  vars = { sites = { { name = "a", port = 80 }, { name = "b", port = 8080 } }, debug = false },
  mode = "0640",
}
LUA
printf '# app on %s\n\nsite a port=80\nsite b port=8080\ndebug off\n\n  indented, trailing spaces   \n\n\nlast line\n' "$HOST" >"$T/want1"

apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update template[$T/app.conf]: create, mode 0640"
assert_out "+site b port=8080"
assert_no_file "$T/app.conf"

apply "$T/r.lua"
assert_code 0
assert_summary 1 0
check; cmp -s "$T/app.conf" "$T/want1" || fail "rendered content differs: $(diff "$T/want1" "$T/app.conf")"
assert_mode "$T/app.conf" 640

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# A change of vars: why-run shows the unified diff and writes nothing.
sed -i 's/debug = false/debug = true/' "$T/r.lua"
apply -n "$T/r.lua"
assert_code 0 "why-run diff"
assert_out "would-update template[$T/app.conf]: content"
assert_out "--- $T/app.conf"
assert_out "+++ $T/app.conf (wanted)"
assert_out "-debug off"
assert_out "+debug on"
assert_out "+kept blank line above"
check; cmp -s "$T/app.conf" "$T/want1" || fail "why-run changed the file"
apply "$T/r.lua"
assert_summary 1 0
assert_content "$T/app.conf" "$(printf '# app on %s\n\nsite a port=80\nsite b port=8080\ndebug on\n\n  indented, trailing spaces   \n\nkept blank line above\n\n\nlast line' "$HOST")"
apply "$T/r.lua"
assert_summary 0 0

# Lookup: templates/ beside the recipe first, then beside the recipe itself.
# The recipe is run from another directory to show the lookup is relative
# to the recipe, not to the working directory.
mkdir -p "$T/sub/templates"
printf 'from templates/\n' >"$T/sub/templates/where.tmpl"
printf 'from beside\n' >"$T/sub/where.tmpl"
printf 'only beside {{ x }}\n' >"$T/sub/beside.tmpl"
cat >"$T/sub/look.lua" <<LUA
template "$T/where.out" { source = "where.tmpl" }
template "$T/beside.out" { source = "beside.tmpl", vars = { x = 1 } }
LUA
(cd / && apply "$T/sub/look.lua")
assert_code 0 "lookup"
assert_content "$T/where.out" "from templates/"
assert_content "$T/beside.out" "only beside 1"

# Not found: says where it looked; exit 2 at compile time.
cat >"$T/nf.lua" <<LUA
template "$T/nf.out" { source = "nope.tmpl" }
LUA
apply "$T/nf.lua"
assert_code 2 "template not found"
assert_err "nf.lua:1: template[$T/nf.out]: template nope.tmpl not found (looked in $T/templates/ and $T/)"

# Errors. Each recipe first declares a file and changes the converged
# app.conf: after the error neither may have happened.
before=$(cat "$T/app.conf")
bad_recipe() { # NAME TEMPLATE-TEXT VARS
	printf '%s' "$2" >"$T/templates/$1.tmpl"
	cat >"$T/$1.lua" <<LUA
file "$T/made-before-error" { content = "x" }
template "$T/app.conf" { source = "app.conf.tmpl", vars = { sites = {}, debug = false } }
template "$T/$1.out" { source = "$1.tmpl", vars = $3 }
LUA
	apply "$T/$1.lua"
	assert_code 2 "$1"
	assert_no_file "$T/made-before-error"
	assert_no_file "$T/$1.out"
	assert_content "$T/app.conf" "$before"
}

# Syntax error: an unclosed tag.
bad_recipe unclosed $'line 1\nline 2 {{ port\nline 3\n' '{ port = 1 }'
assert_err "$T/unclosed.lua:3: template[$T/unclosed.out]: $T/templates/unclosed.tmpl:2: unclosed '{{'"

# Syntax errors in the Lua inside tags: a broken expression on line 2, a
# stray `end` on line 4.
bad_recipe lua_expr $'a\nport {{ port + }}\nb\n' '{ port = 1 }'
assert_err "$T/lua_expr.lua:3: template[$T/lua_expr.out]: $T/templates/lua_expr.tmpl:2: bad expression {{ port + }}: unexpected symbol"
bad_recipe lua_end $'a\n{% if x then %}\nb\n{% end %}{% end %}\n' '{ x = 1 }'
assert_err "$T/lua_end.lua:3: template[$T/lua_end.out]: $T/templates/lua_end.tmpl:4:"

# Undefined variable (a typo), on line 3.
bad_recipe undefined $'a\nb\nport {{ prot }}\n' '{ port = 80 }'
assert_err "$T/undefined.lua:3: template[$T/undefined.out]: $T/templates/undefined.tmpl:3: undefined variable 'prot'"

# A nil value is an error, not an empty string.
bad_recipe nilvalue $'\nname {{ site.nmae }}\n' '{ site = { name = "a" } }'
assert_err "$T/templates/nilvalue.tmpl:2: {{ site.nmae }} is nil"

# A table cannot be inserted.
bad_recipe tablevalue $'{{ site }}\n' '{ site = { name = "a" } }'
assert_err "$T/templates/tablevalue.tmpl:1: {{ site }} is a table; only strings, numbers and booleans can be inserted"

# Converge-time failure: the parent directory does not exist (exit 1).
cat >"$T/noparent.lua" <<LUA
template "$T/none/x.conf" { source = "where.tmpl" }
LUA
cp "$T/sub/where.tmpl" "$T/templates/"
apply "$T/noparent.lua"
assert_code 1 "missing parent"
assert_out "noparent.lua:1: parent directory $T/none does not exist"

finish
