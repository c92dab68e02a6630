-- ccchef.host's table helpers, which the engine copies properties with.
local host = require("ccchef.host")

test("copy is shallow, complete and independent", function()
  local inner = {}
  local t = { a = 1, b = "two", c = false, d = inner, [1] = "x", [2] = "y" }
  local c = host.copy(t, 3)
  ok(c ~= t, "a new table")
  local n = 0
  for k, v in pairs(t) do
    eq(c[k], v, "key " .. tostring(k))
    n = n + 1
  end
  local m = 0
  for _ in pairs(c) do m = m + 1 end
  eq(m, n, "same number of keys")
  eq(c.d, inner, "shallow")
  c.e = 5
  eq(t.e, nil, "the original is untouched")
end)

test("copy ignores metamethods", function()
  local t = setmetatable({ a = 1 }, { __index = function() return "meta" end, __pairs = error })
  local c = host.copy(t)
  eq(c.a, 1)
  eq(c.b, nil)
  eq(getmetatable(c), nil)
end)

test("copy and new_table refuse bad arguments", function()
  ok(not pcall(host.copy, "x"), "not a table")
  ok(not pcall(host.copy, {}, -1), "negative extra")
  ok(not pcall(host.new_table, 0, -1), "negative size")
  local t = host.new_table(2, 8)
  eq(next(t), nil, "new_table is empty")
end)

test("caller gives the function and line at a stack level", function()
  local function where() return host.caller(2) end
  local function probe()
    local f, line = where() -- this line
    return f, line
  end
  local f, line = probe()
  eq(f, probe)
  eq(line, debug.getinfo(probe, "S").linedefined + 1)
  eq(select("#", host.caller(1000)), 0, "no such level: nothing")
end)
