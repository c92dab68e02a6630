directory "/srv/www" { mode = "0755", owner = "root", group = "root" }
file "/srv/www/index.html" {
  content = "<h1>" .. (node.hostname or "?") .. "</h1>\n",
  mode = "0644",
  notifies = { "reload", "service[apache2]" },
}
file "/srv/www/old.html" { action = "delete" }
link "/srv/current" { to = "/srv/www" }
service "apache2" { action = { "enable", "start" } }
