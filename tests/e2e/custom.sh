#!/bin/bash
# Custom resources: first run, second run 0 updated, why-run changes
# nothing, notifications from a custom resource fire when something inside
# it changed, guards, nested custom resources, compile-time validation with
# file and line; and the shipped rewrite_redirects resource.
. "$(dirname "$0")/lib/common.sh"
: "${SRC:?}"
K="$T/k"
mkdir -p "$K/cookbooks/site/resources" "$K/cookbooks/site/templates" "$K/cookbooks/site/recipes"
cat >"$K/cookbooks/site/resources/page.lua" <<'LUA'
return {
  properties = {
    dir = { type = "path", required = true },
    title = { type = "string", required = true },
    mode = { type = "mode", default = "0644" },
  },
  default_action = "create",
  actions = {
    create = function(r)
      directory(r.dir) {}
      template(r.dir .. "/" .. r.name .. ".html") {
        source = "page.tmpl", vars = { title = r.title }, mode = string.format("%04o", r.mode),
      }
    end,
    delete = function(r)
      file(r.dir .. "/" .. r.name .. ".html") { action = "delete" }
    end,
  },
}
LUA
cat >"$K/cookbooks/site/templates/page.tmpl" <<'TMPL'
<h1>{{ title }}</h1>
TMPL
cat >"$K/r.lua" <<LUA
site_page "index" { dir = "$T/www", title = "Home", notifies = { "run", "execute[publish]" } }
site_page "about" { dir = "$T/www", title = "About", not_if = "test -e $T/skip-about" }
execute "publish" { command = "echo published >> $T/published", action = "nothing" }
LUA
cd "$K" || exit 1

apply -n r.lua
assert_code 0 "why-run first"
assert_out "would-update site_page[index]"
assert_out "would notify execute[publish]"
assert_no_file "$T/www"
assert_no_file "$T/published"

apply r.lua
assert_code 0 "first run"
assert_summary 3 0
assert_content "$T/www/index.html" "<h1>Home</h1>"
assert_content "$T/www/about.html" "<h1>About</h1>"
assert_mode "$T/www/index.html" 644
assert_content "$T/published" "published"

apply r.lua
assert_code 0 "second run"
assert_summary 0 0
assert_content "$T/published" "published"

# A change inside marks the custom resource updated and fires its notification.
echo tampered >"$T/www/index.html"
apply r.lua
assert_summary 2 0
assert_out "updated      site_page[index]"
assert_content "$T/published" "$(printf 'published\npublished')"

# Guards on a custom resource.
touch "$T/skip-about"
rm "$T/www/about.html"
apply -l info r.lua
assert_out "skipped"
assert_no_file "$T/www/about.html"

# Bad input on a custom resource is found at compile time with file and line.
cat >"$K/bad1.lua" <<LUA
file "$T/must-not-exist" { content = "x" }
site_page "x" { dir = "$T/www", titel = "X" }
LUA
apply bad1.lua
assert_code 2 "unknown property"
assert_err "bad1.lua:2: site_page[x]: unknown property 'titel' (did you mean 'title'?)"
assert_no_file "$T/must-not-exist"
cat >"$K/bad2.lua" <<LUA
site_page "x" { dir = "$T/www" }
LUA
apply bad2.lua
assert_code 2 "missing required"
assert_err "bad2.lua:1: site_page[x]: missing required property 'title'"
cat >"$K/bad3.lua" <<LUA
site_page "x" { dir = "relative", title = "t" }
LUA
apply bad3.lua
assert_code 2 "bad path"
assert_err "bad3.lua:1: site_page[x]: property 'dir': path \"relative\" is not absolute"
cat >"$K/bad4.lua" <<LUA
site_page "x" { dir = "$T/www", title = "t", action = "publish" }
LUA
apply bad4.lua
assert_code 2 "unknown action"
assert_err "unknown action 'publish'"

# The shipped rewrite cookbook: redirects as data -> Apache rewrite snippet.
cat >"$T/redir.lua" <<LUA
directory "$T/apache" {}
rewrite_redirects "legacy" {
  path = "$T/apache/legacy.conf",
  rules = {
    { "/choose", "/choose/", 301 },
    { from = "^/licenses/(.*)\$", to = "/l/\$1", status = 302, regex = true },
    { "/old-page", nil, 410 },
    { "/about", "/about.html", "internal" },
    { "/", "https://new.example.org/", 301, host = "old.example.org" },
    { "/docs/", "/manual/", 301, trailing_slash = "optional" },
  },
}
LUA
apply -k "$SRC" "$T/redir.lua"
assert_code 0 "rewrite_redirects"
cat >"$T/want.conf" <<'CONF'
# Managed by ccchef: rewrite_redirects[legacy]. Edits are replaced.
RewriteEngine On
RewriteRule ^/choose$ /choose/ [R=301,L]
RewriteRule ^/licenses/(.*)$ /l/$1 [R=302,L]
RewriteRule ^/old-page$ - [G]
RewriteRule ^/about$ /about.html [PT,L]
RewriteCond %{HTTP_HOST} ^old\.example\.org$ [NC]
RewriteRule ^/?$ https://new.example.org/ [R=301,L]
RewriteRule ^/docs/?$ /manual/ [R=301,L]
CONF
check; diff -u "$T/want.conf" "$T/apache/legacy.conf" >&2 || fail "rewrite snippet"
apply -k "$SRC" "$T/redir.lua"
assert_summary 0 0
cat >"$T/redir-bad.lua" <<LUA
rewrite_redirects "bad" { path = "$T/apache/bad.conf", rules = { { "/a", "/b", 404 } } }
LUA
apply -k "$SRC" "$T/redir-bad.lua"
assert_code 1 "bad status"
assert_out "status must be 301, 302, 303, 307, 308, 410"
assert_no_file "$T/apache/bad.conf"

finish
