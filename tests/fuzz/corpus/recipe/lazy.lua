local port = 8080
for i = 1, 3 do
  file("/tmp/f" .. i) { content = function() return tostring(port + i) end }
end
file "/tmp/sub" { content = "x", subscribes = { "restart", "service[nope]" } }
