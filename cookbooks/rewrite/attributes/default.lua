default.rewrite.path = "/var/tmp/ccchef-rewrite/redirects.conf"
default.rewrite.redirects = {}
-- The site a `redirect` resource without `site = ...` belongs to: its
-- snippet is CONF_DIR/redirects/SITE.conf (cookbooks/rewrite/resources/
-- redirect.lua). A kitchen with one site sets it once, in a role or with
-- --attr, and its redirects need not name the site.
default.rewrite.site = "default"
