#!/bin/bash
# Durable notifications: a run that fails after a delayed notification was
# queued saves it in the state directory; the next run replays it (once)
# and removes the file; why-run neither consumes nor writes it.
. "$(dirname "$0")/lib.sh"

LOG="$T/reload.log"
PENDING="$STATE/pending-notifications.lua"
mkdir "$T/templates"
printf 'port = {{ port }}\n' >"$T/templates/app.conf.tmpl"
# LATER is the command of a resource after the notifier: `false` makes the
# run fail before the delayed notification fires.
recipe() { # PORT LATER
	cat >"$T/r.lua" <<LUA
template "$T/app.conf" {
  source = "app.conf.tmpl",
  vars = { port = $1 },
  notifies = { "run", "execute[reload]" },
}
execute "reload" { command = "echo reload >> $LOG", action = "nothing" }
execute "later" { command = "$2", not_if = "test -e $T/later.done" }
LUA
}

recipe 80 "touch $T/later.done"
apply "$T/r.lua"
assert_code 0 "first run"
assert_content "$LOG" "reload"
assert_no_file "$PENDING"

# The config changes, then a later resource fails.
rm "$T/later.done"
recipe 8080 "false"
apply "$T/r.lua"
assert_code 1 "failed run"
assert_content "$T/app.conf" "port = 8080"
assert_out "failed       execute[later]"
assert_content "$LOG" "reload"
assert_file "$PENDING"
check; grep -q 'ref = "execute\[reload\]"' "$PENDING" 2>/dev/null || fail "pending file lacks execute[reload]: $(cat "$PENDING" 2>/dev/null)"
assert_err "the run failed before execute[reload] could run (notified by template[$T/app.conf]); saved in $PENDING, it will fire on the next run"
saved=$(cat "$PENDING")

# why-run shows the replay as would-update but neither runs nor consumes it.
recipe 8080 "touch $T/later.done"
apply -n "$T/r.lua"
assert_code 0 "why-run"
assert_out "would-update execute[reload]"
assert_out "notified by template[$T/app.conf] in an earlier run that failed"
assert_content "$LOG" "reload"
assert_eq "$(cat "$PENDING" 2>/dev/null)" "$saved" "pending file after why-run"

# The fix: the next run replays the notification once and removes the file,
# although the template itself is already up to date.
apply -l info "$T/r.lua"
assert_code 0 "replay run"
assert_out "replaying run execute[reload], left pending by a failed run"
assert_out "updated      execute[reload]"
assert_content "$LOG" "$(printf 'reload\nreload')"
assert_no_file "$PENDING"

apply "$T/r.lua"
assert_code 0 "after replay"
assert_summary 0 0
assert_content "$LOG" "$(printf 'reload\nreload')"

# A failing notified resource stays pending itself.
recipe 9090 "true"
sed -i "s|echo reload >> $LOG|exit 7|" "$T/r.lua"
apply "$T/r.lua"
assert_code 1 "notified resource fails"
assert_out "command exited 7"
check; grep -q 'ref = "execute\[reload\]"' "$PENDING" 2>/dev/null || fail "failed notification not kept pending"

# why-run of a run that fails after the notifier (a file resource whose
# path is a directory fails even in why-run) does not write the pending
# file either.
rm -f "$PENDING"
recipe 7070 "true"
mkdir -p "$T/a-directory"
echo "file \"$T/a-directory\" { content = \"x\" }" >>"$T/r.lua"
apply -n "$T/r.lua"
assert_code 1 "why-run of a failing run"
assert_out "would notify execute[reload]"
assert_out "$T/a-directory is a directory, not a file"
assert_no_file "$PENDING"

# A pending notification whose resource left the recipe is dropped with a
# warning, not an error.
recipe 7070 "true"
apply "$T/r.lua"
cat >"$PENDING" <<LUA
{ { action = "run", ref = "execute[gone]", from = "file[/x]" } }
LUA
apply "$T/r.lua"
assert_code 0 "stale pending entry"
assert_err "dropping pending notification run execute[gone]: that resource is not in this run"
assert_no_file "$PENDING"

finish
