#!/bin/bash
# The kitchen: run lists with recipe:/role:, roles including roles,
# environments live/staging/devel converging differently, attribute
# precedence with provenance (ccchef attrs), include_recipe once, templates
# and files looked up in the declaring cookbook.
. "$(dirname "$0")/lib/common.sh"
: "${SRC:?SRC must point at the source tree}"
K="$T/kitchen"
cp -r "$SRC/tests/kitchen" "$K"
cd "$K" || exit 1

attrs() { run attrs "$@"; }

# Provenance at every level of the precedence chain, for one value.
attrs role:base
assert_code 0
assert_out 'app.tier = "cookbook"'
assert_out 'cookbooks/webapp/attributes/default.lua:2'
attrs role:web
assert_out 'app.tier = "role"'
assert_out '# roles/web.lua'
attrs -E live role:web
assert_out 'app.tier = "environment"'
assert_out '# environments/live.lua'
attrs web1
assert_out 'app.tier = "node"'
assert_out '# nodes.lua (web1)'
attrs web1 --attr app.tier=cli
assert_out 'app.tier = "cli"'
assert_out '# --attr app.tier=cli'
printf '{"app": {"tier": "json"}}' >"$T/extra.json"
attrs web1 -j "$T/extra.json"
assert_out 'app.tier = "json"'
assert_out "# $T/extra.json"
# Tables merge key by key: live sets cache, the cookbook's debug stays.
attrs -E live role:web
assert_out 'app.features.cache = true'
assert_out 'app.features.debug = false'
assert_out 'base.motd = "Welcome (role base)"'
attrs --format json web1
check; printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["attributes"]["app"]["tier"]=="node"' || fail "attrs json"

# Three environments converge differently from one run list.
for env in live staging devel; do
	apply -E "$env" --attr base.root="$T/$env" role:web
	assert_code 0 "$env first run"
	assert_content "$T/$env/banner" "$(printf '%s\nenv=%s\n%s' '******************************' "$env" '******************************')"
	apply -E "$env" --attr base.root="$T/$env" role:web
	assert_code 0 "$env second run"
	assert_summary 0 0
done
check; grep -q "workers = 16" "$T/live/app.conf" || fail "live workers"
check; grep -q "cache = on" "$T/live/app.conf" || fail "live cache"
check; ! grep -q "debug" "$T/live/app.conf" || fail "live has debug"
check; grep -q "workers = 4" "$T/staging/app.conf" || fail "staging workers"
check; grep -q "debug = on" "$T/staging/app.conf" || fail "staging debug"
check; grep -q "redirect /old /new" "$T/devel/vhosts/app.example.conf" || fail "devel redirects"
check; ! grep -q "redirect" "$T/live/vhosts/app.example.conf" || fail "live redirects"
# files/ and templates/ come from the declaring cookbook: base_banner used
# base's banner.tmpl even when declared from webapp's vhost resource.
assert_content "$T/live/logo.txt" "ASCII LOGO"
check; grep -q '^\*\*\*' "$T/live/vhosts/app.example.banner" || fail "banner from base cookbook"
# include_recipe "base" twice + role:base: the base recipe ran once (one motd resource).
apply -E live --attr base.root="$T/live" -l debug role:web
check; n=$(printf '%s' "$OUT" | grep -c "file\[$T/live/motd\]"); [ "$n" = 1 ] || fail "base recipe included $n times"

# A node from the inventory: its roles, environment and attributes.
apply -N web1 --attr base.root="$T/web1"
assert_code 0 "node run list"
check; grep -q "port = 9090" "$T/web1/app.conf" || fail "node attribute"
check; grep -q "env = live" "$T/web1/app.conf" || fail "node environment"

# -k from elsewhere.
cd "$T" || exit 1
apply -k "$K" --attr base.root="$T/elsewhere" recipe:base
assert_code 0 "-k"
assert_file "$T/elsewhere/motd"

# ccchef new cookbook: converges as it is, twice.
mkdir "$T/newk" && cd "$T/newk" || exit 1
"$CCCHEF" new cookbook shop >"$T/.out" 2>&1
check; [ -f cookbooks/shop/recipes/default.lua ] || fail "scaffold recipe"
check; [ -d cookbooks/shop/templates ] && [ -d cookbooks/shop/resources ] || fail "scaffold dirs"
apply --attr shop.root="$T/shop" recipe:shop
assert_code 0 "scaffold first run"
assert_content "$T/shop/note.txt" "written by shop_note"
apply --attr shop.root="$T/shop" recipe:shop
assert_summary 0 0
run new cookbook shop
assert_code 2 "scaffold twice"
assert_err "already exists"

finish
