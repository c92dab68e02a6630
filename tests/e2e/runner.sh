#!/bin/bash
# ccchef-runner: needs nothing but glibc (its dynamic dependencies), converges
# a bundle read from stdin (first run, second run 0 updated, why-run), writes
# last-run.json, and refuses bundle entries that escape its directory.
. "$(dirname "$0")/lib/common.sh"
: "${RUNNER:?RUNNER must point at ccchef-runner}"

# Only glibc's own libraries may be needed: the node has nothing else.
check
needed=$(readelf -d "$RUNNER" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
for lib in $needed; do
	case "$lib" in
	libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-*.so.*) ;;
	*) fail "ccchef-runner needs $lib (NEEDED: $needed)" ;;
	esac
done
check
ldd "$RUNNER" | grep -vE '^\s*(linux-vdso|/lib64/ld-linux|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so)' |
	grep -q . && fail "ldd shows more than glibc: $(ldd "$RUNNER")"
OUT=$("$RUNNER" --version); CODE=$?
assert_code 0 "--version"
assert_out "ccchef-runner "

# The runner embeds the converge path, not the controller's modules (their
# names are the keys of the embedded module table).
check; grep -aq 'ccchef\.converge' "$RUNNER" || fail "the runner lacks ccchef.converge"
for m in cli remote remote_node bundle scaffold; do
	check; ! grep -aqE "ccchef\.$m([^_a-z]|\$)" "$RUNNER" || fail "the runner embeds ccchef.$m"
done

# runner ARGS < tar: sets OUT, ERR, CODE
runner() {
	"$RUNNER" --state-dir "$STATE" "$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

mkdir -p "$T/k/files" "$T/dest"
cat >"$T/k/site.lua" <<'LUA'
file(node.root .. "/motd") { content = "hello from " .. node.name .. "\n" }
file(node.root .. "/copy") { source = "shipped.txt", mode = "0600" }
LUA
echo shipped >"$T/k/files/shipped.txt"
echo "{\"run_list\":[\"site.lua\"],\"inventory\":{\"n1\":{\"attributes\":{\"root\":\"$T/dest\"}}},\"node_name\":\"n1\"}" >"$T/k/run.json"
tar -C "$T/k" -cf "$T/bundle.tar" .

runner <"$T/bundle.tar"
assert_code 0 "first run"
assert_out '"event":"run_end"'
assert_out '"updated":2'
assert_out '"file":"site.lua"'
assert_content "$T/dest/motd" "hello from n1"
assert_content "$T/dest/copy" "shipped"
assert_mode "$T/dest/copy" 600
assert_file "$STATE/last-run.json"
check; python3 - "$STATE/last-run.json" <<'PY' || fail "last-run.json content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["run_list"] == ["site.lua"], d
assert d["updated"] == 2 and d["failed"] == 0 and d["success"] is True, d
assert d["version"] and d["time"] > 0 and d["node"] == "n1", d
PY

runner <"$T/bundle.tar"
assert_code 0 "second run"
assert_out '"updated":0'

echo drift >"$T/dest/motd"
echo "{\"run_list\":[\"site.lua\"],\"inventory\":{\"n1\":{\"attributes\":{\"root\":\"$T/dest\"}}},\"node_name\":\"n1\",\"why_run\":true}" >"$T/k/run.json"
tar -C "$T/k" -cf "$T/why.tar" .
runner <"$T/why.tar"
assert_code 0 "why-run"
assert_out '"status":"would-update"'
assert_content "$T/dest/motd" "drift"

# The private directory is removed after the run; --keep leaves it (debugging).
TMPDIR="$T/tmp"; export TMPDIR; mkdir -p "$TMPDIR"
runner <"$T/bundle.tar"
check; [ -z "$(ls "$TMPDIR")" ] || fail "private directory left behind: $(ls "$TMPDIR")"
runner --keep <"$T/bundle.tar"
check; d=$(ls -d "$TMPDIR"/ccchef-run.* 2>/dev/null); [ -n "$d" ] && [ "$(stat -c %a "$d")" = 700 ] ||
	fail "private directory should exist with mode 700: $d"
unset TMPDIR

# A recipe failure is exit 1 and recorded.
cat >"$T/k/site.lua" <<'LUA'
execute "boom" { command = "exit 3" }
LUA
echo '{"run_list":["site.lua"]}' >"$T/k/run.json"
tar -C "$T/k" -cf "$T/fail.tar" .
runner <"$T/fail.tar"
assert_code 1 "failing recipe"
check; grep -q '"failed_resources":\[{' "$STATE/last-run.json" && grep -q 'execute\[boom\]' "$STATE/last-run.json" ||
	fail "last-run.json lacks the failed resource: $(cat "$STATE/last-run.json")"

# Crafted bundles: every escape is refused before anything lands outside.
python3 - "$T" <<'PY'
import io, sys, tarfile
t = sys.argv[1]
def make(name, info, data=None):
    with tarfile.open(f"{t}/{name}.tar", "w", format=tarfile.GNU_FORMAT) as tf:
        tf.addfile(tarfile.TarInfo("run.json"), io.BytesIO(b""))
        if data is not None:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        else:
            tf.addfile(info)
i = tarfile.TarInfo("sub/../../escaped"); make("dotdot", i, b"x")
i = tarfile.TarInfo(f"{t}/absolute"); make("absolute", i, b"x")
i = tarfile.TarInfo("sub/link"); i.type = tarfile.SYMTYPE; i.linkname = "../../outside"; make("symlink", i)
i = tarfile.TarInfo("abslink"); i.type = tarfile.SYMTYPE; i.linkname = "/etc"; make("abslink", i)
i = tarfile.TarInfo("hard"); i.type = tarfile.LNKTYPE; i.linkname = "../outside"; make("hardlink", i)
i = tarfile.TarInfo("fifo"); i.type = tarfile.FIFOTYPE; make("fifo", i)
PY
for kind in dotdot:"path with a '..' component" absolute:"absolute path" symlink:"symbolic link pointing outside" \
	abslink:"symbolic link pointing outside" hardlink:"hard link pointing outside" fifo:"not a file, directory or link"; do
	name=${kind%%:*}
	runner <"$T/$name.tar"
	assert_code 2 "$name bundle"
	assert_err "refused: ${kind#*:}"
	assert_out '"event":"error"'
done
assert_no_file "$T/escaped"
assert_no_file "$T/absolute"
assert_no_file "$T/outside"

# Bad options in run.json are bad input, not a crash.
echo '{"run_list":["site.lua"],"log_level":"loud"}' >"$T/k/run.json"
tar -C "$T/k" -cf "$T/badopt.tar" .
runner <"$T/badopt.tar"
assert_code 2 "bad log level in run.json"
assert_out '"event":"error"'
assert_out "--log-level must be"

# Not a tar at all.
head -c 2000 /dev/urandom >"$T/garbage.tar"
runner <"$T/garbage.tar"
assert_code 2 "garbage bundle"
assert_err "ccchef-runner: error: bundle"

finish
