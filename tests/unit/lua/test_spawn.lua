-- ccchef.spawn: children on one libuv loop, their output line by line,
-- each exit after its last line.
local spawn = require("ccchef.spawn")

local function collect(g)
  local by = {}
  for ev in g.next, g do
    local t = by[ev.id] or { out = {}, err = {} }
    by[ev.id] = t
    if ev.exit then
      ok(not t.exit, "one exit event")
      t.exit, t.status, t.signal = true, ev.status, ev.signal
    else
      ok(not t.exit, "no line after the exit event")
      local list = ev.stream == "stdout" and t.out or t.err
      list[#list + 1] = ev.line
    end
  end
  return by
end

test("lines of both streams, a last line without newline, the status", function()
  local g = spawn.group()
  local id = g:start({ "/bin/sh", "-c", "echo one; echo err >&2; printf 'two\\nthree'; exit 3" })
  local by = collect(g)
  eq(table.concat(by[id].out, "|"), "one|two|three")
  eq(table.concat(by[id].err, "|"), "err")
  eq(by[id].status, 3)
  eq(by[id].signal, 0)
end)

test("many children at once, environment added", function()
  local g = spawn.group()
  local ids = {}
  for i = 1, 20 do
    ids[i] = g:start({ "/bin/sh", "-c", "for j in 1 2 3; do echo \"$X.$j\"; done" }, { "X=c" .. i })
  end
  local by = collect(g)
  for i = 1, 20 do
    eq(table.concat(by[ids[i]].out, ","), string.format("c%d.1,c%d.2,c%d.3", i, i, i))
    eq(by[ids[i]].status, 0)
  end
end)

test("a long line arrives whole", function()
  local g = spawn.group()
  local id = g:start({ "/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo" })
  local by = collect(g)
  eq(#by[id].out, 1)
  eq(#by[id].out[1], 300000)
end)

test("kill and signal", function()
  local g = spawn.group()
  local id = g:start({ "/bin/sh", "-c", "echo started; exec sleep 30" })
  local first = g:next()
  eq(first.line, "started")
  g:kill(id, 9)
  local by = collect(g)
  eq(by[id].signal, 9)
end)

test("a program that does not exist", function()
  local g = spawn.group()
  local id, err = g:start({ "/nonexistent/program" })
  eq(id, nil)
  ok(err:find("cannot start /nonexistent/program", 1, true), err)
  eq(g:next(), nil, "nothing is left running")
end)

test("a group collected while children run kills them", function()
  local g = spawn.group()
  g:start({ "/bin/sh", "-c", "echo $$; exec sleep 30" })
  local pid = tonumber(g:next().line)
  ok(pid, "the child's pid")
  eq(os.execute("kill -0 " .. pid .. " 2>/dev/null"), true, "running before")
  g = nil
  collectgarbage()
  collectgarbage()
  eq(os.execute("kill -0 " .. pid .. " 2>/dev/null"), nil, "killed and reaped after")
end)

test("exepath", function()
  local p = spawn.exepath()
  ok(p and p:sub(1, 1) == "/", p)
end)
