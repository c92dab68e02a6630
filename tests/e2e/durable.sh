#!/bin/bash
# Durable notifications: a run that fails after a delayed notification was
# queued saves it in the state directory; the next run replays it (once)
# and removes the file; why-run neither consumes nor writes it. The journal
# is written ahead of the change, so a run killed with SIGKILL loses
# nothing either; a torn or corrupt journal is read as far as it parses; a
# failed save (ENOSPC) does not claim it saved. (Signals: signals.sh; many
# kills at random points: crash.sh.)
. "$(dirname "$0")/lib/common.sh"

# $T/await FILE: wait for FILE, at most 30 s, so a command a test leaves
# behind (ccchef finishes its current command on SIGTERM) always ends.
cat >"$T/await" <<'SH'
n=0
while [ ! -e "$1" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
SH

LOG="$T/reload.log"
PENDING="$STATE/pending-notifications.journal"
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
check; grep -q '"ref":"execute\[reload\]"' "$PENDING" 2>/dev/null || fail "pending file lacks execute[reload]: $(cat "$PENDING" 2>/dev/null)"
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
check; grep -q '"ref":"execute\[reload\]"' "$PENDING" 2>/dev/null || fail "failed notification not kept pending"

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

cat >"$PENDING" <<JSON
{"op":"queued","timing":"delayed","action":"run","ref":"execute[gone]","from":"file[/x]"}
JSON
apply "$T/r.lua"
assert_code 0 "stale pending entry"
assert_err "dropping pending notification run execute[gone]: that resource is not in this run"
assert_no_file "$PENDING"

# The file an earlier ccchef wrote (a Lua table) is still replayed, once.
cat >"$STATE/pending-notifications.lua" <<LUA
{ { action = "run", ref = "execute[reload]", from = "file[/x]" } }
LUA
: >"$LOG"
apply "$T/r.lua"
assert_code 0 "legacy pending file"
assert_content "$LOG" "reload"
assert_no_file "$STATE/pending-notifications.lua"

# wait_for FILE: poll until it exists, bounded (30 s).
wait_for() {
	for _ in $(seq 1 300); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# Killed with SIGKILL after the change, before the end of the run: the
# delayed notification (and an immediate one whose target was running) is
# in the journal, and the next run fires each once more.
: >"$LOG"
cat >"$T/k.lua" <<LUA
file "$T/k1" { content = "new\n", notifies = { "run", "execute[reload]" } }
file "$T/k2" { content = "new\n", notifies = { "run", "execute[now]", "immediately" } }
execute "reload" { command = "echo reload >> $LOG", action = "nothing" }
execute "now" { command = "echo now >> $LOG; echo \$\$ > $T/blocked.pid; sh $T/await $T/never",
  action = "nothing" }
LUA
"$CCCHEF" apply --state-dir "$STATE" "$T/k.lua" >/dev/null 2>&1 &
VICTIM=$!
track_pid "$VICTIM"
check; wait_for "$T/blocked.pid" || fail "the run did not reach execute[now]"
sleep 0.1 # the PID is written
kill -9 "$VICTIM"
wait "$VICTIM" 2>/dev/null
# The command outlives ccchef (proc.c says why): stop the group it leads.
BLOCKED=$(cat "$T/blocked.pid" 2>/dev/null)
[ -n "$BLOCKED" ] && kill -- "-$BLOCKED" 2>/dev/null
assert_content "$T/k1" "new"
check; grep -q '"ref":"execute\[reload\]"' "$PENDING" 2>/dev/null || fail "journal lacks execute[reload] after kill -9: $(cat "$PENDING" 2>/dev/null)"
check; grep -q '"timing":"immediately"' "$PENDING" 2>/dev/null || fail "journal lacks the immediate notification: $(cat "$PENDING" 2>/dev/null)"
sed -i 's|echo \$\$ > .*never",|true",|' "$T/k.lua"
apply -l info "$T/k.lua"
assert_code 0 "recovery after kill -9"
assert_summary 2 0
assert_out "replaying run execute[reload], left pending by a failed run (from file[$T/k1])"
assert_out "replaying run execute[now], left pending by a failed run (from file[$T/k2])"
check; [ "$(grep -c reload "$LOG")" = 1 ] || fail "reload fired $(grep -c reload "$LOG") times, want 1"
check; [ "$(grep -c now "$LOG")" = 2 ] || fail "now ran $(grep -c now "$LOG") times, want 2 (killed, replayed)"
assert_no_file "$PENDING"
apply "$T/k.lua"
assert_summary 0 0
check; [ "$(grep -c reload "$LOG")" = 1 ] || fail "reload fired again on a clean run"

# A journal torn by a kill in the middle of a write, or corrupted: what
# parses is kept, the rest is reported, the run never fails for it.
: >"$LOG"
{
	echo '{"op":"queued","timing":"delayed","action":"run","ref":"execute[reload]","from":"file[/a]"}'
	echo 'garbage that is not JSON'
	echo '{"op":"queued","timing":"delayed","action":"run","ref":"execute[now]","from":"file[/b]"}'
	echo '{"op":"fired","timing":"delayed","action":"run","ref":"execute[now]"}'
	echo '["not","a","record"]'
	printf '{"op":"queued","timing":"delayed","action":"ru'
} >"$PENDING"
apply -l info "$T/k.lua"
assert_code 0 "torn journal"
assert_err "ignoring 2 unreadable records in $PENDING (first on line 2)"
assert_err "ignoring an incomplete last record in $PENDING (a run was killed while writing it)"
assert_out "replaying run execute[reload]"
assert_not_out "replaying run execute[now]"
assert_content "$LOG" "reload"
assert_no_file "$PENDING"

# Binary garbage instead of a journal: warned about, not fatal.
head -c 4096 /dev/urandom | tr -d '\n' >"$PENDING"
echo >>"$PENDING"
apply "$T/k.lua"
assert_code 0 "binary journal"
assert_err "ignoring unreadable record on line 1 of $PENDING"
assert_no_file "$PENDING"

# A failed save must not say "saved": the state directory on a file system
# that fills up (a tmpfs this test mounts, as root; skipped otherwise).
if [ "$(id -u)" = 0 ] && mkdir "$T/full" && mount -t tmpfs -o size=64k tmpfs "$T/full" 2>/dev/null; then
	FULL="$T/full"
	EXTRA_CLEANUP="umount '$FULL' 2>/dev/null"
	# (a) The disk fills after the change (the failing resource fills it):
	# the journal written ahead still holds the notification; the final
	# rewrite fails and says so, and the next run replays it.
	: >"$LOG"
	recipe 4040 "dd if=/dev/zero of=$FULL/filler bs=4k 2>/dev/null; false"
	rm -f "$T/later.done"
	run apply --state-dir "$FULL" --backup-dir "$T/backup" --no-color "$T/r.lua"
	assert_code 1 "disk filled during the run"
	assert_out "updated      template[$T/app.conf]"
	assert_err "cannot save pending notifications: cannot write $FULL/pending-notifications.journal: No space left on device"
	assert_err "the run failed before execute[reload] could run (notified by template[$T/app.conf]); the journal $FULL/pending-notifications.journal still holds it (written before the change), it will fire on the next run"
	check; ! printf '%s\n%s' "$OUT" "$ERR" | grep -q "saved in" || fail "a failed save says it saved"
	rm -f "$FULL/filler"
	recipe 4040 "true"
	run apply --state-dir "$FULL" --backup-dir "$T/backup" --no-color "$T/r.lua"
	assert_code 0 "after the disk was freed"
	assert_content "$LOG" "reload"
	assert_no_file "$FULL/pending-notifications.journal"
	# (b) Full before the run: nothing can be written ahead. Either the
	# change is refused, or it is made and the warning says plainly that
	# the notification is NOT saved; never "saved".
	dd if=/dev/zero of="$FULL/filler" bs=4k 2>/dev/null
	recipe 5050 "false"
	rm -f "$T/later.done"
	run apply --state-dir "$FULL" --backup-dir "$T/backup" --no-color "$T/r.lua"
	assert_code 1 "failed run, disk full"
	check; ! printf '%s\n%s' "$OUT" "$ERR" | grep -q "saved in" || fail "a failed save says it saved"
	if printf '%s' "$OUT" | grep -qF "updated      template[$T/app.conf]"; then
		assert_err "cannot record pending notifications before the change: cannot write $FULL/pending-notifications.journal: No space left on device"
		assert_err "the run failed before execute[reload] could run (notified by template[$T/app.conf]); NOT saved, it will not fire on the next run: run it by hand"
	else
		assert_out "failed       template[$T/app.conf]"
		assert_not_out "updated      template"
	fi
	umount "$FULL" && EXTRA_CLEANUP=""
else
	echo "note: not root or no tmpfs: the ENOSPC case is not checked"
fi

finish
