-- ccchef.attributes: layered node attributes and where each value came
-- from (the origin `ccchef attrs` shows: file:line).
local attributes = require("ccchef.attributes")

local function origin_of(set, path)
  for _, leaf in ipairs(set:leaves()) do
    if leaf.path == path then return leaf.origin, leaf.value end
  end
  return nil
end

test("later layers win key by key; tables merge", function()
  local s = attributes.new()
  s:merge({ web = { port = 80, name = "a" } }, "cookbooks/web/attributes/default.lua:1")
  s:merge({ web = { port = 8080 } }, "roles/web.lua:3")
  eq(s.values.web.port, 8080); eq(s.values.web.name, "a")
  eq(origin_of(s, "web.port"), "roles/web.lua:3")
  eq(origin_of(s, "web.name"), "cookbooks/web/attributes/default.lua:1")
end)

test("lists replace, they do not merge by index", function()
  local s = attributes.new()
  s:merge({ hosts = { "x", "y", "z" } }, "a")
  s:merge({ hosts = { "q" } }, "b")
  eq(#s.values.hosts, 1); eq(s.values.hosts[1], "q")
  local origin, value = origin_of(s, "hosts")
  eq(origin, "b"); eq(value[1], "q")
end)

test("a scalar replacing a table drops the table's origins, and back", function()
  local s = attributes.new()
  s:merge({ db = { host = "h", port = 1 } }, "a")
  s:merge({ db = "none" }, "b")
  eq(s.values.db, "none")
  eq(s.origin["db.host"], nil); eq(s.origin["db"], "b")
  s:merge({ db = { host = "k" } }, "c")
  eq(s.values.db.host, "k"); eq(s.origin["db"], nil); eq(s.origin["db.host"], "c")
end)

test("leaves are sorted, with empty tables as leaves of their own", function()
  local s = attributes.new()
  s:merge({ b = 1, a = { y = 2, x = {} } }, "f")
  local paths = {}
  for _, leaf in ipairs(s:leaves()) do paths[#paths + 1] = leaf.path end
  eq(table.concat(paths, " "), "a.x a.y b")
  eq(origin_of(s, "a.x"), "f")
end)

test("an attribute file's assignments record file and line", function()
  local s = attributes.new()
  local default = attributes.recorder(s, "cookbooks/web/attributes/default.lua")
  local line = debug.getinfo(1, "l").currentline + 1
  default.web.port = 80
  default.web.tls.enabled = true
  eq(s.values.web.port, 80); eq(s.values.web.tls.enabled, true)
  eq(origin_of(s, "web.port"), "cookbooks/web/attributes/default.lua:" .. line)
  eq(origin_of(s, "web.tls.enabled"), "cookbooks/web/attributes/default.lua:" .. (line + 1))
  -- Reading back sees what was set so far.
  eq(default.web.port, 80)
end)
