-- recipes/demo.lua: a files-only example (no packages, no services): a
-- small site skeleton under
-- /var/tmp/ccchef-demo: directories, files, a template rendered from
-- node facts, a build step guarded so it runs once, and a notification.
local root = os.getenv("CCCHEF_DEMO_ROOT") or "/var/tmp/ccchef-demo"

directory(root) { mode = "0755" }
directory(root .. "/conf") { mode = "0750" }
directory(root .. "/public") { mode = "0755" }

file(root .. "/public/index.html") {
  content = "<h1>Hello from ccchef on " .. node.hostname .. "</h1>\n",
  mode = "0644",
}

template(root .. "/conf/site.conf") {
  source = "site.conf.tmpl",
  vars = {
    port = 8080,
    root = root .. "/public",
    redirects = {
      { from = "/old", to = "/new", status = 301 },
      { from = "/docs", to = "https://example.org/docs", status = 302 },
    },
  },
  mode = "0640",
  notifies = { "run", "execute[reload site]" },
}

-- Runs only when the site config changed (notified), never on its own.
execute "reload site" {
  command = "date -u +%FT%TZ >> " .. root .. "/reloads.log",
  action = "nothing",
}

-- Guarded: creates the search index once; later runs skip it.
execute "build search index" {
  command = "ls " .. root .. "/public > " .. root .. "/public/.index",
  creates = root .. "/public/.index",
}

link(root .. "/current") { to = root .. "/public" }
