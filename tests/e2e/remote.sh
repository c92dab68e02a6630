#!/bin/bash
# ccchef remote against a real sshd: first run uploads the runner, the second
# reuses it; converge then 0 updated; why-run changes nothing; names from the
# ssh config, literal user@host:port, nodes.lua with @role and run_list;
# --format json; ccchef status reads last-run.json.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"

ssh_setup
start_node n1
trust_node n1
mkdir -p "$T/k/files"
cat >"$T/k/site.lua" <<'LUA'
file(node.root .. "/motd") { content = "hello " .. node.name .. "\n" }
file(node.root .. "/shipped") { source = "shipped.txt" }
LUA
echo "shipped with the bundle" >"$T/k/files/shipped.txt"
cd "$T/k" || exit 1

# A name only the ssh config knows (no nodes.lua): needs the attribute root,
# so give it a default in a cookbook attribute file (the lowest precedence:
# inventory attributes override it), and keep a second recipe file in the
# run list.
mkdir -p "$T/k/cookbooks/defaults/attributes"
cat >"$T/k/cookbooks/defaults/attributes/default.lua" <<LUA
default.root = "$T/nodes/n1/root"
LUA
cat >"$T/k/default_root.lua" <<LUA
-- node.root comes from cookbooks/defaults/attributes/default.lua
LUA
remote n1 default_root.lua site.lua
assert_code 0 "first run"
assert_out "n1: uploaded the runner"
assert_out "n1:   updated      file[$T/nodes/n1/root/motd]"
assert_content "$T/nodes/n1/root/motd" "hello n1"
assert_content "$T/nodes/n1/root/shipped" "shipped with the bundle"
check; ls "$T/nodes/n1/cache"/runner-* >/dev/null 2>&1 || fail "no cached runner on the node"
check; sha=$(sha256sum "$RUNNER" | cut -d' ' -f1); [ -x "$T/nodes/n1/cache/runner-$sha" ] || fail "cached runner is not runner-$sha"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +2 +2 +0 " || fail "summary table row"

remote n1 default_root.lua site.lua
assert_code 0 "second run"
assert_out "n1: runner cached"
assert_not_out "uploaded the runner"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +2 +0 +0 " || fail "second run: 0 updated"

# A damaged cached runner is never run: it is uploaded again.
printf 'x' >>"$T/nodes/n1/cache/runner-$sha"
remote n1 default_root.lua site.lua
assert_code 0 "damaged cached runner"
assert_out "n1: uploaded the runner"
check; cmp -s "$RUNNER" "$T/nodes/n1/cache/runner-$sha" || fail "cached runner not replaced"

# A runner damaged on the way is refused by its hash and not cached: this
# node's `head` (first on its PATH) flips bytes as a bad link would.
mkdir -p "$T/badbin"
printf '#!/bin/sh\n/usr/bin/head "$@" | tr A B\n' >"$T/badbin/head"
chmod 755 "$T/badbin/head"
NODE_ENV="PATH=$T/badbin:/usr/bin:/bin" start_node bad
trust_node bad
remote bad default_root.lua site.lua
assert_code 1 "damaged upload"
assert_err "bad: error: uploading the runner failed: the uploaded runner does not match its sha256 ($sha)"
check; [ -z "$(ls -A "$T/nodes/bad/cache")" ] || fail "nothing may stay in the cache: $(ls -A "$T/nodes/bad/cache")"

# why-run: drift is reported with a diff, nothing is changed.
echo drift >"$T/nodes/n1/root/motd"
remote -n n1 default_root.lua site.lua
assert_code 0 "why-run"
assert_out "would-update"
assert_out "-drift"
assert_out "+hello n1"
assert_content "$T/nodes/n1/root/motd" "drift"
check; printf '%s' "$OUT" | grep -qE "^n1 +checked +2 +1 +0 " || fail "why-run row: checked, 1 would update"

# A runner whose hash differs from the cached one is uploaded again.
cp "$RUNNER" "$T/runner-copy"
printf 'x' >>"$T/runner-copy" # ELF ignores trailing bytes; the hash changes
"$CCCHEF" remote -F "$T/ssh/config" --runner "$T/runner-copy" n1 default_root.lua site.lua >"$T/.out" 2>"$T/.err"
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 0 "new runner"
assert_out "uploaded the runner"
assert_content "$T/nodes/n1/root/motd" "hello n1"

# Without --runner: the ccchef-runner beside the ccchef executable.
check; [ "$(dirname "$(realpath "$RUNNER")")" = "$(dirname "$(realpath "$CCCHEF")")" ] || fail "build layout changed"
"$CCCHEF" remote -F "$T/ssh/config" n1 default_root.lua site.lua >"$T/.out" 2>"$T/.err"
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 0 "runner found beside ccchef"
assert_out "n1: runner cached on the node (sha256 ${sha:0:12})" # the build's, not the copy's
"$CCCHEF" remote -F "$T/ssh/config" --runner "$T/no-such-runner" n1 default_root.lua site.lua >"$T/.out" 2>"$T/.err"
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 2 "missing runner"
assert_err "cannot find ccchef-runner at $T/no-such-runner"

# Literal user@host:port target, no ssh config entry needed but the keys.
port=$PORT_n1
remote "root@127.0.0.1:$port" default_root.lua site.lua
assert_code 0 "literal target"
assert_out "root@127.0.0.1:$port: runner cached"
assert_content "$T/nodes/n1/root/motd" "hello root@127.0.0.1:$port" # node.name is the target

# nodes.lua: attributes, roles (@role), the node's run_list.
start_node n2
trust_node n2
cat >"$T/k/nodes.lua" <<LUA
return {
  n1 = { host = "n1", roles = { "web" }, attributes = { root = "$T/nodes/n1/root" },
         run_list = { "site.lua" } },
  n2 = { host = "n2", roles = { "web" }, attributes = { root = "$T/nodes/n2/root" },
         run_list = { "site.lua" }, state_dir = "$T/alt-state" },
}
LUA
remote @web
assert_code 0 "@web with the nodes' run lists"
assert_out "n2:   updated      file[$T/nodes/n2/root/motd]"
assert_content "$T/nodes/n2/root/motd" "hello n2"
assert_file "$T/alt-state/last-run.json" # the inventory's state_dir
assert_no_file "$T/nodes/n2/state/last-run.json"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +2 +1 +0 " || fail "n1 row (motd back to 'hello n1')"
check; printf '%s' "$OUT" | grep -qE "^n2 +converged +2 +2 +0 " || fail "n2 row"

remote --format json n1,n2
assert_code 0 "json"
assert_out '"event":"remote_end"'
check; printf '%s' "$OUT" | python3 -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin if l.strip()]
ends = [e for e in evs if e["event"] == "run_end"]
assert sorted(e["node"] for e in ends) == ["n1", "n2"], ends
assert all(e["updated"] == 0 for e in ends), ends
last = evs[-1]
assert last["event"] == "remote_end" and [n["result"] for n in last["nodes"]] == ["converged", "converged"], last
' || fail "json events"

# Command-line attributes: -j FILE, then --attr, over nodes.lua's.
cat >"$T/k/attr.lua" <<'LUA'
file(node.root .. "/attr") { content = string.format("%s %s %s\n", node.greeting, math.type(node.web.port), node.web.port) }
LUA
echo '{"greeting": "from json", "web": {"port": 8080}}' >"$T/attrs.json"
remote -j "$T/attrs.json" n1 attr.lua
assert_code 0 "-j"
assert_content "$T/nodes/n1/root/attr" "from json integer 8080"
remote -j "$T/attrs.json" --attr greeting=cli --attr web.port=81 n1 attr.lua
assert_code 0 "--attr"
assert_content "$T/nodes/n1/root/attr" "cli integer 81"
# The kitchen on the node: a role with a roles/ file joins the node's run
# list and brings attributes; the environment and the node's attributes
# override in DESIGN.md 2.5's order; a cookbook's recipe and template.
mkdir -p "$T/k/roles" "$T/k/environments" "$T/k/cookbooks/greet/recipes" "$T/k/cookbooks/greet/templates"
cat >"$T/k/roles/web.lua" <<'LUA'
return { run_list = { "recipe:greet" }, attributes = { greet = { who = "role", tier = "role" } } }
LUA
cat >"$T/k/environments/live.lua" <<'LUA'
return { attributes = { greet = { tier = "environment" } } }
LUA
cat >"$T/k/cookbooks/greet/recipes/default.lua" <<'LUA'
template(node.root .. "/greet") { source = "greet.tmpl", vars = { g = node.greet } }
LUA
printf '{{ g.who }} {{ g.tier }} {{ g.node }}\n' >"$T/k/cookbooks/greet/templates/greet.tmpl"
cat >"$T/k/nodes.lua" <<LUA
return {
  n1 = { host = "n1", roles = { "web" }, environment = "live",
         attributes = { root = "$T/nodes/n1/root", greet = { node = "n1-attr" } } },
  n2 = { host = "n2", roles = { "web" }, attributes = { root = "$T/nodes/n2/root" },
         run_list = { "site.lua" }, state_dir = "$T/alt-state" },
}
LUA
remote n1
assert_code 0 "role and environment on the node"
assert_content "$T/nodes/n1/root/greet" "role environment n1-attr"
remote --attr greet.tier=cli n1
assert_content "$T/nodes/n1/root/greet" "role cli n1-attr"
remote n1
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +[0-9]+ +1 +0 " || fail "n1 row after --attr went away"

remote --attr =x n1 attr.lua
assert_code 2 "bad --attr"
assert_err 'expected KEY.PATH=VALUE'

# Unknown node name and a node without a run list are bad input (exit 2).
remote n1 missing.lua
assert_code 2 "missing recipe"
assert_err "recipe file missing.lua does not exist"
remote site.lua n1
assert_code 2 "recipe given as target"
assert_err "TARGETS come first"
remote @nosuchrole
assert_code 2 "unknown role"
assert_err "no node in the inventory has the role 'nosuchrole'"

# A kitchen (a directory with cookbooks/) is bundled whole: files beside the
# recipe's directory go along; the kitchen is found from the recipe.
mkdir -p "$T/kit/cookbooks" "$T/kit/site" "$T/kit/shared"
echo "from the kitchen" >"$T/kit/shared/x.txt"
cat >"$T/kit/site/web.lua" <<LUA
file("$T/nodes/n1/root/from-kitchen") { source = "../shared/x.txt" }
LUA
(cd / && "$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" n1 "$T/kit/site/web.lua" >"$T/.out" 2>"$T/.err")
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 0 "kitchen bundle"
assert_content "$T/nodes/n1/root/from-kitchen" "from the kitchen"

# A link out of the kitchen, in what the node needs, is refused before any
# node is contacted.
mkdir -p "$T/kit/site/files"
ln -s /etc "$T/kit/site/files/etc"
(cd / && "$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" n1 "$T/kit/site/web.lua" >"$T/.out" 2>"$T/.err")
CODE=$?; OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
assert_code 2 "link out of the kitchen"
assert_err "$T/kit/site/files/etc is a symbolic link to /etc, outside the kitchen"
assert_not_out "runner cached"
rm "$T/kit/site/files/etc"

# status: when, what, how it went, per node.
status_cmd n1,n2
assert_code 0 "status"
check; printf '%s' "$OUT" | grep -qE "^n1 +[0-9-]+ [0-9:]+ +converged +1 +1 +0 +site/web.lua +[0-9.]+" || fail "status n1 row"
check; printf '%s' "$OUT" | grep -qE "^n2 +[0-9-]+ [0-9:]+ +converged" || fail "status n2 row"
assert_file "$T/nodes/n1/state/last-run.json"

finish
