# tests/e2e/lib/common.sh: shared helpers for end-to-end tests. Source it first.
# Each test gets its own temporary world ($T) removed on exit, even when it
# fails; processes a test starts must be registered with `track_pid` so they
# are killed (by PID) on exit too.
set -u

: "${CCCHEF:?CCCHEF must point at the ccchef binary}"
T=$(mktemp -d /tmp/ccchef-e2e.XXXXXX)
STATE="$T/state"
# Each test is its own world, so its runs take their own machine-wide lock:
# on the shared /run/ccchef.lock, tests of parallel suites (and of other
# checkouts on this machine) queued behind each other and timed out under
# load. e2e-lock tests the real path explicitly.
export CCCHEF_MACHINE_LOCK="$T/machine.lock"
TRACKED_PIDS=""
FAILS=0
CHECKS=0
SKIPPED=""

cleanup() {
	for pid in $TRACKED_PIDS; do kill "$pid" 2>/dev/null; done
	[ -n "${EXTRA_CLEANUP:-}" ] && eval "$EXTRA_CLEANUP"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

track_pid() { TRACKED_PIDS="$TRACKED_PIDS $1"; }

# A TCP port on 127.0.0.1 that nothing answers on now, below the kernel's
# ephemeral range (32768-) so outgoing connections do not hold it. Another
# process may still take it first: a caller that binds it retries (sshd's
# start_node, lib/haproxy.sh's engine_start).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# run_cmd PROGRAM ARGS...: any program; sets OUT, ERR and CODE.
run_cmd() {
	"$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# run ARGS...: ccchef itself (any command); sets OUT, ERR and CODE.
run() { run_cmd "$CCCHEF" "$@"; }

# apply ARGS...: run `ccchef apply` with this test's state dir; sets OUT
# (stdout), ERR (stderr) and CODE.
apply() { run apply --state-dir "$STATE" --no-color "$@"; }

fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL: $*" >&2
	echo "  --- stdout:" >&2
	printf '%s\n' "${OUT:-}" | sed 's/^/  /' >&2
	echo "  --- stderr:" >&2
	printf '%s\n' "${ERR:-}" | sed 's/^/  /' >&2
}

check() { CHECKS=$((CHECKS + 1)); }

assert_code() { check; [ "$CODE" = "$1" ] || fail "${2:-exit code}: want $1, got $CODE"; }
assert_out() { check; printf '%s' "$OUT" | grep -qF -- "$1" || fail "stdout lacks: $1"; }
assert_not_out() { check; ! printf '%s' "$OUT" | grep -qF -- "$1" || fail "stdout has: $1"; }
assert_err() { check; printf '%s' "$ERR" | grep -qF -- "$1" || fail "stderr lacks: $1"; }
assert_eq() { check; [ "$1" = "$2" ] || fail "${3:-value}: want '$2', got '$1'"; }
assert_file() { check; [ -e "$1" ] || fail "missing file $1"; }
assert_no_file() { check; [ ! -e "$1" ] && [ ! -L "$1" ] || fail "file should not exist: $1"; }
assert_content() { check; [ "$(cat "$1" 2>/dev/null)" = "$2" ] || fail "content of $1: want '$2', got '$(cat "$1" 2>/dev/null)'"; }
assert_mode() { check; m=$(stat -c %a "$1" 2>/dev/null); [ "$m" = "$2" ] || fail "mode of $1: want $2, got $m"; }
# assert_summary UPDATED FAILED: the human summary line's counts
assert_summary() {
	check
	printf '%s' "$OUT" | grep -qE "[0-9]+ resources, $1 (updated|would update), $2 failed" ||
		fail "summary: want $1 updated, $2 failed"
}

# have_fixture PATH: true when PATH (under $SHARED/fixtures) exists. In a
# fresh clone ../shared is absent: the parts that need it are skipped, with
# the line "skipped: fixture not present", and finish exits 77 (meson counts
# the test as skipped) unless a check failed.
have_fixture() {
	[ -e "$1" ] && return 0
	echo "skipped: fixture not present ($1)"
	SKIPPED="$SKIPPED $1"
	return 1
}

# The last thing a test calls.
finish() {
	if [ "$FAILS" -gt 0 ]; then
		echo "$FAILS of $CHECKS checks failed" >&2
		exit 1
	fi
	echo "all $CHECKS checks passed"
	if [ -n "$SKIPPED" ]; then
		echo "skipped: fixture not present:$SKIPPED"
		exit 77
	fi
	exit 0
}
