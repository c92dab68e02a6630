-- ccchef.sandbox and ccchef.budget: the environment of user code and its instruction budget;
-- the template limits built on it (ccchef.template).
local sandbox = require("ccchef.sandbox")
local budget = require("ccchef.budget")
local template = require("ccchef.template")

local function exceeded(file, line)
  return string.format("budget:%s:%s", tostring(file), tostring(line))
end

local function chunk(src, env)
  return assert(load(src, "@user.lua", "t", env or sandbox.env()))
end

test("an endless loop ends with the budget's error, naming the user line", function()
  local good, err = budget.pcall(100000, exceeded, chunk("local n = 0\nwhile true do n = n + 1 end"))
  eq(good, false)
  eq(err, "budget:user.lua:2")
  eq(debug.gethook(), nil, "hook removed")
end)

test("user code cannot catch the budget's error with pcall or xpcall", function()
  local src = "while true do pcall(function() while true do end end); xpcall(function() while true do end end, function() while true do end end) end"
  local good, err = budget.pcall(100000, exceeded, chunk(src))
  eq(good, false)
  ok(tostring(err):find("^budget:user.lua:1"), err)
end)

test("code within the budget returns its results", function()
  local good, a, b = budget.pcall(100000, exceeded, function(x) return x + 1, "two" end, 1)
  eq(good, true)
  eq(a, 2)
  eq(b, "two")
  local good2, err = budget.pcall(100000, exceeded, function() error("plain", 0) end)
  eq(good2, false)
  eq(err, "plain")
end)

test("nested budgets: the inner one ends alone, the outer one counts on", function()
  local inner_result
  local good, err = budget.pcall(200000, exceeded, function()
    inner_result = { budget.pcall(1000, exceeded, chunk("while true do end")) }
    -- still bounded by the outer budget after the inner one returned
    chunk("while true do end")()
  end)
  eq(inner_result[1], false)
  eq(inner_result[2], "budget:user.lua:1")
  eq(good, false)
  eq(err, "budget:user.lua:1")
  eq(debug.gethook(), nil)
end)

test("the environment: no exit, execute, io, require, dofile, debug", function()
  local env = sandbox.env()
  eq(env.os.exit, nil)
  eq(env.os.execute, nil)
  eq(env.os.remove, nil)
  eq(env.io, nil)
  eq(env.require, nil)
  eq(env.dofile, nil)
  eq(env.loadfile, nil)
  eq(env.debug, nil)
  eq(env.string.dump, nil)
  eq(type(env.os.time()), "number")
  eq(env._G, env)
end)

test("library tables are private copies", function()
  local env = sandbox.env()
  chunk("string.format = nil; table.concat = nil; function string.shout(s) return s:upper() end", env)()
  eq(type(string.format), "function")
  eq(type(table.concat), "function")
  eq(string.shout, nil)
  eq(("%d"):format(7), "7")
  eq(sandbox.env().string.shout, nil, "another environment is not affected")
end)

test("metatables: the engine's are hidden, the user's are theirs, no __gc", function()
  local env = sandbox.env()
  eq(env.getmetatable(""), nil)
  local engine_table = setmetatable({}, { __index = {} })
  eq(env.getmetatable(engine_table), nil)
  ok(not pcall(env.setmetatable, engine_table, nil), "engine metatable replaced")
  local mine = env.setmetatable({}, { __index = { v = 1 } })
  eq(mine.v, 1)
  eq(env.getmetatable(mine).__index.v, 1)
  ok(not pcall(env.setmetatable, {}, { __gc = function() end }), "__gc accepted")
end)

test("load: text only, in the sandbox", function()
  local env = sandbox.env()
  local f = env.load("return os.exit")
  eq(f(), nil)
  local good, err = pcall(env.load, "return 1", "x", "b")
  eq(good, false)
  ok(err:find("only text chunks"), err)
  local g = env.load("return x", "x", "t", { x = 5 })
  eq(g(), 5)
  eq(env.load(string.dump(function() end)), nil, "bytecode loaded")
end)

test("read-only views for templates", function()
  local views = sandbox.readonly_libraries()
  eq(views.string.upper("a"), "A")
  ok(not pcall(function() views.string.upper = nil end), "view writable")
  local n = 0
  for _ in pairs(views.math) do n = n + 1 end
  ok(n > 10, "pairs over a view")
end)

local function render(src, vars)
  local t, err = template.compile(src, "t.tmpl")
  if not t then return nil, err end
  return t:render(vars or {})
end

test("template output is bounded and the message names the template", function()
  local saved = template.MAX_OUTPUT
  template.MAX_OUTPUT = 100
  local out, err = render("{% for i = 1, 100 do %}0123456789{% end %}")
  local rep_out, rep_err = render('{{ ("ab"):rep(60) }}')
  local fine = render("{% for i = 1, 10 do %}0123456789{% end %}")
  template.MAX_OUTPUT = saved
  eq(out, nil)
  ok(err:find("t.tmpl:1: template t.tmpl: output larger than 100 bytes", 1, true), err)
  eq(rep_out, nil)
  ok(rep_err:find("string.rep would make 120 bytes", 1, true), rep_err)
  eq(#fine, 100)
  -- Lua's own string methods are back after a render, also a failed one.
  eq(#("ab"):rep(60), 120)
end)

test("templates cannot change libraries or reach os.exit", function()
  local out, err = render("{% string.format = nil %}")
  eq(out, nil)
  ok(err:find("string is read-only in templates", 1, true), err)
  out, err = render("{% os.exit(0) %}")
  eq(out, nil)
  ok(err:find("t.tmpl:1:", 1, true), err)
  eq(render("{{ os.date('!%Y', 0) }}"), "1970")
end)

test("a table the template raises is not turned into text by its __tostring", function()
  local evil = setmetatable({}, { __tostring = function() error("must not run") end })
  local out, err = render("{% error(e) %}", { e = evil })
  eq(out, nil)
  eq(err, "t.tmpl: the template raised an error that is a table, not a message")
end)
