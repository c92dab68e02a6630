default.rewrite.path = "/var/tmp/ccchef-rewrite/redirects.conf"
default.rewrite.redirects = {}
