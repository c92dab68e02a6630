-- ccchef.node_query: nodes() answers from an inventory, records what it
-- answered, ships only those entries, and answers the same on the node.
local nq = require("ccchef.node_query")

local inv = {
  lb1 = { host = "127.0.0.1", roles = { "lb" }, environment = "live", user = "root" },
  e10 = { host = "10.0.0.10", port = 81, roles = { "engine" }, environment = "live",
          user = "deploy", run_list = { "recipe:x" }, state_dir = "/s", attributes = { w = 1 } },
  e2 = { roles = { "engine" }, environment = "live" },
  d1 = { roles = { "engine" } },
  db = { roles = { "db" }, environment = "live", attributes = { password = "p" } },
}

local function names(list)
  local out = {}
  for i, n in ipairs(list) do out[i] = n.name end
  return table.concat(out, ",")
end

test("role, name, *, environments, natural order", function()
  local v = nq.from_inventory(inv, "live")
  eq(names(nq.query(v, "role:engine")), "e2,e10")
  eq(names(nq.query(v, "role:engine", { environment = "any" })), "d1,e2,e10")
  eq(names(nq.query(v, "role:engine", { environment = "_default" })), "d1")
  eq(names(nq.query(v, "name:db")), "db")
  eq(names(nq.query(v, "*")), "db,e2,e10,lb1")
  eq(names(nq.query(nq.from_inventory(inv, nil), "role:engine")), "d1", "no environment is _default")
  eq(names(nq.query(nil, "role:engine")), "", "no inventory: no nodes")
end)

test("entries are copies of what a recipe may see", function()
  local v = nq.from_inventory(inv, "live")
  local e = nq.query(v, "name:e10")[1]
  eq(e.host, "10.0.0.10"); eq(e.port, 81); eq(e.environment, "live"); eq(e.roles[1], "engine")
  eq(e.attributes.w, 1); eq(e.user, nil); eq(e.run_list, nil); eq(e.state_dir, nil)
  eq(nq.query(v, "name:e2")[1].host, "e2", "host defaults to the name")
  e.attributes.w = 5
  eq(inv.e10.attributes.w, 1, "the inventory is not changed through a result")
  eq(nq.query(v, "name:e10")[1].attributes.w, 1)
end)

test("shipped: only the selected entries, and the answers; replayed the same on the node", function()
  local v = nq.from_inventory(inv, "live")
  nq.query(v, "role:engine")
  local s = nq.shipped(v)
  local shipped = {}
  for name, e in pairs(s.entries) do
    shipped[#shipped + 1] = name
    eq(e.user, nil, "no user shipped for " .. name)
  end
  table.sort(shipped)
  eq(table.concat(shipped, ","), "e10,e2", "db's password and lb1 stay on the controller")
  local node = nq.from_bundle(s.entries, s.answers, "live")
  eq(names(nq.query(node, "role:engine")), "e2,e10")
  eq(nq.query(node, "role:engine")[2].attributes.w, 1)
  local ok_, err = pcall(nq.query, node, "role:db")
  eq(ok_, false)
  eq(err.kind, "input")
  ok(err.message:find("was not asked when the controller compiled", 1, true), err.message)
  ok_, err = pcall(nq.query, node, "role:engine", { environment = "any" })
  eq(ok_, false, "another environment is another query")
end)

test("misuse raises", function()
  local v = nq.from_inventory(inv, "live")
  for _, args in ipairs({ { "engine" }, { 1 }, { "role:" }, { "role:a b" }, { "host:x" },
      { "role:x", { env = "a" } }, { "role:x", "live" }, { "role:x", { environment = "" } } }) do
    local ok_ = pcall(nq.query, v, args[1], args[2])
    eq(ok_, false, tostring(args[1]))
  end
end)
