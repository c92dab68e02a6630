#!/bin/bash
# Parity for the rewrite cookbook's `redirect` resource (issue 12): a
# kitchen whose two recipes declare redirects converges the same through
# `ccchef remote` as through `ccchef apply` (tests/e2e/lib/parity.sh): the
# one snippet, its order, the events, the second run's 0 updated, why-run,
# and a bad redirect's compile error.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/parity.sh"
: "${SRC:?}"

parity_setup
cd "$K" || exit 1
mkdir -p "$K/cookbooks/site/recipes" "$K/roles"
cp -r "$SRC/cookbooks/rewrite" "$K/cookbooks/"
cat >"$K/cookbooks/site/recipes/default.lua" <<'LUA'
directory(node.root .. "/apache2") {}
redirect "/old" { to = "/new/", conf_dir = node.root .. "/apache2" }
redirect "/gone" { status = 410, conf_dir = node.root .. "/apache2" }
LUA
cat >"$K/cookbooks/site/recipes/more.lua" <<'LUA'
redirect "^/docs/(.*)$" { to = "/manual/$1", status = 302, regex = true, conf_dir = node.root .. "/apache2" }
redirect "/" { to = "https://new.example.org/", host = "old.example.org", conf_dir = node.root .. "/apache2", site = "legacy" }
LUA
cat >"$K/roles/web.lua" <<'LUA'
return { run_list = { "recipe:site", "recipe:site::more" }, attributes = { rewrite = { site = "www" } } }
LUA

parity first role:web
assert_eq "$LCODE" 0 "first run"
parity_updated 4
cat >"$T/want.conf" <<'CONF'
# Managed by ccchef: the redirect resources of site www, in the
# order the recipes declare them (cookbooks/rewrite). Edits are replaced.
RewriteEngine On
RewriteRule ^/old$ /new/ [R=301,L]
RewriteRule ^/gone$ - [G]
RewriteRule ^/docs/(.*)$ /manual/$1 [R=302,L]
CONF
check; diff -u "$T/want.conf" "$RROOT/apache2/redirects/www.conf" >&2 || fail "remote: the www snippet"
check; grep -qx 'RewriteRule ^/$ https://new.example.org/ \[R=301,L\]' "$RROOT/apache2/redirects/legacy.conf" ||
	fail "remote: the legacy site's own snippet"

parity second role:web
assert_eq "$LCODE" 0 "second run"
parity_updated 0

# A new site's redirects: a new snippet. (A changed file's backup is named
# by the time it was taken, which differs between the two runs: the
# harness compares runs that create, not replace.)
cat >>"$K/cookbooks/site/recipes/more.lua" <<'LUA'
redirect "/team" { to = "/about/", status = 308, conf_dir = node.root .. "/apache2", site = "blog" }
redirect "/staff" { to = "/about/", conf_dir = node.root .. "/apache2", site = "blog" }
redirect "/draft" { to = "/about/", conf_dir = node.root .. "/apache2", site = "blog", action = "nothing" }
LUA
parity whyrun -n role:web
assert_eq "$LCODE" 0 "why-run"
parity_updated 1
assert_no_file "$RROOT/apache2/redirects/blog.conf"
assert_no_file "$LROOT/apache2/redirects/blog.conf"
parity third role:web
parity_updated 1
check; [ "$(grep RewriteRule "$RROOT/apache2/redirects/blog.conf" | tr '\n' ' ')" = 'RewriteRule ^/team$ /about/ [R=308,L] RewriteRule ^/staff$ /about/ [R=301,L] ' ] ||
	fail "remote: the blog snippet, in order, without the action = nothing one: $(cat "$RROOT/apache2/redirects/blog.conf")"

cat >>"$K/cookbooks/site/recipes/more.lua" <<'LUA'
redirect "/bad" { to = "/a b", conf_dir = node.root .. "/apache2" }
LUA
parity bad role:web
assert_eq "$LCODE" 2 "bad redirect"
check; grep -q "cookbooks/site/recipes/more.lua:6: redirect\[/bad\]: property 'to'" "$T/bad.remote.err" ||
	fail "remote: the compile error names the recipe's line: $(cat "$T/bad.remote.err")"

finish
