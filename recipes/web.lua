-- recipes/web.lua: what `make demo` converges. This machine becomes a web
-- node: Debian's apache2 installed and running, serving the cc_site
-- cookbook's example site (its own pages and rewrite rules, plus redirects
-- kept as data) on port 8080. Run from the project root, whose cookbooks/
-- make it a kitchen:
--
--     ccchef apply recipes/web.lua
--
-- Point the same cookbook at another site with attributes, e.g. the
-- creativecommons.org config:
--
--     ccchef apply --attr cc_site.template=../shared/fixtures/creativecommons.org/apache.conf \
--       --attr cc_site.docroot_source=../shared/fixtures/creativecommons.org/docroot \
--       --attr cc_site.port=8080 recipe:cc_site
include_recipe "cc_site"

-- What to ask the site, once converged (the demo runs these).
local port = node.cc_site.port
print("the example site's rewrites, once converged:")
for _, path in ipairs({ "/choose", "/licenses/by/4.0/legalcode", "/about.php", "/old-about", "/blog", "/retired" }) do
  print(string.format("  curl -sI http://127.0.0.1:%d%s", port, path))
end
