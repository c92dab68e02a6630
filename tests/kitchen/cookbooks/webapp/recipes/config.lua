local root = node.base.root
template(root .. "/app.conf") {
  source = "app.conf.tmpl",
  vars = { app = node.app },
  notifies = { "run", "execute[app reload]" },
}
file(root .. "/logo.txt") { source = "logo.txt" }
webapp_vhost "main" { root = root, server_name = "app.example", redirects = node.app.redirects or {} }
execute "app reload" { command = "echo reload >> " .. root .. "/reloads", action = "nothing" }
