#!/bin/bash
# The crash test (issue 9, DESIGN.md 4 "Nothing lost", "Durable
# notifications"): a converge of 1000 files, each notifying one delayed
# execute, is killed with SIGKILL at KILLS points spread over a full run by
# a seeded RNG (the same points every time). After each kill:
#   - every managed file is wholly old or wholly new (no torn file);
#   - if any file already has the new content, the notification is either
#     in the journal or has already fired (it was on disk before the change);
# then a recovery run succeeds, every file is new, the notification has
# fired for this generation at least once, and no temporary file
# .NAME.ccchef-XXXXXX is left in the tree. The counts are printed at the end.
# Bounded: KILLS iterations of at most two runs of ~1000 files each.
. "$(dirname "$0")/lib/common.sh"

KILLS=${CRASH_KILLS:-50}
SEED=${CRASH_SEED:-20261130}
# A private machine lock: this test takes it ~100 times in a row, other
# suites on the machine must not starve waiting for it.
export CCCHEF_MACHINE_LOCK="$T/machine.lock"
# The tree and the state directory on a tmpfs of this test's own when it
# can mount one (root): fsync there costs nothing, so the ~100 runs fit in
# the time limit on a loaded machine; what a kill -9 can break (the order
# of writes and renames) is the same on any file system.
if [ "$(id -u)" = 0 ] && mkdir "$T/mnt" && mount -t tmpfs -o size=256m tmpfs "$T/mnt" 2>/dev/null; then
	EXTRA_CLEANUP="umount '$T/mnt' 2>/dev/null"
	STATE="$T/mnt/state"
	TREE="$T/mnt/tree"
else
	TREE="$T/tree"
fi
LOG="$T/fired.log"
PENDING="$STATE/pending-notifications.journal"
mkdir -p "$TREE"

# recipe GEN: 1000 files whose content depends on the generation; sizes
# vary from a few bytes to 64 KiB.
recipe() {
	cat >"$T/r.lua" <<LUA
local gen = $1
for d = 0, 9 do
  directory("$TREE/d" .. d) {}
  for i = 0, 99 do
    local n = d * 100 + i
    local body = string.format("generation %d of file %d\n", gen, n)
      .. string.rep(string.format("a line of file %d\n", n), n % 50)
    if n % 100 == 7 then body = body .. string.rep("x", 65536) .. "\n" end
    file("$TREE/d" .. d .. "/f" .. i) { content = body, notifies = { "run", "execute[log]" } }
  end
end
execute "log" { command = "echo fired " .. gen .. " >> $LOG", action = "nothing" }
LUA
}

# check_tree OLD NEW: prints "new old" counts; exits 1 on a torn file (or
# one that is neither generation).
check_tree() {
	python3 - "$TREE" "$1" "$2" <<'PY'
import os, sys
tree, old, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def body(gen, n):
    b = "generation %d of file %d\n" % (gen, n) + ("a line of file %d\n" % n) * (n % 50)
    if n % 100 == 7:
        b += "x" * 65536 + "\n"
    return b.encode()
counts = {"new": 0, "old": 0}
bad = []
for n in range(1000):
    path = "%s/d%d/f%d" % (tree, n // 100, n % 100)
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        data = None
    if data == body(new, n):
        counts["new"] += 1
    elif data == body(old, n) or (data is None and old < 0):
        counts["old"] += 1
    else:
        bad.append(path)
print(counts["new"], counts["old"])
if bad:
    print("torn or foreign content: %s" % ", ".join(bad[:5]), file=sys.stderr)
    sys.exit(1)
PY
}

temp_files() { find "$TREE" -name '.*.ccchef-*' | wc -l; }

# Generation 0 creates the files; generation 1 changes them all, timed:
# the kill points are fractions of that.
recipe 0
apply "$T/r.lua"
assert_code 0 "first run"
check; check_tree -1 0 >/dev/null || fail "first run left a bad tree"
recipe 1
t0=$(date +%s%N)
apply "$T/r.lua"
t1=$(date +%s%N)
assert_code 0 "first full change"
FULL_MS=$(((t1 - t0) / 1000000))
check; check_tree 0 1 >/dev/null || fail "first change left a bad tree"

RANDOM=$SEED
kills=0 mid=0 fired_total=0 journal_held=0 temps_after_kill=0 temps_after_recovery=0 torn=0
for gen in $(seq 2 $((KILLS + 1))); do
	recipe "$gen"
	# A point between 5% and 115% of a full run (past the end: the run
	# finished before the kill, which must hold too).
	delay_ms=$((FULL_MS * (5 + RANDOM % 111) / 100))
	"$CCCHEF" apply --state-dir "$STATE" "$T/r.lua" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	kills=$((kills + 1))

	counts=$(check_tree $((gen - 1)) "$gen") || {
		torn=$((torn + 1))
		fail "kill $gen (at $delay_ms ms): a file is neither old nor new"
	}
	new=${counts% *} old=${counts#* }
	[ "$new" -gt 0 ] && [ "$old" -gt 0 ] && mid=$((mid + 1))
	temps_after_kill=$((temps_after_kill + $(temp_files)))
	# Written ahead: once a file is new, the notification is on disk or done.
	if [ "${new:-0}" -gt 0 ]; then
		if grep -q '"ref":"execute\[log\]"' "$PENDING" 2>/dev/null; then
			journal_held=$((journal_held + 1))
		else
			check; grep -qx "fired $gen" "$LOG" 2>/dev/null ||
				fail "kill $gen (at $delay_ms ms): $new files changed, the notification is neither in the journal nor fired"
		fi
	fi

	apply "$T/r.lua"
	OUT=$(printf '%s\n' "$OUT" | grep -v '^ ' | tail -5) # failures show the summary, not 1000 lines
	check; [ "$CODE" = 0 ] || fail "recovery run after kill $gen: exit $CODE"
	check; counts=$(check_tree $((gen - 1)) "$gen") && [ "${counts% *}" = 1000 ] ||
		fail "after the recovery run $gen: $counts"
	n=$(grep -cx "fired $gen" "$LOG" 2>/dev/null)
	check; [ "${n:-0}" -ge 1 ] || fail "kill $gen (at $delay_ms ms): the notification never fired for generation $gen"
	fired_total=$((fired_total + ${n:-0}))
	assert_no_file "$PENDING"
	left=$(temp_files)
	temps_after_recovery=$((temps_after_recovery + left))
	check; [ "$left" = 0 ] || fail "kill $gen: $left temporary files left after the recovery run: $(find "$TREE" -name '.*.ccchef-*' | head -3)"
	find "$TREE" -name '.*.ccchef-*' -delete # one failure is counted once
done
EXTRA_CLEANUP=""
umount "$T/mnt" 2>/dev/null

echo "crash test: full run $FULL_MS ms; $kills kills (seed $SEED), $mid in the middle of the files," \
	"$torn torn; notification in the journal after $journal_held kills;" \
	"notifications fired $fired_total times for $kills generations;" \
	"temporary files: $temps_after_kill left by kills, $temps_after_recovery after recovery runs"
finish
