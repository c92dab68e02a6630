#!/bin/bash
# Cleanup on nodes (docs/remote.md, "Cleanup on the node"): an upload keeps
# the new runner and the most recent other one in the cache, older ones
# are removed; the private directories of killed runs (ccchef-run.PID.HEX6,
# ours, the PID gone) are removed by the next run, relative to $TMPDIR and
# never through a link; anything else is left alone.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
NODE_ENV="TMPDIR=$T/nodes/n1/tmp" start_node n1
trust_node n1
tmp="$T/nodes/n1/tmp"
cache="$T/nodes/n1/cache"
mkdir -p "$tmp" "$T/outside" "$T/k"
echo precious >"$T/outside/keep"
cat >"$T/k/site.lua" <<LUA
file("$T/nodes/n1/root/motd") { content = "hello\n" }
LUA
cd "$T/k" || exit 1

# Three old runners, oldest first.
old() { printf '%064d' "$1"; }
for i in 1 2 3; do
	echo "old $i" >"$cache/runner-$(old $i)"
	touch -d "-$((10 - i)) min" "$cache/runner-$(old $i)"
done
echo "not ours" >"$cache/notes.txt"
touch -d "-20 min" "$cache/notes.txt"

# A PID that no longer runs, and one that does (this shell).
sleep 0 &
dead=$!
wait "$dead"
stale="$tmp/ccchef-run.$dead.abc123"
mkdir -p "$stale/cookbooks/sub"
echo secret >"$stale/cookbooks/sub/attrs"
ln -s "$T/outside" "$stale/cookbooks/escape"
ln -s "$T/outside/keep" "$stale/link-to-file"
mkdir "$tmp/ccchef-run.$$.abc123"                   # a live PID
mkdir "$tmp/ccchef-run.$dead.abc1234"               # not the exact name
ln -s "$T/outside" "$tmp/ccchef-run.$dead.def456"   # a link, not a directory
mkdir "$tmp/ccchef-run.$dead.fed654"                # someone else's
chown nobody "$tmp/ccchef-run.$dead.fed654"

remote n1 site.lua
assert_code 0 "converge"
assert_out "n1: uploaded the runner"
sha=$(sha256sum "$RUNNER" | cut -d' ' -f1)
assert_file "$cache/runner-$sha"
assert_file "$cache/runner-$(old 3)"
assert_no_file "$cache/runner-$(old 2)"
assert_no_file "$cache/runner-$(old 1)"
assert_file "$cache/notes.txt"

assert_no_file "$stale"
assert_content "$T/outside/keep" "precious"
check; [ -d "$tmp/ccchef-run.$$.abc123" ] || fail "a live PID's directory was removed"
check; [ -d "$tmp/ccchef-run.$dead.abc1234" ] || fail "a directory of another name was removed"
check; [ -L "$tmp/ccchef-run.$dead.def456" ] || fail "a link was removed"
check; [ -d "$tmp/ccchef-run.$dead.fed654" ] || fail "another user's directory was removed"
check; [ -z "$(ls -d "$tmp"/ccchef-run.*.?????? 2>/dev/null | grep -v -e "\.$$\.abc123\$" -e def456 -e fed654)" ] ||
	fail "the run's own directory was left: $(ls "$tmp")"

# A run that was killed for real (the runner kept its directory, as with
# --keep, and its PID is gone): the next run removes it.
tar -C "$T/k" -cf "$T/b.tar" site.lua 2>/dev/null
printf '{"run_list":["site.lua"]}' >"$T/run.json"
tar -C "$T" -rf "$T/b.tar" run.json
TMPDIR="$tmp" "$RUNNER" --keep --state-dir "$T/state" <"$T/b.tar" >/dev/null 2>&1
kept=$(ls -d "$tmp"/ccchef-run.* | grep -v -e "\.$$\.abc123\$" -e abc1234 -e def456 -e fed654)
check; [ -n "$kept" ] && [ -d "$kept" ] || fail "--keep left no directory"
remote n1 site.lua
assert_code 0 "second run"
assert_no_file "$kept"

finish
