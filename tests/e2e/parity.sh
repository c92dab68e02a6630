#!/bin/bash
# Parity (DESIGN.md 4, "Remote is apply"): the same kitchen converged with
# `ccchef apply` here and with `ccchef remote` through a loopback sshd gives
# the same files, events, exit codes, last-run.json and second-run
# "0 updated" (tests/e2e/lib/parity.sh). Cases: a kitchen with roles, an
# environment and cookbook attributes; a custom resource; a template; a
# notification; --attr read one way; bad input.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/parity.sh"

parity_setup
cd "$K" || exit 1
mkdir -p "$K/cookbooks/web/recipes" "$K/cookbooks/web/attributes" "$K/cookbooks/web/templates" \
	"$K/cookbooks/web/files" "$K/cookbooks/web/resources" "$K/roles" "$K/environments"
cat >"$K/cookbooks/web/attributes/default.lua" <<'LUA'
default.web.port = 80
default.web.greeting = "hello"
LUA
cat >"$K/roles/frontend.lua" <<'LUA'
return { run_list = { "recipe:web" }, attributes = { web = { greeting = "from the role" } } }
LUA
cat >"$K/environments/live.lua" <<'LUA'
return { attributes = { web = { port = 8080 } } }
LUA
cat >"$K/cookbooks/web/templates/site.conf.tmpl" <<'TMPL'
Listen {{ port }}
# {{ greeting }}
TMPL
echo "static file" >"$K/cookbooks/web/files/static.txt"
cat >"$K/cookbooks/web/resources/page.lua" <<'LUA'
return {
  properties = { body = { type = "string", required = true }, root = { type = "string", required = true } },
  actions = {
    create = function(r)
      file(r.root .. "/pages/" .. r.name .. ".html") { content = "<p>" .. r.body .. "</p>\n" }
    end,
  },
}
LUA
cat >"$K/cookbooks/web/recipes/default.lua" <<'LUA'
directory(node.root .. "/pages") {}
template(node.root .. "/site.conf") {
  source = "site.conf.tmpl",
  vars = { port = node.web.port, greeting = node.web.greeting },
  notifies = { { "run", "execute[reload]" } },
}
file(node.root .. "/static.txt") { source = "static.txt", mode = "0640" }
web_page "index" { body = node.web.greeting, root = node.root }
execute "reload" {
  command = "echo reloaded >> " .. node.root .. "/reloads",
  action = "nothing",
}
print("compiled web for port " .. tostring(node.web.port))
LUA

# First run: everything created, the notification fires; second run: 0
# updated, nothing fires; why-run: nothing would change.
parity first -E live role:frontend
assert_eq "$LCODE" 0 "first run"
parity_updated 5
assert_content "$LROOT/site.conf" $'Listen 8080\n# from the role'
assert_content "$RROOT/reloads" "reloaded"
parity second -E live role:frontend
assert_eq "$LCODE" 0 "second run"
parity_updated 0
parity whyrun -n -E live role:frontend
parity_updated 0

# The node's lines, with remote's human output: prefixed with its name, a
# recipe's print() at the default log level, a summary line.
remote --attr "root=$RROOT" -E live n1 role:frontend
assert_code 0 "human"
assert_out "n1: compiled web for port 8080"
assert_out "n1: 5 resources, 0 updated, 0 failed"

# Durable notifications: a run that fails after a change leaves its delayed
# notification pending; the next run fires it. Both ways, same events.
cat >"$K/durable.lua" <<'LUA'
file(node.root .. "/durable.conf") { content = "v1\n", notifies = { { "run", "execute[restart]" } } }
if node.fail then execute "fail on purpose" { command = "exit 3" } end
execute "restart" { command = "echo restarted >> " .. node.root .. "/restarts", action = "nothing" }
LUA
parity durable1 --attr fail=true durable.lua
assert_eq "$LCODE" 1 "failing run"
assert_no_file "$RROOT/restarts"
check; grep -q '"failed_resources":\[{' "$RSTATE/last-run.json" || fail "failed_resources: $(cat "$RSTATE/last-run.json")"
check; grep -q '"file":"durable.lua"' "$RSTATE/last-run.json" || fail "kitchen-relative file: $(cat "$RSTATE/last-run.json")"
assert_mode "$RSTATE/last-run.json" 600
assert_mode "$LSTATE/last-run.json" 600
parity durable2 --attr fail=false durable.lua
assert_eq "$LCODE" 0 "replaying run"
assert_content "$LROOT/restarts" "restarted"
assert_content "$RROOT/restarts" "restarted"
check; grep -q '"failed_resources":\[\]' "$RSTATE/last-run.json" || fail "empty failed_resources: $(cat "$RSTATE/last-run.json")"
parity durable3 --attr fail=false durable.lua
parity_updated 0

# A compile error deep in a long kitchen path: the whole kitchen-relative
# file:line (Lua shortens chunk names over 60 characters in its messages).
long=cookbooks/a_cookbook_with_a_rather_long_name_for_testing/recipes
mkdir -p "$K/$long"
printf 'file(node.root .. "/x") { content = "x" }\nlocal f = nil\nf()\n' >"$K/$long/the_default_recipe_also_long.lua"
parity longpath recipe:a_cookbook_with_a_rather_long_name_for_testing::the_default_recipe_also_long
assert_eq "$LCODE" 2 "runtime error in a recipe"
check; grep -q "\"file\": \"$long/the_default_recipe_also_long.lua\", \"kind\": \"input\", \"line\": 3" <<<"$ROUT" ||
	fail "long path in JSON: $ROUT"
remote --attr "root=$RROOT" n1 recipe:a_cookbook_with_a_rather_long_name_for_testing::the_default_recipe_also_long
assert_err "n1: error: $long/the_default_recipe_also_long.lua:3: attempt to call a nil value"
apply --attr "root=$LROOT" -k "$K" recipe:a_cookbook_with_a_rather_long_name_for_testing::the_default_recipe_also_long
assert_err "ccchef: error: $long/the_default_recipe_also_long.lua:3: attempt to call a nil value"

# What the node is sent (docs/remote.md): the cookbooks the run reaches and
# what it names; attributes/ and resources/ of the others; not nodes.lua.
mkdir -p "$K/cookbooks/unused/files" "$K/cookbooks/unused/attributes" "$K/shared"
echo "big" >"$K/cookbooks/unused/files/big.bin"
echo "default.unused.x = 1" >"$K/cookbooks/unused/attributes/default.lua"
echo "named by a read" >"$K/shared/named.txt"
echo "return { n1 = { host = \"n1\" }, other = { host = \"o\", attributes = { secret = 1 } } }" >"$K/nodes.lua"
cat >"$K/shipped.lua" <<'LUA'
local function has(p) return read_file(p) and "yes" or "no" end
local named = read_file("shared/named.txt")
-- Lazy: read on the node at converge time, so the controller's compile
-- does not ask for (and ship) what it probes.
file(node.root .. "/shipped") {
  content = function()
    return string.format("nodes.lua=%s big=%s unused-attrs=%s named=%s unused.x=%s\n", has("nodes.lua"),
      has("cookbooks/unused/files/big.bin"), has("cookbooks/unused/attributes/default.lua"),
      tostring(named ~= nil), tostring(node.unused.x))
  end,
}
LUA
remote --attr "root=$RROOT" n1 shipped.lua
assert_code 0 "shipped"
assert_content "$RROOT/shipped" "nodes.lua=no big=no unused-attrs=yes named=true unused.x=1"
rm "$K/nodes.lua" "$RROOT/shipped"

# --attr: one reading (JSON when it parses) on both sides, and in attrs.
cat >"$K/attr.lua" <<'LUA'
file(node.root .. "/attr") {
  content = string.format("%s %s %s %s\n", math.type(node.a.n) or type(node.a.n), type(node.a.s),
    type(node.a.list), type(node.a.word)),
}
LUA
parity attr --attr a.n=8080 --attr 'a.s="8080"' --attr 'a.list=[1,2]' --attr a.word=web01 attr.lua
assert_content "$RROOT/attr" "integer string table string"
(cd "$K" && "$CCCHEF" attrs --attr 'a.s="8080"' --attr 'a.list=[1,2]' attr.lua >"$T/attrs.out")
check; grep -q '^a.s = "8080"' "$T/attrs.out" || fail "attrs a.s: $(cat "$T/attrs.out")"
check; grep -q '^a.list = \[1,2\]' "$T/attrs.out" || fail "attrs a.list: $(cat "$T/attrs.out")"

# Bad input: the same error, exit 2, nothing touched, on both sides.
cat >"$K/typo.lua" <<'LUA'
file(node.root .. "/never") { contnet = "x" }
LUA
parity typo typo.lua
assert_eq "$LCODE" 2 "typo"
assert_no_file "$LROOT/never"
check; grep -q '"file": "typo.lua", "kind": "input", "line": 1, "message": "unknown property .contnet.' <<<"$ROUT" ||
	fail "typo message: $ROUT"
check; ! grep -q "uploaded\|cached" "$T/typo.remote.json" || fail "typo: a node was contacted"
parity noenv -E prod role:frontend
assert_eq "$LCODE" 2 "-E prod"
check; grep -q "environment 'prod' not found (looked for environments/prod.lua; environments: live)" <<<"$ROUT" ||
	fail "-E prod message: $ROUT"
parity norecipe recipe:web::nope
assert_eq "$LCODE" 2 "recipe typo"

finish
