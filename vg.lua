directory "/tmp/cct/vgd" { mode = "0750" }
file "/tmp/cct/vgd/f" { content = "hello\n", notifies = { "run", "execute[touch]" } }
link "/tmp/cct/vgd/l" { to = "/tmp/cct/vgd/f" }
template "/tmp/cct/vgd/t" { source = "ok.tmpl", vars = { items = {"a","b"} } }
execute "touch" { command = "touch /tmp/cct/vgd/touched", action = "nothing" }
execute "echo hi" {}
