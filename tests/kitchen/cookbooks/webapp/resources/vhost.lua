-- webapp_vhost: nests base_banner (a custom resource in another cookbook).
return {
  properties = {
    root = { type = "path", required = true },
    server_name = { type = "string", required = true },
    redirects = { type = "table", default = {} },
  },
  actions = {
    create = function(r)
      directory(r.root .. "/vhosts") {}
      template(r.root .. "/vhosts/" .. r.server_name .. ".conf") {
        source = "vhost.conf.tmpl",
        vars = { name = r.server_name, redirects = r.redirects },
      }
      base_banner(r.server_name) { path = r.root .. "/vhosts/" .. r.server_name .. ".banner", text = r.server_name }
    end,
  },
}
