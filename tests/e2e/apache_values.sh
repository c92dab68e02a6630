#!/bin/bash
# apache_values: every value apache_site pastes into a config is checked
# for the directive it fills (docs/apache.md, "Values"): a newline or
# other control character, a host name that is not one, a path with a
# quote, a rewrite word with a space, a value ending in a backslash -- each
# is an input error at compile time (exit 2, one line naming the file,
# line, resource and property, nothing written). Valid values render the
# same config as before (a golden file), and the cc_site and apache2
# cookbooks check their attributes the same way. No Apache is needed: the
# sites are only created (not enabled, so not configtested) in a private
# directory.
. "$(dirname "$0")/lib/common.sh"

CONF="$T/apache2"
mkdir -p "$CONF/sites-available" "$CONF/sites-enabled"

# bad CASE PROPS TEXT...: a site with PROPS (Lua table body) is refused at
# compile time with every TEXT on one stderr line; nothing is written.
bad() {
	CASE=$1
	local props=$2
	shift 2
	printf 'apache_site "v" { conf_dir = "%s", action = "create", port = 8080,\n  %s }\n' "$CONF" "$props" >"$T/$CASE.lua"
	apply "$T/$CASE.lua"
	assert_code 2 "$CASE"
	check
	[ "$(printf '%s' "$ERR" | grep -c '')" = 1 ] || fail "$CASE: want one line on stderr"
	for text in "$T/$CASE.lua:1: apache_site[v]: " "$@"; do
		check
		printf '%s' "$ERR" | grep -qF -- "$text" || fail "$CASE: stderr lacks: $text"
	done
	assert_no_file "$CONF/sites-available/v.conf"
	assert_no_file "$STATE"
}

bad server_name_nl 'server_name = "a.example.org\nInclude /etc/shadow"' \
	"property 'server_name': the value \"a.example.org\\nInclude /etc/shadow\" contains a control character"
bad server_name_space 'server_name = "a.example.org evil"' "property 'server_name'" "is not a host name"
bad server_name_label 'server_name = "-a.example.org"' "property 'server_name'" "is not a host name"
bad server_name_port 'server_name = "a.example.org:70000"' "property 'server_name'" "port must be 1-65535"
bad server_name_scheme 'server_name = "ftp://a.example.org"' "property 'server_name'" "is not a host name"
bad alias_nl 'server_aliases = { "ok.example.org", "b.example.org\r\nHeader set X y" }' \
	"property 'server_aliases': item 2" "control character"
bad alias_wild_middle 'server_aliases = { "www.*.example.org" }' "property 'server_aliases': item 1" "is not a host name"
bad address 'address = "127.0.0.1 evil"' "property 'address'" "is not a host name"
bad port 'port = 70000' "property 'port': port must be 1-65535"
bad docroot_quote 'document_root = "/srv/x\" evil"' "property 'document_root'" "must not contain"
bad docroot_nl 'document_root = "/srv/x\nInclude /etc"' "property 'document_root'" "control character"
bad header_nl 'headers = { "set X-A a\nLoadModule evil /tmp/evil.so" }' "property 'headers': item 1" "control character"
bad header_backslash 'headers = { "set X-A a\\" }' "property 'headers': item 1" "ends in a backslash"
bad dir_options 'directories = { { path = "/srv/x", options = "-Indexes\nAllowOverride All" } }' \
	"property 'directories': directories[1].options" "control character"
bad dir_path 'directories = { { path = "/srv/x>" } }' "property 'directories': directories[1].path" "must not contain"
bad alias_path 'aliases = { { "/static", "/srv/static\n" } }' "property 'aliases': aliases[1] path" "control character"
bad error_log 'error_log = "/var/log/x\nErrorDocument 404 /evil"' "property 'error_log'" "control character"
bad rewrite_target 'rewrites = { { "^/a$", "/b\nRewriteRule" } }' "rewrites[1] (\"^/a\$\"): the target must be a non-empty string without spaces"
bad rewrite_flags 'rewrites = { { "^/a$", "/b", "L\tR" } }' "rewrites[1] (\"^/a\$\"): flags are a string"
bad rewrite_cond 'rewrites = { { "^/a$", "/b", "L", conditions = { { "%{HTTP_HOST}", "=x\nRewriteRule ^ /evil" } } } }' \
	"rewrites[1].conditions[1] pattern" "control character"
bad rewrite_cond_flags 'rewrites = { { "^/a$", "/b", "L", conditions = { { "%{HTTP_HOST}", "=x", "NC OR" } } } }' \
	"rewrites[1].conditions[1]: flags are a string"
bad config_nul 'config = "ServerAdmin a@b\n\0"' "property 'config': the value contains a control character (byte 0 on its line 2)"
bad config_esc 'config = "ServerAdmin a@b\27[2J"' "property 'config'" "byte 27 on its line 1"

# rewrite_redirects (the rewrite cookbook, used by cc_site for
# cc_site.redirects) checks its rules and comment at compile time.
rbad() {
	CASE=$1
	printf 'rewrite_redirects "r" { path = "%s/r.conf", %s }\n' "$T" "$2" >"$T/$CASE.lua"
	shift 2
	apply -k "$SRC" "$T/$CASE.lua"
	assert_code 2 "$CASE"
	for text in "$T/$CASE.lua:1: rewrite_redirects[r]: " "$@"; do
		check
		printf '%s' "$ERR" | grep -qF -- "$text" || fail "$CASE: stderr lacks: $text"
	done
	assert_no_file "$T/r.conf"
	assert_no_file "$STATE"
}
rbad redirect_from 'rules = { { "/a\nInclude /etc/x", "/b", 301 } }' \
	"property 'rules': rule 1 FROM \"/a\\nInclude /etc/x\" must be one word"
rbad redirect_to 'rules = { { "/a", "/b [L]\nRewriteRule", 301 } }' "property 'rules': rule 1 TO"
rbad redirect_host 'rules = { { from = "/", to = "/x", host = "a.org b" } }' "property 'rules': rule 1 HOST"
rbad redirect_backslash 'rules = { { "/a", "/b\\", 302 } }' "ends in a backslash"
rbad redirect_comment 'comment = "x\nLoadModule evil /tmp/e.so"' "property 'comment'" "one line"

# A lazy value is checked when it is evaluated: the resource fails (exit 1).
CASE=lazy
printf 'apache_site "v" { conf_dir = "%s", action = "create", port = 8080, server_name = function() return "a\\nb" end }\n' \
	"$CONF" >"$T/lazy.lua"
apply "$T/lazy.lua"
assert_code 1 "$CASE"
assert_err "lazy property 'server_name': the value \"a\\nb\" contains a control character"
assert_no_file "$CONF/sites-available/v.conf"
rm -rf "$STATE"

# Valid values, including every shape a check accepts, render exactly
# this (the generated config is unchanged by the checks).
CASE=golden
cat >"$T/good.lua" <<LUA
apache_site "good" {
  conf_dir = "$CONF", action = "create", port = 8080, address = "[::1]",
  server_name = "https://www.example.org:8443",
  server_aliases = { "*.example.org", "example.org", "127.0.0.1", "xn--bcher-kva.example" },
  document_root = "/srv/my site/docroot",
  directories = { { path = "/srv/my site/docroot", options = "-Indexes +FollowSymLinks", allow_override = "None" } },
  aliases = { { "/static", "/srv/static" } },
  headers = { 'set X-Frame-Options "DENY"', "always set X-A b\\\\c" },
  error_log = "/var/log/apache2/good-error.log",
  custom_log = "/var/log/apache2/good-access.log combined",
  rewrites = {
    { "^/choose$", "/choose/", "L,R=301" },
    { "^/(.*)$", "https://example.org/\$1", "L,R=301", conditions = { { "%{HTTP_HOST}", "=www.example.org", "NC" } } },
  },
  config = "\tServerAdmin web@example.org\r\n<Location /x>\n  Require all denied\n</Location>\n",
}
LUA
apply "$T/good.lua"
assert_code 0 "$CASE"
cat >"$T/want.conf" <<'CONF'
# Managed by ccchef: apache_site[good]. Edits here are replaced.
<VirtualHost [::1]:8080>
    ServerName https://www.example.org:8443
    ServerAlias *.example.org example.org 127.0.0.1 xn--bcher-kva.example
    DocumentRoot "/srv/my site/docroot"
    <Directory "/srv/my site/docroot">
        Options -Indexes +FollowSymLinks
        AllowOverride None
        Require all granted
    </Directory>
    Alias /static /srv/static
    Header set X-Frame-Options "DENY"
    Header always set X-A b\c
    ErrorLog /var/log/apache2/good-error.log
    CustomLog /var/log/apache2/good-access.log combined
    RewriteEngine On
    RewriteRule ^/choose$ /choose/ [L,R=301]
    RewriteCond %{HTTP_HOST} =www.example.org [NC]
    RewriteRule ^/(.*)$ https://example.org/$1 [L,R=301]
    	ServerAdmin web@example.org
    <Location /x>
      Require all denied
    </Location>
</VirtualHost>
CONF
printf '\r' | cat - /dev/null >/dev/null # (the CRLF line of config is kept as given)
check
diff <(tr -d '\r' <"$CONF/sites-available/good.conf") "$T/want.conf" >"$T/diff" || fail "$CASE: generated config differs: $(cat "$T/diff")"
check
grep -q $'ServerAdmin web@example.org\r$' "$CONF/sites-available/good.conf" || fail "$CASE: CRLF of config not kept"
apply "$T/good.lua"
assert_summary 0 0

# The cookbooks check their attributes before declaring anything. Always
# why-run (-n): should a check ever let a value through, the machine is
# still left alone.
KITCHEN="$T/kitchen"
mkdir -p "$KITCHEN"
cp -r "$SRC/cookbooks" "$KITCHEN/"
kbad() {
	CASE=$1
	local attr=$2
	shift 2
	if [ "${attr#-j}" != "$attr" ]; then set -- -j "${attr#-j}" "$@"; else set -- --attr "$attr" "$@"; fi
	run apply -n --state-dir "$STATE" --no-color -k "$KITCHEN" --attr "apache2.instance=sbx$$" "$1" "$2" recipe:cc_site
	shift 2
	assert_code 2 "$CASE"
	for text in "$@"; do
		check
		printf '%s' "$ERR" | grep -qF -- "$text" || fail "$CASE: stderr lacks: $text"
	done
	assert_no_file "/etc/apache2-sbx$$"
	rm -rf "$STATE"
}
kbad cc_server_name 'cc_site.server_name=x.org'"'"';touch /tmp/pwned' \
	"cookbooks/cc_site/recipes/default.lua:" "attribute cc_site.server_name = " "expected a host name"
kbad cc_dir 'cc_site.dir=/srv/a b' "attribute cc_site.dir = \"/srv/a b\"" "expected an absolute path"
kbad cc_dir_dots 'cc_site.dir=/srv/../etc' "attribute cc_site.dir = \"/srv/../etc\""
kbad cc_port 'cc_site.port=99999' "attribute cc_site.port = " "1-65535"
kbad cc_bind 'cc_site.bind=1.2.3.4 evil' "attribute cc_site.bind = "
kbad apache_instance 'apache2.instance=x;touch /tmp/pwned' "cookbooks/apache2/recipes/default.lua:" \
	"attribute apache2.instance = \"x;touch /tmp/pwned\""
printf '{ "apache2": { "listen": [ "80\\nListen 81" ] } }' >"$T/listen.json"
kbad apache_listen "-j$T/listen.json" "attribute apache2.listen[1] = \"80\\nListen 81\""

finish
