#!/bin/bash
# ccchef under valgrind: memory errors and definite/indirect leaks fail the
# run (exit 99). Covers a first converge of every built-in resource type
# (file, directory, link, template, execute with delayed and immediate
# notifications, guards), the no-op second run, why-run with diffs, JSON
# output, a converge failure, bad input at compile time, a template error,
# a held lock, facts and help.
. "$(dirname "$0")/lib/common.sh"

if ! command -v valgrind >/dev/null; then
	echo "valgrind is not installed (tools/install-deps test installs it)" >&2
	exit 1
fi

N=0
# vg WANT_CODE ARGS...: run `ccchef ARGS` under valgrind; the exit code must
# be ccchef's own (99 is valgrind's for an error) and the log must say
# 0 errors.
vg() {
	want=$1
	shift
	N=$((N + 1))
	log="$T/vg.$N.log"
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 --log-file="$log" \
		"$CCCHEF" "$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	assert_code "$want" "valgrind ccchef $*"
	check
	grep -q "ERROR SUMMARY: 0 errors" "$log" || fail "valgrind errors in ccchef $*:
$(cat "$log")"
	check
	if grep -q "definitely lost:" "$log"; then
		grep -qE "definitely lost: 0 bytes in 0 blocks" "$log" &&
			grep -qE "indirectly lost: 0 bytes in 0 blocks" "$log" ||
			fail "leaks in ccchef $*:
$(cat "$log")"
	fi
}

mkdir -p "$T/templates"
cat >"$T/templates/site.conf.tmpl" <<'TMPL'
# {{ name }}
{% for _, s in ipairs(sites) do -%}
site {{ s.host }} {{ s.port }}
{% end -%}
{# a comment #}
host {{ node.hostname }}
TMPL
W="$T/world"
cat >"$T/all.lua" <<LUA
directory "$W" { mode = "0755" }
directory "$W/deep/er" { recursive = true, mode = "0750" }
file "$W/motd" { content = "hello\n", mode = "0640", backup = 2 }
file "$W/copy" { source = "$T/templates/site.conf.tmpl" }
file "$W/lazy" { content = function() return "made at converge\n" end }
template "$W/site.conf" {
  source = "site.conf.tmpl",
  vars = { name = "test", sites = { { host = "a", port = 80 }, { host = "b", port = 81 } } },
  notifies = { { "run", "execute[delayed]" }, { "run", "execute[immediate]", "immediately" } },
}
link "$W/current" { to = "$W/site.conf" }
execute "delayed" { command = "echo delayed >> $W/log", action = "nothing" }
execute "immediate" { command = "echo immediate >> $W/log", action = "nothing" }
execute "guarded" { command = "echo never >> $W/log", not_if = "test -e $W/motd" }
execute "lua guard" { command = "echo never >> $W/log", only_if = function() return false end }
execute "once" { command = "echo once; touch $W/once", creates = "$W/once", cwd = "$W",
  environment = { GREETING = "hi" } }
execute "subscriber" { command = "echo subscriber >> $W/log", action = "nothing",
  subscribes = { "run", "file[$W/motd]" } }
file "$W/gone" { action = "delete" }
LUA

vg 0 apply --state-dir "$STATE" --no-color "$T/all.lua"
assert_summary 11 0
# Delayed notifications run in the order they were queued: motd (line 3)
# changed before site.conf.
assert_content "$W/log" "$(printf 'immediate\nsubscriber\ndelayed')"
assert_file "$W/current"
vg 0 apply --state-dir "$STATE" --no-color "$T/all.lua"
assert_summary 0 0

# Drift, then why-run (diffs) in both formats, then the repair with backups.
echo changed >"$W/motd"
echo changed >"$W/site.conf"
vg 0 apply -n --state-dir "$STATE" --no-color "$T/all.lua"
assert_out "+hello"
vg 0 apply -n --state-dir "$STATE" --format json "$T/all.lua"
assert_out '"status":"would-update"'
vg 0 apply --state-dir "$STATE" --no-color --format json -l debug "$T/all.lua"
assert_out '"backup":'

# A converge failure (execute exits non-zero, output captured) and a
# missing parent directory.
cat >"$T/fail.lua" <<LUA
file "$W/f1" { content = "x", notifies = { "run", "execute[never]" } }
execute "never" { command = "true", action = "nothing" }
execute "fails" { command = "echo some output; exit 3" }
LUA
vg 1 apply --state-dir "$STATE" --no-color "$T/fail.lua"
assert_out "| some output"
cat >"$T/noparent.lua" <<LUA
file "$W/no/such/dir/f" { content = "x" }
LUA
vg 1 apply --state-dir "$STATE" "$T/noparent.lua"

# A command killed by its timeout (ignored), one streaming its output, one
# as another user, and one that cannot start (cwd missing).
cat >"$T/exec.lua" <<LUA
execute "sleep 30" { timeout = 0.3, ignore_failure = true }
execute "echo streamed" { live_stream = true }
execute "id -un" { user = "nobody" }
execute "pwd" { cwd = "$W/no/such/dir" }
LUA
vg 1 apply --state-dir "$STATE" --no-color "$T/exec.lua"
assert_out "timed out"
assert_err "streamed"
assert_err "cwd $W/no/such/dir does not exist"

# Bad input: compile-time errors of several kinds.
cat >"$T/bad.lua" <<LUA
file "$W/bad" { content = "x" }
file "$W/m" { mode = 644 }
LUA
vg 2 apply --state-dir "$STATE" "$T/bad.lua"
assert_err "property 'mode'"
printf 'file "%s/x" { content = "x"\n' "$W" >"$T/syntax.lua"
vg 2 apply --state-dir "$STATE" "$T/syntax.lua"
printf 'local a\nfile "%s/x" { content = a .. "x" }\n' "$W" >"$T/runtime.lua"
vg 2 apply --state-dir "$STATE" "$T/runtime.lua"
printf 'listen {{ nope }}\n' >"$T/templates/undef.tmpl"
printf 'template "%s/t" { source = "undef.tmpl" }\n' "$W" >"$T/tmpl.lua"
vg 2 apply --state-dir "$STATE" "$T/tmpl.lua"
assert_err "undefined variable 'nope'"
vg 2 apply --state-dir "$STATE" "$T/does-not-exist.lua"
vg 2 apply --bogus "$T/all.lua"
vg 2 nosuchcommand

# Facts, help, version.
vg 0 facts
vg 0 help apply
vg 0 --version

echo "$N valgrind runs"
finish
