#!/bin/bash
# notifications: delayed ones fire once at the end of the run even when two
# resources notify the same target; "immediately" fires right after the
# notifier; subscribes; nothing fires when the notifier was not updated;
# why-run shows what would fire and runs nothing; a notification to a
# resource that does not exist is an input error (exit 2).
. "$(dirname "$0")/lib/common.sh"

LOG="$T/log"
cat >"$T/r.lua" <<LUA
local log = "$LOG"
file "$T/one.conf" { content = "one\n", notifies = { "run", "execute[restart]" } }
file "$T/two.conf" {
  content = "two\n",
  notifies = { { "run", "execute[restart]" }, { "run", "execute[reindex]", "immediately" } },
}
execute "between" { command = "echo between >> " .. log, creates = "$T/between.done" }
execute "mark between" { command = "touch $T/between.done", creates = "$T/between.done" }
execute "restart" { command = "echo restart >> " .. log, action = "nothing" }
execute "reindex" { command = "echo reindex >> " .. log, action = "nothing" }
execute "audit" {
  command = "echo audit >> " .. log,
  action = "nothing",
  subscribes = { "run", "file[$T/one.conf]" },
}
LUA

# why-run: the notifications that would fire are shown, the targets are
# reported as would-update, and nothing runs.
apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would notify execute[restart] to run at the end of the run"
assert_out "would notify execute[reindex] to run immediately"
assert_out "would notify execute[audit] to run at the end of the run"
assert_out "would-update execute[restart]"
assert_out "would-update execute[reindex]"
assert_out "would-update execute[audit]"
check; [ "$(printf '%s\n' "$OUT" | grep -c 'would-update execute\[restart\]')" = 1 ] ||
	fail "restart shown more than once under why-run"
assert_no_file "$LOG"
assert_no_file "$T/one.conf"

apply "$T/r.lua"
assert_code 0
assert_out "notifies execute[restart] to run at the end of the run"
assert_out "updated      execute[restart]: run \`echo restart >> $LOG\`  [notified by file[$T/one.conf] (delayed)]"
assert_out "updated      execute[reindex]: run \`echo reindex >> $LOG\`  [notified by file[$T/two.conf]]"
# Order: reindex right after two.conf (before "between"); restart once, at
# the end, although two resources asked for it; audit through subscribes.
assert_content "$LOG" "$(printf 'reindex\nbetween\nrestart\naudit')"

# Second run: nothing changed, so nothing fires.
apply "$T/r.lua"
assert_code 0 "second run"
assert_summary 0 0
assert_not_out "notifies"
assert_content "$LOG" "$(printf 'reindex\nbetween\nrestart\naudit')"

# Only the notifier that changed notifies: drift in two.conf fires restart
# (delayed) and reindex (immediately), not audit (subscribed to one.conf).
echo drift >"$T/two.conf"
apply -n "$T/r.lua"
assert_out "would notify execute[restart]"
assert_not_out "would notify execute[audit]"
assert_content "$T/two.conf" "drift"
apply "$T/r.lua"
assert_summary 3 0
assert_content "$LOG" "$(printf 'reindex\nbetween\nrestart\naudit\nreindex\nrestart')"

# A notification to a resource that does not exist: exit 2 naming the file
# and line of the notifier, with a suggestion; nothing is changed.
cat >"$T/bad.lua" <<LUA
file "$T/made-before-error" { content = "x\n" }
file "$T/three.conf" {
  content = "three\n",
  notifies = { "run", "execute[restrat]" },
}
execute "restart" { command = "true", action = "nothing" }
LUA
apply "$T/bad.lua"
assert_code 2 "unknown notification target"
assert_err "bad.lua:2: file[$T/three.conf]: notifies execute[restrat], which is not declared in this run (did you mean 'execute[restart]'?)"
assert_no_file "$T/made-before-error"
assert_no_file "$T/three.conf"

# An action the target does not have: exit 2.
cat >"$T/bad2.lua" <<LUA
file "$T/made-before-error" { content = "x\n" }
execute "restart" { command = "true", action = "nothing" }
file "$T/three.conf" { content = "three\n", notifies = { "reload", "execute[restart]" } }
LUA
apply "$T/bad2.lua"
assert_code 2 "unknown notification action"
assert_err "bad2.lua:3: file[$T/three.conf]: notifies execute[restart]: execute[restart] has no action 'reload'"
assert_no_file "$T/made-before-error"

# subscribes to a resource that does not exist: exit 2 naming the subscriber.
cat >"$T/bad3.lua" <<LUA
execute "audit" { command = "true", action = "nothing", subscribes = { "run", "file[$T/nope]" } }
LUA
apply "$T/bad3.lua"
assert_code 2 "unknown subscription source"
assert_err "bad3.lua:1: execute[audit]: subscribes to file[$T/nope], which is not declared in this run"

# Immediate notifications that come back round fail instead of recursing.
cat >"$T/loop.lua" <<LUA
execute "a" { command = "echo a >> $T/loop.log", notifies = { "run", "execute[b]", "immediately" } }
execute "b" { command = "echo b >> $T/loop.log", action = "nothing", notifies = { "run", "execute[a]", "immediately" } }
LUA
apply "$T/loop.lua"
assert_code 1 "immediate loop"
assert_out "immediate notifications go round in a loop: execute[a] -> execute[b] -> execute[a]"
assert_content "$T/loop.log" "$(printf 'a\nb')"

finish
