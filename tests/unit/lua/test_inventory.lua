-- ccchef.inventory: TARGETS to node specs, and nodes.lua checks.
local inventory = require("ccchef.inventory")
local bundle = require("ccchef.bundle")

local nodes = {
  web1 = { host = "10.0.0.1", roles = { "web", "engine" }, user = "deploy" },
  web2 = { roles = { "web" }, port = 2222 },
  db1 = { host = "db.example.org", roles = { "db" } },
}

local function names(list)
  local out = {}
  for _, n in ipairs(list) do out[#out + 1] = n.name end
  return table.concat(out, ",")
end

test("inventory names, roles, once each, in order", function()
  eq(names(inventory.resolve("db1,@web,web1", nodes)), "db1,web1,web2")
  local r = inventory.resolve("web2", nodes)
  eq(r[1].host, "web2", "host defaults to the name")
  eq(r[1].port, 2222)
  eq(r[1].from_inventory, true)
end)

test("literal targets", function()
  local r = inventory.resolve("root@127.0.0.1:2200,h:22,u@h,[::1]:23,plain", {})
  eq(r[1].user, "root"); eq(r[1].host, "127.0.0.1"); eq(r[1].port, 2200); eq(r[1].name, "root@127.0.0.1:2200")
  eq(r[2].user, nil); eq(r[2].host, "h"); eq(r[2].port, 22)
  eq(r[3].user, "u"); eq(r[3].host, "h"); eq(r[3].port, nil)
  eq(r[4].host, "::1"); eq(r[4].port, 23)
  eq(r[5].host, "plain", "a name for the ssh config"); eq(r[5].port, nil)
end)

test("unknown role is bad input", function()
  local ok_, e = pcall(inventory.resolve, "@nosuch", nodes)
  eq(ok_, false)
  eq(e.kind, "input")
  ok(tostring(e):find("no node in the inventory has the role 'nosuch'", 1, true), tostring(e))
end)

test("copies do not share tables with the inventory", function()
  local r = inventory.resolve("web1", nodes)
  r[1].roles[1] = "changed"
  eq(nodes.web1.roles[1], "web")
end)

local function load_text(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  local ok_, res = pcall(inventory.load, path, true)
  os.remove(path)
  return ok_, res
end

test("nodes.lua: unknown field, wrong type, not a table", function()
  local ok_, e = load_text("return { n = { hots = 'x' } }")
  eq(ok_, false)
  ok(tostring(e):find("node n: unknown field 'hots' (did you mean 'host'?)", 1, true), tostring(e))
  ok_, e = load_text("return { n = { port = '22' } }")
  ok(tostring(e):find("node n: port must be a number", 1, true), tostring(e))
  ok_, e = load_text("return 42")
  ok(tostring(e):find("must return a table of nodes by name", 1, true), tostring(e))
  ok_, e = load_text("return { n = { host = os.getenv('HOME') } }")
  eq(ok_, false, "nodes.lua cannot call anything")
end)

test("link_inside: the runner's rule", function()
  eq(bundle.link_inside("a/l", "x"), true)
  eq(bundle.link_inside("a/l", "../x"), true)
  eq(bundle.link_inside("a/l", "../../x"), false)
  eq(bundle.link_inside("l", "/etc"), false)
  eq(bundle.link_inside("l", "sub/../x"), true)
  eq(bundle.link_inside("l", "sub/../../x"), false)
end)

test("@role nodes and the node table in natural order", function()
  local many = {}
  for _, n in ipairs({ "n10", "n2", "n1", "web10a", "web9b", "n02" }) do many[n] = { roles = { "all" } } end
  eq(names(inventory.resolve("@all", many)), "n1,n02,n2,n10,web9b,web10a")
  eq(inventory.natural_less("node2", "node10"), true)
  eq(inventory.natural_less("node10", "node2"), false)
  eq(inventory.natural_less("a", "b"), true)
  eq(inventory.natural_less("x99999999999999999999", "x100000000000000000000"), true)
end)

test("--attr: JSON when it parses, else the string (one rule for apply, attrs, remote)", function()
  local options = require("ccchef.options")
  local converge = require("ccchef.converge")
  local function value(s)
    local path, v = options.parse_attr(s)
    return v, path and table.concat(path, ".")
  end
  eq(math.type((value("a.b=8080"))), "integer")
  eq(value('a.s="8080"'), "8080")
  eq(value("a.t=true"), true)
  local list = value("a.l=[1,2]")
  eq(type(list), "table"); eq(list[2], 2)
  eq(value("a.w=web01"), "web01")
  eq(value("a.p=../x.conf"), "../x.conf")
  eq(value("a.n=null"), "null")
  local _, path = value("web.tls.port=1")
  eq(path, "web.tls.port")
  eq(options.parse_attr("=x"), nil)
  eq(options.parse_attr("a..b=1"), nil)
  eq(options.parse_attr("novalue"), nil)
  eq(converge.exit_code({ input = true }, false), 2)
  eq(converge.exit_code({ input = true }, true), 1)
  eq(converge.exit_code({ failed = true, changed = true }, true), 6)
  eq(converge.exit_code({ changed = true }, false), 0)
  eq(require("ccchef.json").encode(require("ccchef.json").array()), "[]")
end)
