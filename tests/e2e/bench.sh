#!/bin/bash
# tools/bench still runs: tiny N, one repetition, inside this test's
# temporary directory. It checks the counts ccchef reports for each run
# (N+N/10 updated first, 0 on the no-op, 20% on the repair), so this also
# proves the bench exercises what it claims. No timing is asserted.
. "$(dirname "$0")/lib/common.sh"
BENCH="$(cd "$(dirname "$0")/../.." && pwd)/tools/bench"

run_cmd "$BENCH" -n 20 -r 1 --baseline-sizes=20 --dir "$T" "$CCCHEF"
assert_code 0 "tools/bench"
assert_out "ccchef first converge (fsync)"
assert_out "ccchef no-op converge"
assert_out "ccchef repair 10% content + 10% mode"
assert_out "bare write loop, fsync (python)"
assert_out "shell cmp loop, no-op check"
assert_out "syscall floor of a no-op (C)"
assert_out "N=20 no-op / syscall floor: wall"
check; [ "$(printf '%s\n' "$OUT" | grep -c ' 20 ')" -ge 6 ] || fail "six rows for N=20"
# It cleans up after itself: nothing but common.sh's own files is left in $T.
check; [ -z "$(find "$T" -mindepth 1 -maxdepth 1 -name 'ccchef-bench.*')" ] || fail "bench left its temporary directory"

# --compare: another binary's no-op, alternating with the first's, and the ratio.
run_cmd "$BENCH" -n 20 -r 1 -k noop --baseline-sizes= --dir "$T" --compare "$CCCHEF" "$CCCHEF"
assert_code 0 "tools/bench --compare"
assert_out "--compare no-op converge"
assert_out "N=20 no-op / --compare no-op: wall"

# A wrong binary is refused with a message, not a traceback.
"$BENCH" -n 20 -r 1 --dir "$T" "$T/nonexistent" >"$T/.out" 2>"$T/.err"
CODE=$?
OUT=$(cat "$T/.out")
ERR=$(cat "$T/.err")
check; [ "$CODE" != 0 ] || fail "a missing binary must fail"
assert_err "is not an executable"
finish
