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

# provides (Chef's `provides :page`): the type is named by the definition,
# node is there in its actions, and a type provided twice (or a built-in
# name) is an error naming both files.
K2="$T/k2"
mkdir -p "$K2/cookbooks/blog/resources" "$K2/cookbooks/blog/templates" "$K2/cookbooks/wiki/resources"
cat >"$K2/cookbooks/blog/resources/post.lua" <<'LUA'
return {
  provides = "post",
  properties = { dir = { type = "path", required = true } },
  actions = {
    create = function(r)
      template(r.dir .. "/" .. r.name .. ".html") { source = "post.tmpl", vars = { title = r.name, by = node.hostname } }
    end,
  },
}
LUA
printf '<h1>{{ title }}</h1> by {{ by }} on {{ node.hostname }}\n' >"$K2/cookbooks/blog/templates/post.tmpl"
mkdir -p "$T/blog"
cat >"$K2/r.lua" <<LUA
post "hello" { dir = "$T/blog" }
LUA
cd "$K2" || exit 1
apply r.lua
assert_code 0 "provides"
assert_out "updated      post[hello]"
assert_content "$T/blog/hello.html" "<h1>hello</h1> by $(hostname) on $(hostname)"
cat >"$K2/old.lua" <<LUA
blog_post "x" { dir = "$T/blog" }
LUA
apply old.lua
assert_code 2 "a provided type has only its provided name"
assert_err "unknown resource type or undefined name 'blog_post'"

# A bad template inside a custom resource is a compile error: nothing before it changes.
printf '<h1>{{ title }}</h1> {{ nope }}\n' >"$K2/cookbooks/blog/templates/post.tmpl"
cat >"$K2/first.lua" <<LUA
file "$T/blog/first" { content = "x" }
post "second" { dir = "$T/blog" }
LUA
apply first.lua
assert_code 2 "template error inside a custom resource at compile time"
assert_err "cookbooks/blog/templates/post.tmpl:1: undefined variable 'nope' (declared by action 'create' of post[second] at first.lua:2)"
assert_no_file "$T/blog/first"
printf '<h1>{{ title }}</h1>\n' >"$K2/cookbooks/blog/templates/post.tmpl"

# The compile-time run of an action prints nothing: print() shows once.
cat >"$K2/cookbooks/blog/resources/hello.lua" <<'LUA'
return { provides = "blog_hello", actions = { create = function(r) print("hello from " .. r.name) end } }
LUA
echo 'blog_hello "x" {}' >"$K2/hello.lua"
apply hello.lua
assert_code 0 "print in an action"
assert_eq "$(printf '%s\n' "$OUT" | grep -c "hello from x")" 1 "lines printed by the action"

# The stderr line of a failing resource inside a custom resource carries
# the inner error and the first lines of its output.
cat >"$K2/cookbooks/blog/resources/check.lua" <<'LUA'
return {
  provides = "blog_check",
  actions = { run = function(r)
    execute "configtest" { command = "echo 'AH00526: Syntax error on line 3 of /x/site.conf:'; echo \"Invalid command 'Frob'\"; exit 1" }
  end },
}
LUA
cat >"$K2/check.lua" <<LUA
blog_check "c" {}
LUA
apply check.lua
assert_code 1 "inner failure"
assert_err "check.lua:1: blog_check[c]: execute[configtest] failed inside it (cookbooks/blog/resources/check.lua:4): command exited 1 (expected 0) (output: AH00526: Syntax error on line 3 of /x/site.conf: Invalid command 'Frob')"

cp "$K2/cookbooks/blog/resources/post.lua" "$K2/cookbooks/wiki/resources/article.lua"
apply r.lua
assert_code 2 "two cookbooks provide post"
assert_err "resource type post is defined twice, by cookbooks/blog/resources/post.lua and by cookbooks/wiki/resources/article.lua"
printf 'return { provides = "file", actions = { create = function(r) end } }\n' >"$K2/cookbooks/wiki/resources/article.lua"
apply r.lua
assert_code 2 "provides a built-in name"
assert_err "cookbooks/wiki/resources/article.lua: resource type file is ccchef's built-in type (lua/ccchef/resources/file.lua): cookbooks/wiki/resources/article.lua cannot provide it"
printf 'return { provides = "node", actions = { create = function(r) end } }\n' >"$K2/cookbooks/wiki/resources/article.lua"
apply r.lua
assert_code 2 "provides a name recipes use"
assert_err "provides = \"node\": recipes already use the name node for something else"
rm "$K2/cookbooks/wiki/resources/article.lua"

# An accumulator (docs/kitchen.md "Accumulators"): many resources, one file,
# declaration order, from two recipes; the shared resource is checked at
# compile time and takes the place of the first member.
mkdir -p "$K2/cookbooks/hosts/resources" "$K2/cookbooks/hosts/templates" "$K2/cookbooks/hosts/recipes"
cat >"$K2/cookbooks/hosts/resources/entry.lua" <<'LUA'
return {
  provides = "host_entry",
  properties = { ip = { type = "string", required = true }, file = { type = "path", required = true } },
  actions = { add = function(r) end },
  accumulate = function(r)
    local t = edit_resource("template", r.file, { source = "hosts.tmpl", vars = { entries = {} }, mode = "0644" })
    t.vars.entries[#t.vars.entries + 1] = { ip = r.ip, name = r.name }
  end,
}
LUA
printf '{%% for _, e in ipairs(entries) do -%%}\n{{ e.ip }} {{ e.name }}\n{%% end -%%}\n' >"$K2/cookbooks/hosts/templates/hosts.tmpl"
cat >"$K2/cookbooks/hosts/recipes/a.lua" <<LUA
file "$T/before" { content = "x" }
host_entry "web" { ip = "10.0.0.2", file = "$T/hosts" }
host_entry "db" { ip = "10.0.0.3", file = "$T/hosts" }
LUA
cat >"$K2/cookbooks/hosts/recipes/b.lua" <<LUA
host_entry "cache" { ip = "10.0.0.1", file = "$T/hosts" }
LUA
apply -l debug recipe:hosts::a recipe:hosts::b
assert_code 0 "accumulator"
assert_content "$T/hosts" "$(printf '10.0.0.2 web\n10.0.0.3 db\n10.0.0.1 cache')"
assert_summary 2 0
check; printf '%s' "$OUT" | grep -E "^ +(updated|up-to-date) " | grep -A1 "file\[$T/before\]" | grep -q "template\[$T/hosts\]" || fail "the shared template comes right after the resource before the first member"
apply recipe:hosts::a recipe:hosts::b
assert_summary 0 0
cat >"$K2/cookbooks/hosts/recipes/b.lua" <<LUA
host_entry "cache" { ip = "10.0.0.1", file = "$T/hosts" }
template "$T/hosts" { source = "hosts.tmpl", vars = { entries = {} } }
LUA
apply recipe:hosts::a recipe:hosts::b
assert_code 2 "edit_resource of a recipe's own resource"
assert_err "a.lua:2: host_entry[web]: edit_resource: template[$T/hosts] is declared by a recipe (cookbooks/hosts/recipes/b.lua:2)"

finish
