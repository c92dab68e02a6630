local log = "/tmp/ct/n.log"
file "/tmp/ct/n1" { content = "1\n", notifies = { "run", "execute[restart]" } }
file "/tmp/ct/n2" { content = "2\n", notifies = { { "run", "execute[restart]" }, { "run", "execute[now]", "immediately" } } }
execute "after n2" { command = "echo after-n2 >> " .. log }
execute "now" { command = "echo now >> " .. log, action = "nothing" }
execute "restart" { command = "echo restart >> " .. log, action = "nothing" }
execute "sub" { command = "echo sub >> " .. log, action = "nothing", subscribes = { "run", "file[/tmp/ct/n1]" } }
