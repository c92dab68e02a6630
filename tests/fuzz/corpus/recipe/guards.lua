execute "migrate" {
  command = "echo migrate",
  cwd = "/tmp",
  only_if = "test -d /srv",
  not_if = function() return false end,
}
package "curl" { action = "install" }
template "/etc/motd" { source = "motd.tmpl", variables = { who = "fuzz" } }
user "deploy" { home = "/home/deploy", shell = "/bin/sh" }
group "deployers" { members = { "deploy" } }
