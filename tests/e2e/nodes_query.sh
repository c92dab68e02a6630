#!/bin/bash
# nodes("role:X") in recipes (lua/ccchef/node_query.lua): the inventory
# entries with that role, sorted naturally, for the run's environment unless
# asked otherwise; the same answer under `apply` (the kitchen's nodes.lua)
# and `remote` (the controller's compile selects the entries; the node's
# bundle carries only those), checked through the parity harness; what a
# recipe cannot see (user, run_list, state_dir; other entries on the node);
# what the node's bundle holds (the selected entries, not the inventory);
# bad queries are exit 2.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/parity.sh"

parity_setup
cd "$K" || exit 1
mkdir -p "$K/cookbooks/lb/recipes" "$K/environments"
echo 'return {}' >"$K/environments/live.lua"
echo 'return {}' >"$K/environments/staging.lua"
cat >"$K/nodes.lua" <<'LUA'
return {
  n1 = { host = "n1", roles = { "lb" }, environment = "live" },
  engine10 = { host = "10.0.0.10", port = 8010, roles = { "engine" }, environment = "live",
               user = "deploy", run_list = { "recipe:app" }, state_dir = "/srv/state",
               attributes = { weight = 3, app = { version = "v2" } } },
  engine2 = { host = "10.0.0.2", roles = { "engine", "web" }, environment = "live" },
  engine1 = { roles = { "engine" }, environment = "live" },
  stage1 = { host = "10.1.0.1", roles = { "engine" }, environment = "staging" },
  db1 = { host = "10.0.0.50", roles = { "db" }, environment = "live", attributes = { password = "s3cret" } },
}
LUA
cat >"$K/cookbooks/lb/recipes/default.lua" <<'LUA'
local function show(list)
  local lines = {}
  for _, n in ipairs(list) do
    local attrs = {}
    for k in pairs(n.attributes) do attrs[#attrs + 1] = k end
    table.sort(attrs)
    lines[#lines + 1] = string.format("%s host=%s port=%s env=%s roles=%s attrs=%s weight=%s user=%s run_list=%s state_dir=%s",
      n.name, n.host, tostring(n.port), tostring(n.environment), table.concat(n.roles or {}, "+"),
      table.concat(attrs, "+"), tostring(n.attributes.weight), tostring(n.user), tostring(n.run_list),
      tostring(n.state_dir))
  end
  return table.concat(lines, "\n") .. "\n"
end
local engines = nodes("role:engine")
engines[1].attributes.weight = 99 -- a copy: the next query is not changed
file(node.root .. "/engines") { content = show(nodes("role:engine")), backup = false }
file(node.root .. "/any") { content = show(nodes("role:engine", { environment = "any" })), backup = false }
file(node.root .. "/staging") { content = show(nodes("role:engine", { environment = "staging" })), backup = false }
file(node.root .. "/named") { content = show(nodes("name:engine2")), backup = false }
file(node.root .. "/none") { content = show(nodes("role:nothing")), backup = false }
-- A lazy value runs at converge time, on the node under remote: the same
-- query is answered from what the bundle carries.
file(node.root .. "/lazy") { content = function() return show(nodes("role:engine")) end, backup = false }
LUA

PARITY_APPLY_ARGS="-N n1"
parity first recipe:lb
assert_eq "$LCODE" 0 "first run"
parity_updated 6
assert_content "$RROOT/engines" "engine1 host=engine1 port=nil env=live roles=engine attrs= weight=nil user=nil run_list=nil state_dir=nil
engine2 host=10.0.0.2 port=nil env=live roles=engine+web attrs= weight=nil user=nil run_list=nil state_dir=nil
engine10 host=10.0.0.10 port=8010 env=live roles=engine attrs=app+weight weight=3 user=nil run_list=nil state_dir=nil"
assert_content "$RROOT/lazy" "$(cat "$RROOT/engines")"
check; [ "$(head -1 "$RROOT/any")" = "engine1 host=engine1 port=nil env=live roles=engine attrs= weight=nil user=nil run_list=nil state_dir=nil" ] ||
	fail "any: $(cat "$RROOT/any")"
check; [ "$(wc -l <"$RROOT/any")" = 4 ] || fail "any environment: $(cat "$RROOT/any")"
assert_content "$RROOT/staging" "stage1 host=10.1.0.1 port=nil env=staging roles=engine attrs= weight=nil user=nil run_list=nil state_dir=nil"
assert_content "$RROOT/named" "engine2 host=10.0.0.2 port=nil env=live roles=engine+web attrs= weight=nil user=nil run_list=nil state_dir=nil"
assert_content "$RROOT/none" ""

parity second recipe:lb
parity_updated 0

# The environment of the run: -E staging selects the staging engines.
parity staging -E staging recipe:lb
assert_eq "$LCODE" 0 "-E staging"
check; [ "$(head -1 "$RROOT/engines")" = "stage1 host=10.1.0.1 port=nil env=staging roles=engine attrs= weight=nil user=nil run_list=nil state_dir=nil" ] ||
	fail "-E staging: $(cat "$RROOT/engines")"

# Adding a node to the inventory adds it to the answer, on both sides.
sed -i 's|^}$|  engine3 = { host = "10.0.0.3", roles = { "engine" }, environment = "live" },\n}|' "$K/nodes.lua"
parity added recipe:lb
parity_updated 4
check; grep -q "^engine3 host=10.0.0.3" "$RROOT/engines" || fail "engine3 not in the answer: $(cat "$RROOT/engines")"

# What the node cannot see: an entry no compile-time query selected. A
# lazy value asking another query on the node is refused, saying why; the
# same recipe under apply (which has the kitchen's nodes.lua) answers it.
cat >"$K/peek.lua" <<'LUA'
nodes("role:engine")
file(node.root .. "/peek") { content = function() return tostring(#nodes("role:db")) end }
LUA
remote --attr "root=$RROOT" n1 peek.lua
assert_code 1 "a query the controller never ran"
assert_out "nodes(\"role:db\") for environment live was not asked when the controller compiled this run"
assert_no_file "$RROOT/peek"
apply --attr "root=$LROOT" -k "$K" -N n1 peek.lua
assert_code 0 "apply sees the kitchen's inventory"
assert_content "$LROOT/peek" "1"
rm -f "$LROOT/peek"

# What the node is sent: its bundle's run.json (read on the node by a lazy
# value, from the bundle directory the runner converges in) holds the
# entries the query selected, and not db1, its password or anyone's user.
cat >"$K/sent.lua" <<'LUA'
nodes("role:engine")
file(node.root .. "/sent") {
  content = function()
    local j = read_file("run.json") or ""
    local function has(s) return tostring(j:find(s, 1, true) ~= nil) end
    return string.format("engine10=%s engine3=%s db1=%s secret=%s user=%s staging=%s\n", has('"engine10"'),
      has('"engine3"'), has('"db1"'), has("s3cret"), has('"deploy"'), has('"stage1"'))
  end,
}
LUA
remote --attr "root=$RROOT" n1 sent.lua
assert_code 0 "sent"
assert_content "$RROOT/sent" "engine10=true engine3=true db1=false secret=false user=false staging=false"
rm -f "$RROOT/sent"

# Bad queries: exit 2 at the recipe's line, before anything is touched.
for bad in 'nodes("engine")|unsupported query' \
	'nodes(42)|expected a query string' \
	'nodes("role:engine", { env = "x" })|unknown option '"'"'env'"'"'' \
	'nodes("role:engine", { environment = "" })|environment must be a name'; do
	printf 'file(node.root .. "/never") { content = "x" }\n%s\n' "${bad%%|*}" >"$K/bad.lua"
	parity bad bad.lua
	assert_eq "$LCODE" 2 "bad query ${bad%%|*}"
	check; grep -qF '"file": "bad.lua", "kind": "input", "line": 2' <<<"$LOUT" || fail "line of ${bad%%|*}: $LOUT"
	check; grep -qF "${bad##*|}" <<<"$LOUT" || fail "message for ${bad%%|*}: $LOUT"
	assert_no_file "$LROOT/never"
done

finish
