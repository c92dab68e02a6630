#!/bin/bash
# Parity for Apache sites (issue 10, "Done when"): a kitchen that ships its
# own site config (an Apache config and a docroot in a cookbook's files/,
# selected by attributes as docs/apache.md says) converges a fresh private
# Apache instance over `ccchef remote` with one command; the second run
# reports 0 updated and Apache is not reloaded; why-run shows no change.
# Then both ways: `ccchef apply` of the same kitchen finds nothing to change
# (the generated config names the template by its kitchen path, never the
# bundle's directory), and a missing attribute path is named.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/apache.sh"
. "$(dirname "$0")/lib/parity.sh"
: "${SRC:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (installs an Apache instance)"; exit 77; }
command -v apache2ctl >/dev/null || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
chmod 755 "$T" # Apache's workers (www-data) serve the docroot from under it

parity_setup
mkdir -p "$K/cookbooks" "$K/roles" "$K/cookbooks/mysite/files/docroot/about"
cp -r "$SRC/cookbooks/apache2" "$SRC/cookbooks/cc_site" "$SRC/cookbooks/rewrite" "$K/cookbooks/"
cat >"$K/cookbooks/mysite/files/apache.conf" <<'CONF'
<VirtualHost *:${port}>
    ServerName ${host}
    DocumentRoot ${dir}/docroot
    <Directory "${dir}/docroot">
        Require all granted
    </Directory>
    ErrorLog ${logdir}/mysite-error.log
    RewriteEngine on
    RewriteRule ^/team$ /about/ [L,R=301]
    Include ${dir}/redirects.conf
</VirtualHost>
CONF
echo "<h1>mysite</h1>" >"$K/cookbooks/mysite/files/docroot/index.html"
echo "<h1>about mysite</h1>" >"$K/cookbooks/mysite/files/docroot/about/index.html"
cat >"$K/roles/site.lua" <<'LUA'
return {
  run_list = { "recipe:cc_site" },
  attributes = { cc_site = {
    template = "cookbooks/mysite/files/apache.conf",
    docroot_source = "cookbooks/mysite/files/docroot",
    redirects = { { "/old", "/about/", 301 } },
  } },
}
LUA
cat >"$K/nodes.lua" <<LUA
return {
  n1 = { host = "n1", roles = { "site" }, attributes = {
    apache2 = { instance = "$INST", listen = { "127.0.0.1:$PORT" }, default_site = false },
    cc_site = { port = $PORT, bind = "127.0.0.1", dir = "$T/site", server_name = "localhost" },
  } },
  other = { host = "other.invalid", attributes = { secret = "other node's" } },
}
LUA
cd "$K" || exit 1

# One command, a fresh node.
remote n1
assert_code 0 "first remote run"
assert_out "n1:   updated      apache_site[cc_site]"
assert_http / 200 -
check; printf '%s' "$BODY" | grep -q "<h1>mysite</h1>" || fail "index page from the kitchen's docroot"
assert_http /team 301 "http://localhost/about/"
assert_http /old 301 "http://localhost/about/"
check; head -1 "$CONF/sites-available/cc_site.conf" | grep -qx "# Managed by ccchef (cookbook cc_site) from cookbooks/mysite/files/apache.conf" ||
	fail "first line: $(head -1 "$CONF/sites-available/cc_site.conf")"
check; ! grep -q "ccchef-run\." "$CONF/sites-available/cc_site.conf" || fail "the bundle directory is in the config"
pid=$(apache_pid)
reloads=$(apache_reloads)

# Second run: 0 updated, Apache not reloaded.
remote n1
assert_code 0 "second remote run"
check; printf '%s' "$OUT" | grep -qE "^n1 +converged +[0-9]+ +0 +0 " || fail "second run: 0 updated"
assert_eq "$(apache_reloads)" "$reloads" "reloads after the second run"
assert_eq "$(apache_pid)" "$pid" "Apache's PID"

# Why-run: nothing would change, no diff.
remote -n n1
assert_code 0 "why-run"
check; printf '%s' "$OUT" | grep -qE "^n1 +checked +[0-9]+ +0 +0 " || fail "why-run: 0 would update"
assert_not_out "would-update"
assert_not_out "@@"

# The same kitchen with apply, on the same machine: nothing to change.
apply -N n1
assert_code 0 "apply after remote"
assert_summary 0 0
assert_eq "$(apache_reloads)" "$reloads" "reloads after apply"

# Through the parity harness: apply -N n1 and remote n1 on the converged
# site give the same events (every resource of cc_site and apache2), the
# same exit code and last-run.json, 0 updated, real run and why-run.
PARITY_APPLY_ARGS="-N n1"
parity site_again
assert_eq "$LCODE" 0 "site, both ways"
parity_updated 0
check; [ "$(printf '%s\n' "$ROUT" | grep -c '"event": "resource"')" -gt 15 ] || fail "site events: $ROUT"
parity site_whyrun -n
parity_updated 0
assert_eq "$(apache_reloads)" "$reloads" "reloads after the parity runs"
PARITY_APPLY_ARGS=

# A path attribute that names nothing: the attribute is named, and where it
# was resolved; no node is contacted (the controller compiles first).
remote --attr cc_site.template=cookbooks/mysite/files/nope.conf n1
assert_code 2 "missing template"
assert_err 'cc_site.template = "cookbooks/mysite/files/nope.conf": no such file in the kitchen (resolved on the controller, before connecting, relative to the kitchen'"'"'s root)'
assert_not_out "runner cached"
apply -N n1 --attr cc_site.template=cookbooks/mysite/files/nope.conf
assert_code 2 "missing template, apply"
assert_err 'cc_site.template = "cookbooks/mysite/files/nope.conf": no such file in the kitchen (resolved on this machine'
# An absolute path is the node's own file: the controller cannot check it;
# the node names the attribute and says it resolved it there.
remote --attr cc_site.template=/nonexistent/site.conf n1
assert_code 2 "template missing on the node"
assert_err 'cc_site.template = "/nonexistent/site.conf": no such file (resolved on node n1, an absolute path names the node'"'"'s own file)'
assert_err "n1: error: cookbooks/cc_site/recipes/default.lua:"
check; printf '%s' "$OUT" | grep -qE "^n1 +bad input " || fail "bad input row"
# Outside the kitchen: works with apply, refused by remote before connecting.
cp "$K/cookbooks/mysite/files/apache.conf" "$T/outside.conf"
remote --attr cc_site.template=../outside.conf n1
assert_code 2 "template outside the kitchen"
assert_err '"../outside.conf" is outside the kitchen, and `remote` ships only the kitchen'

# What the node was sent: the cookbooks the run reaches, the role, its own
# inventory entry (in run.json); not nodes.lua, not the other node.
"$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" n1 >/dev/null 2>&1
check; [ ! -e "$RSTATE/last-run.json" ] || grep -q '"success":true' "$RSTATE/last-run.json" ||
	fail "last-run.json: $(cat "$RSTATE/last-run.json")"
assert_mode "$RSTATE/last-run.json" 600

finish
