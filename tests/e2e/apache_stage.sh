#!/bin/bash
# Staging of Apache's configuration (docs/apache.md, "Staging"), for real:
# a private Apache instance on a free port, the apache2 and cc_site
# cookbooks, curl. The issue's scenario step by step: a bad data-driven
# rule (a snippet the site includes, outside /etc) together with a module
# enable that queues a restart fails as a whole, nothing of it goes live,
# the live site answers throughout and is never restarted; why-run reports
# the same failure; the fixed run recovers by itself. Then rewrite_expect:
# a rule that passes configtest but not its expectation (table, nothing
# live, same under why-run), expectations that pass, check_live.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/apache.sh"
: "${SRC:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (installs an Apache instance, private namespaces)"; exit 77; }
command -v apache2ctl >/dev/null || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
chmod 755 "$T" # Apache's workers (www-data) serve the docroot from under it

attrs() { # $1: extra cc_site JSON
	cat >"$T/attrs.json" <<JSON
{"apache2": {"instance": "$INST", "listen": ["127.0.0.1:$PORT"], "default_site": false},
 "cc_site": {"port": $PORT, "bind": "127.0.0.1", "dir": "$T/site" ${1:+, $1}}}
JSON
}
web() { apply -k "$SRC" -j "$T/attrs.json" "$@" "$SRC/recipes/web.lua"; }
snap() { # what is live: the snippet, the site, the modules enabled
	{ cat "$T/site/redirects.conf" "$CONF/sites-available/cc_site.conf"; ls "$CONF/mods-enabled"; } >"$T/live.$1"
}
assert_live_unchanged() { check; cmp -s "$T/live.$1" "$T/live.now" || fail "$2: live configuration changed"; }

attrs
web
assert_code 0 "first converge"
assert_http /old-about 301 "http://localhost/about/"
pid=$(apache_pid)
# A big file beside the snippet: the candidate view binds it, not copies.
head -c 400000 /dev/zero >"$T/site/big.bin"

# --- the issue's scenario: a bad regex in a snippet, a restart queued -----
BAD='"redirects": [{"from": "^/x($", "to": "/y", "regex": true}, ["/old-about", "/about/", 302]],
 "modules": ["rewrite", "headers", "alias", "mime", "dir", "expires"]'
attrs "$BAD"
snap before
web -n
assert_code 1 "why-run of the bad rule"
assert_out "apache2ctl configtest failed on the candidate configuration"
assert_out "RewriteRule: cannot compile regular expression '^/x(\$'"
assert_out "of $T/site/redirects.conf"
snap now; assert_live_unchanged before "why-run"

web
assert_code 1 "bad rule"
assert_out "failed       template[$T/site/redirects.conf]"
assert_out "Syntax error on line 3 of $T/site/redirects.conf"
assert_out "not made: the candidate Apache configuration it is part of failed configtest"
assert_not_out "updated      apache_module[expires]"
assert_not_out "restart"
assert_err "apache2ctl configtest failed on the candidate configuration"
snap now; assert_live_unchanged before "bad run"
assert_no_file "$CONF/mods-enabled/expires.load"
# The live site answered throughout and was never restarted.
assert_eq "$(apache_pid)" "$pid" "apache pid after the bad run"
assert_http /old-about 301 "http://localhost/about/"
# The composite that declared the snippet is not "updated" either, and
# nothing is pending: no reload or restart waits for the next run.
assert_out "failed       rewrite_redirects[cc_site]"
assert_out "template[$T/site/redirects.conf] failed inside it"
assert_not_out "updated      "
assert_not_out "notifies service"
check; [ ! -e "$STATE/pending-notifications.journal" ] || fail "the failed run left notifications pending: $(cat "$STATE/pending-notifications.journal")"

# A second bad run changes nothing either (no half state left behind).
web
assert_code 1 "bad rule again"
snap now; assert_live_unchanged before "second bad run"

# The fixed run recovers by itself: snippet, module and restart.
attrs '"redirects": [["/old-about", "/about/", 302]], "modules": ["rewrite", "headers", "alias", "mime", "dir", "expires"]'
web
assert_code 0 "fixed run"
assert_out "updated      template[$T/site/redirects.conf]"
assert_out "updated      apache_module[expires]"
check; [ -L "$CONF/mods-enabled/expires.load" ] || fail "expires not enabled by the fixed run"
assert_http /old-about 302 "http://localhost/about/"
check; [ "$(apache_pid)" != "$pid" ] || fail "no restart after the module was enabled"
web
assert_code 0 "second fixed run"
assert_summary 0 0
check; [ "$(stat -c %s "$T/site/big.bin")" = 400000 ] || fail "the big file beside the snippet changed"

# --- a configuration broken outside ccchef, Apache down ------------------------
# (what the issue's old behaviour left behind): the apache2 recipe does not
# try to start Apache on it, the run stages and checks the fix, and the
# reload at the end starts Apache. No hand edit.
printf 'RewriteRule ^/x($ /y [R=301,L]\n' >>"$T/site/redirects.conf"
kill "$(apache_pid)"
for _ in $(seq 100); do [ -z "$(apache_pid)" ] || ! kill -0 "$(apache_pid)" 2>/dev/null && break; sleep 0.1; done
http_get /old-about
assert_eq "$STATUS" "" "Apache is down before the fixed run"
web
assert_code 0 "the fixed run after a hand-broken configuration"
assert_out "updated      template[$T/site/redirects.conf]"
assert_out "updated      service[apache2-$INST] reload"
assert_http /old-about 302 "http://localhost/about/"
web
assert_code 0 "and the run after"
assert_summary 0 0

# --- rewrite_expect ------------------------------------------------------------
# Beside the rules, what the site must answer (site = its apache_site: the
# port and Host come from its VirtualHost and ServerName).
cat >"$T/expect.lua" <<LUA
rewrite_expect "/old-about" { site = "cc_site", conf_dir = "$CONF", status = 301, location = "/about/" }
rewrite_expect "/choose" { site = "cc_site", conf_dir = "$CONF", status = 301, location = "http://localhost/choose/" }
rewrite_expect "/retired" { site = "cc_site", conf_dir = "$CONF", status = 410 }
rewrite_expect "/" { site = "cc_site", conf_dir = "$CONF", status = 200, body = "cc_site example site" }
LUA
xweb() { apply -k "$SRC" -j "$T/attrs.json" "$@" "$SRC/recipes/web.lua" "$T/expect.lua"; }
# The rule the expectations are written for: /old-about back to 301.
attrs '"redirects": [["/old-about", "/about/", 301], ["/retired", null, 410]], "modules": ["rewrite", "headers", "alias", "mime", "dir", "expires"]'
xweb -n
assert_code 0 "why-run, expectations met by the candidate"
assert_out "would-update template[$T/site/redirects.conf]"
assert_not_out "failed       "
xweb
assert_code 0 "expectations met"
assert_http /old-about 301 "http://localhost/about/"
pid=$(apache_pid)
xweb
assert_code 0 "expectations met, nothing to change"
assert_summary 0 0

# A rule that passes configtest but breaks an expectation: nothing goes
# live, the table says path / wanted / got; why-run says the same.
attrs '"redirects": [["/old-about", "/about-us/", 301], ["/retired", null, 410]], "modules": ["rewrite", "headers", "alias", "mime", "dir", "expires"]'
snap before
xweb -n
assert_code 1 "why-run of a rule that breaks an expectation"
assert_out "failed       rewrite_expect[/old-about]"
assert_out "PATH        HOST"
assert_out "WANTED"
assert_out "301 /about/"
assert_out "301 http://localhost/about-us/"
assert_out "expectation failed on the candidate configuration (1 of 4 failed; nothing went live)"
snap now; assert_live_unchanged before "why-run with a failing expectation"
xweb
assert_code 1 "a rule that breaks an expectation"
assert_out "failed       rewrite_expect[/old-about]"
assert_out "301 http://localhost/about-us/"
assert_out "failed       template[$T/site/redirects.conf]"
assert_out "not made: 1 rewrite expectation(s) failed on the candidate configuration"
snap now; assert_live_unchanged before "failing expectation"
assert_http /old-about 301 "http://localhost/about/"
assert_eq "$(apache_pid)" "$pid" "apache pid after a failing expectation"
check; grep -q "about-us" "$T/site/redirects.conf" && fail "the rule went live"

# The same through the cc_site cookbook's attribute.
attrs '"redirects": [["/old-about", "/about-us/", 301]], "expectations": [{"path": "/old-about", "status": 301, "location": "/about/"}, {"path": "/", "status": 200}]'
web
assert_code 1 "cc_site.expectations: a failing one"
assert_out "failed       rewrite_expect[/old-about]"
assert_out "expectation failed on the candidate configuration (1 of 2 failed; nothing went live)"
check; grep -q "about-us" "$T/site/redirects.conf" && fail "the rule went live (cc_site.expectations)"
attrs '"expectations": [{"path": "/nope"}]'
web
assert_code 2 "cc_site.expectations: bad entry"
assert_err "attribute cc_site.expectations[1]"

# After the switch, the same expectations against the live server.
attrs '"redirects": [["/old-about", "/about/", 301], ["/retired", null, 410]], "modules": ["rewrite", "headers", "alias", "mime", "dir", "expires"]'
sed 's/status = /action = "check_live", status = /' "$T/expect.lua" >"$T/live.lua"
apply -k "$SRC" -j "$T/attrs.json" "$T/live.lua"
assert_code 0 "check_live"
assert_summary 0 0
cat >"$T/live-bad.lua" <<LUA
rewrite_expect "/old-about" { site = "cc_site", conf_dir = "$CONF", action = "check_live", status = 302 }
LUA
apply -k "$SRC" -j "$T/attrs.json" "$T/live-bad.lua"
assert_code 1 "check_live of a wrong expectation"
assert_out "the live server does not answer as expected"
assert_out "301 http://localhost/about/"

# --- remote_directory: a new tree of snippets is staged too -----------------
mkdir -p "$T/snippets/sub"
printf 'Header set X-Snippet one\n' >"$T/snippets/good.conf"
printf 'NoSuchDirective on\n' >"$T/snippets/sub/bad.conf"
cat >"$T/tree.lua" <<LUA
remote_directory "$CONF/ccchef-snippets" { source = "$T/snippets", purge = true }
file "$CONF/conf-available/snippets.conf" { content = "IncludeOptional $CONF/ccchef-snippets/*.conf\nIncludeOptional $CONF/ccchef-snippets/sub/*.conf\n" }
link "$CONF/conf-enabled/snippets.conf" { to = "../conf-available/snippets.conf" }
LUA
apply "$T/tree.lua"
assert_code 1 "a bad snippet in a new tree"
assert_out "Invalid command 'NoSuchDirective'"
assert_out "$CONF/ccchef-snippets/sub/bad.conf"
assert_no_file "$CONF/ccchef-snippets"
assert_no_file "$CONF/conf-available/snippets.conf"
assert_no_file "$CONF/conf-enabled/snippets.conf"
printf 'Header set X-Snippet two\n' >"$T/snippets/sub/bad.conf"
apply "$T/tree.lua"
assert_code 0 "the fixed tree"
assert_content "$CONF/ccchef-snippets/sub/bad.conf" "Header set X-Snippet two"
check; [ -L "$CONF/conf-enabled/snippets.conf" ] || fail "snippets.conf not enabled"
apply "$T/tree.lua"
assert_summary 0 0
rm -f "$CONF/conf-enabled/snippets.conf"

# Bad input is found at compile time.
cat >"$T/bad-input.lua" <<LUA
rewrite_expect "no-slash" { status = 301 }
LUA
apply "$T/bad-input.lua"
assert_code 2 "path without a slash"
cat >"$T/bad-input2.lua" <<LUA
rewrite_expect "/x" { location = "/y" }
LUA
apply "$T/bad-input2.lua"
assert_code 2 "status missing"

finish
