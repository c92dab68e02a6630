#!/bin/bash
# execute resource: creates, returns, cwd, environment, user (a real system
# user), timeout (the whole process group killed), a command waiting on a
# prompt fails instead of hanging, live_stream, captured output shown on
# failure, second converge 0 updated, why-run runs nothing, bad input.
. "$(dirname "$0")/lib/common.sh"

# `nobody` must reach $T/pub; mktemp made $T private.
chmod 0711 "$T"
mkdir -m 0777 "$T/pub" "$T/wd"

cat >"$T/r.lua" <<LUA
execute "make marker" {
  command = "pwd > marker; echo \"\$GREETING \$NUMBER\" >> marker",
  cwd = "$T/wd",
  environment = { GREETING = "hello world", NUMBER = 42 },
  creates = "$T/wd/marker",
}
execute "as nobody" {
  command = "id -u > $T/pub/uid; id -g >> $T/pub/uid; echo \$HOME \$USER \$LOGNAME > $T/pub/env",
  user = "nobody",
  creates = "$T/pub/uid",
}
execute "accepted exit code" {
  command = "touch $T/rc3; exit 3",
  returns = { 0, 3 },
  not_if = "test -e $T/rc3",
}
LUA

apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update execute[make marker]: run \`pwd > marker"
assert_out "would-update execute[as nobody]"
assert_summary 3 0
assert_no_file "$T/wd/marker"
assert_no_file "$T/pub/uid"
assert_no_file "$T/rc3"

apply "$T/r.lua"
assert_code 0
assert_summary 3 0
assert_content "$T/wd/marker" "$(printf '%s\nhello world 42' "$T/wd")"
assert_content "$T/pub/uid" "$(printf '%s\n%s' "$(id -u nobody)" "$(id -g nobody)")"
assert_content "$T/pub/env" "$(getent passwd nobody | cut -d: -f6) nobody nobody"
check; [ "$(stat -c %U "$T/pub/uid")" = nobody ] || fail "file written by the command is not nobody's"
assert_file "$T/rc3"

apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0

# Without creates or a guard, a command runs on every converge (as in
# Chef); the name is the command, so the line does not repeat it.
cat >"$T/always.lua" <<LUA
execute "echo run >> $T/always.log" {}
LUA
apply "$T/always.lua"
apply "$T/always.lua"
assert_summary 1 0
assert_out "updated      execute[echo run >> $T/always.log]: run"
assert_not_out "run \`echo"
assert_content "$T/always.log" "$(printf 'run\nrun')"

# A non-zero exit fails the run (exit 1) and shows the captured output of
# both streams; the resources after it do not run.
cat >"$T/fail.lua" <<LUA
execute "diagnose" {
  command = "echo checking things; echo 'E: disk on fire' >&2; exit 4",
  returns = { 0, 3 },
}
execute "touch $T/after-failure" {}
LUA
apply "$T/fail.lua"
assert_code 1 "non-zero exit"
assert_out "failed       execute[diagnose]"
assert_out "fail.lua:1: command exited 4 (expected 0 or 3)"
assert_out "| checking things"
assert_out "| E: disk on fire"
assert_summary 0 1
assert_out "1 not run"
assert_no_file "$T/after-failure"

# Timeout: the command and everything it started are killed; exit 1 with
# a message and the output so far.
cat >"$T/timeout.lua" <<LUA
execute "slow" {
  command = "echo started; sleep 300 & echo \$! > $T/child.pid; wait",
  timeout = 1,
}
LUA
apply "$T/timeout.lua"
assert_code 1 "timeout"
assert_out "timeout.lua:1: command timed out after 1 s (killed)"
assert_out "| started"
# Killed means gone or a zombie (orphans are reaped by whoever PID 1 is).
check; child=$(cat "$T/child.pid" 2>/dev/null)
if [ -z "$child" ]; then
	fail "the command did not record its child's PID"
elif st=$(cut -d' ' -f3 "/proc/$child/stat" 2>/dev/null) && [ "$st" != Z ]; then
	track_pid "$child"
	fail "the command's child $child survived the timeout (state $st)"
fi
# The default timeout comes from --command-timeout.
cat >"$T/timeout2.lua" <<LUA
execute "sleep 300" {}
LUA
apply --command-timeout 1 "$T/timeout2.lua"
assert_code 1 "--command-timeout"
assert_out "command timed out after 1 s (killed)"

# A command that waits on a prompt gets end-of-file and fails, even when
# ccchef's own stdin is a pipe that stays open; /dev/tty is not there either.
# (No timing assertion: if it hung, the test's timeout would catch it.)
mkfifo "$T/stdin"
sleep 300 >"$T/stdin" &
track_pid $!
cat >"$T/prompt.lua" <<LUA
execute "read answer; test -n \"\$answer\"" {}
LUA
apply "$T/prompt.lua" <"$T/stdin"
assert_code 1 "prompt on stdin"
assert_out "command exited 1 (expected 0)"
cat >"$T/tty.lua" <<LUA
execute "read answer </dev/tty" {}
LUA
apply "$T/tty.lua" <"$T/stdin"
assert_code 1 "prompt on /dev/tty"
assert_out "/dev/tty"

# live_stream: the output appears as it comes (on stderr, so a JSON event
# stream on stdout stays clean), each line marked.
cat >"$T/stream.lua" <<LUA
execute "streamed" { command = "echo line one; echo line two >&2", live_stream = true }
execute "quiet" { command = "echo quiet-output | tr a-z A-Z" }
LUA
apply "$T/stream.lua"
assert_code 0 "live_stream"
assert_err "  output of execute[streamed]:"
assert_err "    | line one"
assert_err "    | line two"
assert_not_out "QUIET-OUTPUT"
check; ! printf '%s' "$ERR" | grep -q "QUIET-OUTPUT" || fail "output of a command without live_stream was shown"

# Converge-time bad input: an unknown user (exit 1, file and line).
cat >"$T/nouser.lua" <<LUA
execute "touch $T/as-nouser" { user = "no-such-user-ccchef" }
LUA
apply "$T/nouser.lua"
assert_code 1 "unknown user"
assert_out "nouser.lua:1: user 'no-such-user-ccchef' does not exist"
assert_no_file "$T/as-nouser"

# cwd that does not exist: the command cannot start (exit 1).
cat >"$T/nocwd.lua" <<LUA
execute "true" { cwd = "$T/no-such-dir" }
LUA
apply "$T/nocwd.lua"
assert_code 1 "missing cwd"
assert_out "nocwd.lua:1: command could not start"

# Compile-time bad input: exit 2, nothing runs.
cat >"$T/bad.lua" <<LUA
execute "touch $T/ran-before-error" {}
execute "true" { returns = "zero" }
LUA
apply "$T/bad.lua"
assert_code 2 "returns as a string"
assert_err "bad.lua:2: execute[true]: property 'returns': expected an exit code or a list of them"
assert_no_file "$T/ran-before-error"
cat >"$T/bad2.lua" <<LUA
execute "touch $T/ran-before-error" {}
execute "true" { timeout = -1 }
LUA
apply "$T/bad2.lua"
assert_code 2 "negative timeout"
assert_err "bad2.lua:2: execute[true]: property 'timeout': timeout must be positive"
assert_no_file "$T/ran-before-error"

finish
