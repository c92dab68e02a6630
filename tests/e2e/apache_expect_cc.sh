#!/bin/bash
# rewrite_expect on the creativecommons.org fixture: every behaviour of
# tests/e2e/lib/cc_expectations.tsv (derived from the rules: status,
# Location, body) written as a rewrite_expect resource, all checked against
# the candidate before the first switch; then one deliberately wrong
# expectation fails with the table and nothing goes live. Deployed with
# proto = http: the private Apache is asked over plain HTTP (ccchef.http
# has no TLS), and the rules redirect to ${proto}://, so Locations read
# http:// here. Without ../shared the test is skipped (exit 77).
. "$(dirname "$0")/lib/common.sh"
: "${SRC:?}" "${SHARED:?}"
FIXTURE="$SHARED/fixtures/creativecommons.org"
have_fixture "$FIXTURE/apache.conf" || finish
[ "$(id -u)" = 0 ] || { echo "needs root (installs an Apache instance, private namespaces)"; exit 77; }
command -v apache2ctl >/dev/null || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
. "$(dirname "$0")/lib/apache.sh"
chmod 755 "$T"

cat >"$T/attrs.json" <<JSON
{"apache2": {"instance": "$INST", "listen": ["127.0.0.1:$PORT"], "default_site": false},
 "cc_site": {"port": $PORT, "bind": "127.0.0.1", "dir": "$T/site", "server_name": "creativecommons.org",
  "proto": "http", "template": "$FIXTURE/apache.conf", "docroot_source": "$FIXTURE/docroot"}}
JSON

# One rewrite_expect per behaviour. A FILE column names a docroot file
# (the body is that page: only the status is asked); other values are a
# body substring.
awk -F'\t' -v conf="$CONF" -v docroot="$FIXTURE/docroot" '
	/^#/ || NF != 6 { next }
	{
		path = $1; host = $2; status = $3; loc = $4; body = $5
		gsub(/:\$\{port\}/, "", loc); gsub(/\$\{proto\}/, "http", loc); gsub(/\$\{host\}/, "creativecommons.org", loc)
		printf "rewrite_expect [==[%s %s]==] { path = [==[%s]==], host = [==[%s]==], site = \"cc_site\", conf_dir = \"%s\", status = %s", host, path, path, host, conf, status
		if (loc != "-") printf ", location = [==[%s]==]", loc
		if (body != "-" && system("test -f \"" docroot "/" body "\"") != 0) printf ", body = [==[%s]==]", body
		print " }"
		n++
	}
	END { if (n < 40) exit 1 }' "$(dirname "$0")/lib/cc_expectations.tsv" >"$T/expect.lua"
check; [ $? = 0 ] || fail "fewer than 40 expectations generated"
N=$(grep -c '^rewrite_expect' "$T/expect.lua")
echo "$N rewrite_expect resources from cc_expectations.tsv"

cc() { apply -k "$SRC" -j "$T/attrs.json" "$@" recipe:cc_site "$T/expect.lua"; }

# Why-run first: the whole candidate (nothing of the site exists yet) is
# checked by a private Apache; nothing is created.
cc -n
assert_code 0 "why-run: every expectation holds on the candidate"
assert_not_out "failed       "
check; [ ! -e "$CONF/sites-available/cc_site.conf" ] || fail "why-run wrote the site"

cc
assert_code 0 "first converge: all $N expectations pass before the switch"
assert_not_out "failed       "
assert_http /choose 301 "http://creativecommons.org/choose/" creativecommons.org
cc
assert_code 0 "second converge"
assert_summary 0 0

# One deliberately wrong expectation, with a change to the site: the
# table names it, the change does not go live.
cp "$T/expect.lua" "$T/expect.good"
cat >>"$T/expect.lua" <<LUA
rewrite_expect "wrong /choose" { path = "/choose", host = "creativecommons.org", site = "cc_site", conf_dir = "$CONF", status = 302, location = "/choose/" }
LUA
cat >"$T/change.lua" <<LUA
file "$CONF/conf-available/cc-probe.conf" { content = "# probe\n" }
link "$CONF/conf-enabled/cc-probe.conf" { to = "../conf-available/cc-probe.conf" }
LUA
cp "$CONF/sites-available/cc_site.conf" "$T/site.before"
apply -k "$SRC" -j "$T/attrs.json" recipe:cc_site "$T/change.lua" "$T/expect.lua"
assert_code 1 "a wrong expectation"
assert_out "failed       rewrite_expect[wrong /choose]"
assert_out "expectation failed on the candidate configuration (1 of $((N + 1)) failed; nothing went live)"
assert_out "PATH     HOST"
assert_out "/choose  creativecommons.org:$PORT  302 /choose/  301 http://creativecommons.org/choose/"
assert_out "not made: 1 rewrite expectation(s) failed"
assert_no_file "$CONF/conf-available/cc-probe.conf"
assert_no_file "$CONF/conf-enabled/cc-probe.conf"
check; cmp -s "$CONF/sites-available/cc_site.conf" "$T/site.before" || fail "site changed"
assert_http /choose 301 "http://creativecommons.org/choose/" creativecommons.org

finish
