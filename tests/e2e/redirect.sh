#!/bin/bash
# The rewrite cookbook's `redirect` resource with a real Apache (issue 12):
# redirect resources declared from two recipes land in one snippet per
# site, in declaration order, through a template under Apache's config
# tree that the site includes; curl follows them; the second run reports 0
# updated and does not reload Apache; why-run changes nothing; a new
# redirect reloads Apache through the apache2 cookbook's service; bad input
# is a clear compile error before anything changes. Also: the apache_site
# source template sees `node`, and an undefined variable in it is a compile
# error; a custom resource whose apache_site fails configtest says why on
# its stderr line (Apache's message).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/apache.sh"
: "${SRC:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (installs an Apache instance)"; exit 77; }
command -v apache2ctl >/dev/null || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
chmod 755 "$T" # Apache's workers (www-data) serve the docroot from under it

K="$T/k"
mkdir -p "$K/cookbooks/mysite/recipes" "$K/cookbooks/mysite/templates" "$K/roles"
cp -r "$SRC/cookbooks/apache2" "$SRC/cookbooks/rewrite" "$K/cookbooks/"
cat >"$K/cookbooks/mysite/templates/site.conf.tmpl" <<'TMPL'
# Managed by ccchef on {{ node.hostname }}
<VirtualHost 127.0.0.1:{{ port }}>
    ServerName localhost
    DocumentRoot {{ dir }}
    <Directory {{ dir }}>
        Require all granted
    </Directory>
    IncludeOptional {{ conf_dir }}/redirects/mysite.conf
</VirtualHost>
TMPL
cat >"$K/cookbooks/mysite/recipes/default.lua" <<'LUA'
include_recipe "apache2"
local inst = node.apache2.instance
local conf_dir = "/etc/apache2-" .. inst
directory(node.mysite.dir) { mode = "0755" }
file(node.mysite.dir .. "/index.html") { content = "<h1>mysite</h1>\n", mode = "0644" }
apache_site "mysite" {
  conf_dir = conf_dir,
  service = (node.init == "systemd" and "apache2@" or "apache2-") .. inst,
  source = "site.conf.tmpl",
  vars = { port = node.mysite.port, dir = node.mysite.dir, conf_dir = conf_dir },
}
redirect "/old" { to = "/new/" }
redirect "/gone" { status = 410 }
LUA
cat >"$K/cookbooks/mysite/recipes/extra.lua" <<'LUA'
redirect "^/docs/(.*)$" { to = "/manual/$1", status = 302, regex = true }
redirect "/team" { to = "/about/", status = 308 }
LUA
cat >"$K/roles/site.lua" <<LUA
return {
  run_list = { "recipe:mysite", "recipe:mysite::extra" },
  attributes = {
    apache2 = { instance = "$INST", listen = { "127.0.0.1:$PORT" }, default_site = false },
    rewrite = { site = "mysite" },
    mysite = { port = $PORT, dir = "$T/www" },
  },
}
LUA
cd "$K" || exit 1
SNIPPET="$CONF/redirects/mysite.conf"

apply role:site
assert_code 0 "first run"
assert_out "updated      template[$SNIPPET]: create"
cat >"$T/want.conf" <<'CONF'
# Managed by ccchef: the redirect resources of site mysite, in the
# order the recipes declare them (cookbooks/rewrite). Edits are replaced.
RewriteEngine On
RewriteRule ^/old$ /new/ [R=301,L]
RewriteRule ^/gone$ - [G]
RewriteRule ^/docs/(.*)$ /manual/$1 [R=302,L]
RewriteRule ^/team$ /about/ [R=308,L]
CONF
check; diff -u "$T/want.conf" "$SNIPPET" >&2 || fail "one snippet, both recipes' redirects in declaration order"
assert_mode "$SNIPPET" 644
check; head -1 "$CONF/sites-available/mysite.conf" | grep -qx "# Managed by ccchef on $(hostname)" ||
	fail "the apache_site template sees node: $(head -1 "$CONF/sites-available/mysite.conf")"
assert_http / 200 -
assert_http /old 301 "http://localhost/new/"
assert_http /gone 410 -
assert_http /docs/intro.html 302 "http://localhost/manual/intro.html"
assert_http /team 308 "http://localhost/about/"
pid=$(apache_pid)
reloads=$(apache_reloads)

apply role:site
assert_code 0 "second run"
assert_summary 0 0
assert_eq "$(apache_reloads)" "$reloads" "reloads after the second run"
assert_eq "$(apache_pid)" "$pid" "Apache's PID"

# A new redirect: why-run shows it and changes nothing; the real run
# rewrites the snippet and reloads Apache (the snippet notifies the
# apache2 cookbook's service).
cat >>"$K/cookbooks/mysite/recipes/extra.lua" <<'LUA'
redirect "/licenses" { to = "/licenses/" }
LUA
before=$(sha256sum <"$SNIPPET")
apply -n role:site
assert_code 0 "why-run"
assert_out "would-update template[$SNIPPET]: content"
assert_out "+RewriteRule ^/licenses$ /licenses/ [R=301,L]"
assert_out "would notify service["
assert_eq "$(sha256sum <"$SNIPPET")" "$before" "why-run leaves the snippet"
assert_http /licenses 404 -
assert_eq "$(apache_reloads)" "$reloads" "why-run does not reload"
apply role:site
assert_code 0 "new redirect"
assert_summary 2 0 # the snippet, and the reload it notified
assert_http /licenses 301 "http://localhost/licenses/"
assert_http /old 301 "http://localhost/new/"
check; [ "$(tail -1 "$SNIPPET")" = "RewriteRule ^/licenses$ /licenses/ [R=301,L]" ] || fail "declared last, rendered last"
apply role:site
assert_summary 0 0

# Bad input: a compile error naming the recipe's file and line; nothing
# changes (not even the resources declared before it).
cp "$SNIPPET" "$T/snippet.before"
rm "$T/www/index.html"
for bad in 'redirect "/x" { to = "/a b" }|property '"'"'to'"'"': the value "/a b" must be a non-empty word without spaces' \
	'redirect "/x" { to = "/y\nRewriteRule ^ /evil" }|contains a control character' \
	'redirect "/x" { to = "/y", status = 404 }|status must be 301, 302, 303, 307, 308 or 410' \
	'redirect "x" { to = "/y" }|"x" must start with / (or set regex = true for a pattern)' \
	'redirect "/x" {}|a 301 redirect needs to = ' \
	'redirect "/x" { to = "/y", host = "evil host" }|is not a host name'; do
	printf '%s\n' "${bad%%|*}" >"$K/cookbooks/mysite/recipes/bad.lua"
	apply role:site recipe:mysite::bad
	assert_code 2 "bad input: ${bad%%|*}"
	assert_err "cookbooks/mysite/recipes/bad.lua:1: redirect["
	assert_err "${bad#*|}"
done
check; cmp -s "$T/snippet.before" "$SNIPPET" || fail "bad input left the snippet as it was"
assert_no_file "$T/www/index.html"

# An undefined variable in the apache_site template: compile error.
cp "$K/cookbooks/mysite/templates/site.conf.tmpl" "$T/site.tmpl.good"
echo "# {{ nope }}" >>"$K/cookbooks/mysite/templates/site.conf.tmpl"
apply role:site
assert_code 2 "undefined variable in an apache_site template"
assert_err "cookbooks/mysite/templates/site.conf.tmpl:10: undefined variable 'nope'"
assert_no_file "$T/www/index.html"
cp "$T/site.tmpl.good" "$K/cookbooks/mysite/templates/site.conf.tmpl"
apply role:site
assert_code 0 "fixed"
assert_summary 1 0
assert_http /old 301 "http://localhost/new/"

# A custom resource whose apache_site fails Apache's configtest: the
# stderr line carries the inner resource and Apache's own message; the
# live site keeps answering.
mkdir -p "$K/cookbooks/mysite/resources"
cat >"$K/cookbooks/mysite/resources/vhost.lua" <<'LUA'
return {
  provides = "mysite_vhost",
  properties = { conf_dir = { type = "path", required = true }, service = { type = "string", required = true } },
  actions = { create = function(r)
    apache_site(r.name) { conf_dir = r.conf_dir, service = r.service, config = "Frobnicate on\n" }
  end },
}
LUA
cat >"$K/cookbooks/mysite/recipes/broken.lua" <<'LUA'
local inst = node.apache2.instance
mysite_vhost "broken" {
  conf_dir = "/etc/apache2-" .. inst,
  service = (node.init == "systemd" and "apache2@" or "apache2-") .. inst,
}
LUA
apply role:site recipe:mysite::broken
assert_code 1 "a failing apache_site inside a custom resource"
assert_err "cookbooks/mysite/recipes/broken.lua:2: mysite_vhost[broken]: apache_site[broken] failed inside it (cookbooks/mysite/resources/vhost.lua:5): "
assert_err "Invalid command 'Frobnicate'"
assert_no_file "$CONF/sites-enabled/broken.conf"
assert_http /old 301 "http://localhost/new/"

finish
