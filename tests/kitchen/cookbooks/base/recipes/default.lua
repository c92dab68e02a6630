local root = node.base.root
directory(root) { mode = "0755" }
file(root .. "/motd") { content = node.base.motd .. " to " .. node.hostname .. "\n" }
base_banner "login" { path = root .. "/banner", text = "env=" .. node.app.env_name }
