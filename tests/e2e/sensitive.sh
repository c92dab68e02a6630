#!/bin/bash
# sensitive = true: no output or error ever shows the resource's guard
# commands, property values, content or diff -- human output at -l debug,
# --format json, stderr, and last-run.json -- whether the guard skips,
# a lazy value fails, returns the wrong type, or a compile-time check
# quotes the value. "(sensitive)" is said instead.
. "$(dirname "$0")/lib/common.sh"

SECRET="s3cr3t-$$-value"

# no_secret: the secret is nowhere in the last run's output or state
# (backups of a replaced file excepted: they keep its old content, on
# purpose, in a 0700 directory; checked below).
no_secret() {
	check
	if printf '%s\n%s' "$OUT" "$ERR" | grep -qF "$SECRET"; then fail "$CASE: the secret was shown"; fi
	check
	if [ -d "$STATE" ] && grep -rqF --exclude-dir=backup "$SECRET" "$STATE" 2>/dev/null; then fail "$CASE: the secret is in $STATE"; fi
}

# each_format ARGS...: run apply with ARGS at -l debug and with --format
# json -l debug, calling no_secret and the assertions in $ASSERT after each.
each_format() {
	apply -l debug "$@"
	no_secret
	eval "$ASSERT"
	apply --format json -l debug "$@"
	no_secret
	eval "$ASSERT"
}

# 1. Guards: skipped by a command, the reason does not show the command.
cat >"$T/guards.lua" <<LUA
execute "deploy" { command = "true", sensitive = true, only_if = "test -n '$SECRET' && false" }
execute "rotate" { command = "true", sensitive = true, not_if = "test -n '$SECRET'" }
file "$T/g" { content = "x", sensitive = true, only_if = function() error("$SECRET") end }
LUA
CASE=guards
ASSERT='assert_code 1 "$CASE"; assert_out "(sensitive)"; assert_out "only_if raised an error (sensitive"'
each_format "$T/guards.lua"
apply -n -l debug "$T/guards.lua"
no_secret
assert_out "skipped      execute[deploy] (only_if (sensitive) failed)"
assert_out "skipped      execute[rotate] (not_if (sensitive) succeeded)"

# The same resources, not sensitive, do show the command (the hiding is
# the flag's doing).
sed 's/sensitive = true, //' "$T/guards.lua" >"$T/open.lua"
apply -n -l debug "$T/open.lua"
check
printf '%s' "$OUT$ERR" | grep -qF "$SECRET" || fail "open: the command should be shown"

# 2. Lazy values: raising, returning nil + message, returning the wrong
# type, each with the secret in the message or value.
cat >"$T/lazy_raise.lua" <<LUA
file "$T/l1" { sensitive = true, content = function() error("token=$SECRET") end }
LUA
CASE=lazy_raise
ASSERT='assert_code 1 "$CASE"; assert_out "lazy property '"'"'content'"'"' failed (sensitive"'
each_format "$T/lazy_raise.lua"
assert_no_file "$T/l1"

cat >"$T/lazy_nil.lua" <<LUA
file "$T/l2" { sensitive = true, content = function() return nil, "$SECRET" end }
LUA
CASE=lazy_nil
ASSERT='assert_code 1 "$CASE"; assert_out "returned nil (sensitive"'
each_format "$T/lazy_nil.lua"

cat >"$T/lazy_type.lua" <<LUA
file "$T/l3" { sensitive = true, mode = function() return "$SECRET" end, content = "x" }
LUA
CASE=lazy_type
ASSERT='assert_code 1 "$CASE"; assert_out "the value is not valid (sensitive"'
each_format "$T/lazy_type.lua"

# 3. A compile-time check that would quote the value.
cat >"$T/compile.lua" <<LUA
file "$T/c" { content = { "$SECRET" }, sensitive = true }
LUA
CASE=compile_table
ASSERT='assert_code 2 "$CASE"'
each_format "$T/compile.lua"
cat >"$T/compile2.lua" <<LUA
file "$T/c" { mode = "$SECRET", sensitive = true }
LUA
CASE=compile_mode
ASSERT='assert_code 2 "$CASE"; assert_err "value hidden: sensitive"'
each_format "$T/compile2.lua"

cat >"$T/compile3.lua" <<LUA
apache_site "s" { conf_dir = "$T/apache2", port = 80, server_name = "$SECRET\nInclude /x", sensitive = true }
LUA
CASE=compile_apache
ASSERT='assert_code 2 "$CASE"; assert_err "property '"'"'server_name'"'"': the value is not valid (value hidden: sensitive)"'
each_format "$T/compile3.lua"
CASE=compile_table_hint
apply "$T/compile.lua"
assert_err "property 'content': expected a string, got table"

# 4. Content and diff of a sensitive file, created and then changed.
cat >"$T/content.lua" <<LUA
file "$T/secret.conf" { content = "password=$SECRET\n", sensitive = true, mode = "0600" }
LUA
CASE=content
apply -n -l debug "$T/content.lua"
no_secret
apply --format json -l debug "$T/content.lua"
no_secret
assert_code 0 "$CASE"
assert_content "$T/secret.conf" "password=$SECRET"
SECRET2="$SECRET-2"
sed "s/$SECRET/$SECRET2/" "$T/content.lua" >"$T/content2.lua"
apply -l debug "$T/content2.lua"
no_secret
check
if printf '%s' "$OUT$ERR" | grep -qF "$SECRET2"; then fail "content2: the new secret was shown"; fi
assert_code 0 "content2"
check
[ "$(stat -c %a "$STATE/backup")" = 700 ] || fail "backup directory is not 0700"

finish
