# tests/e2e/lib/parity.sh: run one kitchen both ways and compare (DESIGN.md
# 4, "Remote is apply"). Source after common.sh and sshd.sh.
#
# `ccchef apply` runs on this machine with its own state directory and
# node.root = $T/local/root; `ccchef remote` runs through a real sshd on
# loopback (node n1, its own state directory and runner cache) with
# node.root = $T/nodes/n1/root. Both get the same kitchen ($K), the same
# run list and options; root is their only difference and is given as
# --attr root=... on both command lines. parity ARGS... then asserts:
#   - the same exit code;
#   - the same JSON events (durations, times and the node's name aside;
#     the remote-only events bootstrap, host_key and remote_end left out;
#     each root path written as ROOT, each state directory as STATE);
#   - the same files under each root (type, mode, content), or what
#     $PARITY_TREE says of each root when a test sets it (a function given
#     the root: e.g. the packages pip lists in a virtualenv, whose files
#     name their own path);
#   - the same last-run.json (time, duration and node aside), or none on
#     both sides.
#
#   parity_setup              sshd node n1, the kitchen directory $K
#   parity NAME ARGS...       run both ways; sets LCODE, RCODE, LOUT, ROUT
#                             (the normalized event lines); $PARITY_APPLY_ARGS
#                             are given to apply only (-N n1: the inventory
#                             entry remote uses for target n1)
#   parity_updated N          both runs reported N updated
K="$T/k"
LROOT="$T/local/root"
LSTATE="$T/local/state"
RROOT="$T/nodes/n1/root"
RSTATE="$T/nodes/n1/state"

parity_setup() {
	ssh_setup
	start_node n1
	trust_node n1
	mkdir -p "$K" "$LROOT" "$LSTATE"
}

# Events as comparable lines: one JSON object per line, keys sorted.
normalize_events() { # FILE ROOT STATE_DIR
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, root, state = sys.argv[1], sys.argv[2], sys.argv[3]
skip = {"bootstrap", "host_key", "remote_end"}
def clean(v):
    if isinstance(v, str):
        return v.replace(root, "ROOT").replace(state, "STATE")
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if k not in ("duration", "time", "node")}
    return v
for line in open(path):
    line = line.strip()
    if not line:
        continue
    try:
        ev = json.loads(line)
    except ValueError:
        print("NOT JSON: " + line)
        continue
    if ev.get("event") in skip:
        continue
    print(json.dumps(clean(ev), sort_keys=True))
PY
}

# Files under a root: path, type, mode, content hash.
tree_of() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m\n' | sort | while read -r p y m; do
		if [ "$y" = f ]; then echo "$p $y $m $(sha256sum <"$p" | cut -c1-16)"
		elif [ "$y" = l ]; then echo "$p $y $(readlink "$p" | sed "s|$1|ROOT|")"
		else echo "$p $y $m"; fi
	done)
}

last_run_of() { # STATE_DIR ROOT
	if [ ! -e "$1/last-run.json" ]; then echo "none"; return; fi
	python3 - "$1/last-run.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
root = sys.argv[2]
def clean(v):
    if isinstance(v, str):
        return v.replace(root, "ROOT")
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if k not in ("duration", "time", "node")}
    return v
print(json.dumps(clean(d), sort_keys=True))
PY
}

parity() {
	local name=$1
	shift
	rm -f "$LSTATE/last-run.json" "$RSTATE/last-run.json"
	# shellcheck disable=SC2086 # PARITY_APPLY_ARGS: words for apply only (-N n1)
	(cd "$K" && "$CCCHEF" apply --state-dir "$LSTATE" --no-color --format json --attr "root=$LROOT" \
		${PARITY_APPLY_ARGS:-} "$@" \
		>"$T/$name.local.json" 2>"$T/$name.local.err")
	LCODE=$?
	(cd "$K" && "$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" --no-color --format json \
		--attr "root=$RROOT" n1 "$@" >"$T/$name.remote.json" 2>"$T/$name.remote.err")
	RCODE=$?
	LOUT=$(normalize_events "$T/$name.local.json" "$LROOT" "$LSTATE")
	ROUT=$(normalize_events "$T/$name.remote.json" "$RROOT" "$RSTATE")
	OUT="apply: $LOUT"$'\n'"remote: $ROUT"
	ERR="apply: $(cat "$T/$name.local.err")"$'\n'"remote: $(cat "$T/$name.remote.err")"
	check; [ "$LCODE" = "$RCODE" ] || fail "$name: exit codes differ: apply $LCODE, remote $RCODE"
	check; [ "$LOUT" = "$ROUT" ] ||
		fail "$name: events differ: $(diff <(printf '%s\n' "$LOUT") <(printf '%s\n' "$ROUT"))"
	local lt rt tree=${PARITY_TREE:-tree_of}
	lt=$("$tree" "$LROOT")
	rt=$("$tree" "$RROOT")
	check; [ "$lt" = "$rt" ] ||
		fail "$name: files differ ($tree): $(diff <(printf '%s\n' "$lt") <(printf '%s\n' "$rt"))"
	lt=$(last_run_of "$LSTATE" "$LROOT")
	rt=$(last_run_of "$RSTATE" "$RROOT")
	check; [ "$lt" = "$rt" ] || fail "$name: last-run.json differs: apply $lt, remote $rt"
}

# updated_of EVENTS: the updated count of the last run_end ("none" if none).
updated_of() {
	printf '%s\n' "$1" | python3 -c '
import json, sys
ends = [json.loads(l) for l in sys.stdin if "\"run_end\"" in l]
print(ends[-1]["updated"] if ends else "none")'
}

# parity_updated N: the run_end of both sides says N updated.
parity_updated() {
	check; [ "$(updated_of "$LOUT")" = "$1" ] || fail "apply: want $1 updated, got $(updated_of "$LOUT")"
	check; [ "$(updated_of "$ROUT")" = "$1" ] || fail "remote: want $1 updated, got $(updated_of "$ROUT")"
}
