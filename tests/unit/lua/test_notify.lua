-- ccchef.notify and notification resolution (ccchef.compile): errors by
-- their fields, the delayed queue, immediate loops, and the journal of a
-- failed run. The engine's converge is passed to notify as an argument;
-- here a recording stand-in is passed the same way.
local compile = require("ccchef.compile")
local errors = require("ccchef.errors")
local notify = require("ccchef.notify")
local state = require("ccchef.state")
local sys = require("ccchef.sys")

local tmp = os.tmpname()
os.remove(tmp)
assert(sys.mkdir(tmp, 448))

local n = 0
local function compile_text(text, opts)
  n = n + 1
  local path = string.format("%s/recipe%d.lua", tmp, n)
  assert(sys.write(path, text, 420))
  local ok_, run = pcall(compile.compile, opts or { why_run = true, reporter = {} }, { path })
  if ok_ then return run, path end
  return nil, run, path
end

-- A reporter that keeps what it is given.
local function recorder()
  local rep = { events = {}, messages = {} }
  function rep:resource(ev) self.events[#self.events + 1] = ev end
  function rep:message(level, text) self.messages[#self.messages + 1] = { level = level, text = text } end
  return rep
end

test("notifying a resource that is not declared: kind, file, line, resource", function()
  local run, e, path = compile_text('\nfile "/tmp/a" { notifies = { "restart", "service[apahce2]" } }\n')
  eq(run, nil)
  ok(errors.is(e)); eq(e.kind, "input"); eq(e.file, path); eq(e.line, 2); eq(e.resource, "file[/tmp/a]")
  ok(e.message:find("not declared in this run", 1, true), e.message)
end)

test("notifying an action the target does not have", function()
  local run, e = compile_text('service "x" {}\nfile "/tmp/a" { notifies = { "explode", "service[x]" } }\n')
  eq(run, nil)
  eq(e.kind, "input"); eq(e.line, 2); eq(e.resource, "file[/tmp/a]")
  ok(e.message:find("service[x] has no action 'explode'", 1, true), e.message)
end)

test("subscribes is notifies written from the other end", function()
  local run = compile_text('file "/tmp/a" {}\nservice "x" { subscribes = { "restart", "file[/tmp/a]" } }\n')
  local a = run.collection[1]
  eq(#a.notify_list, 1)
  eq(a.notify_list[1].target, run.collection[2])
  eq(a.notify_list[1].action, "restart")
  eq(a.notify_list[1].timing, "delayed")
end)

-- A run ready for notify: start() gives it the queue and the journal.
local function started(text, why_run)
  local dir = string.format("%s/state%d", tmp, n + 1)
  -- The engine makes the state directory when it takes the lock.
  if not sys.stat(dir) then assert(sys.mkdir(dir, 448)) end
  local run = assert(compile_text(text, { why_run = why_run, state_dir = dir, reporter = {} }))
  run.reporter = recorder()
  notify.start(run)
  return run, dir
end

test("the delayed queue holds each action once, runs it through the engine's function", function()
  local run = started('service "x" {}\nfile "/tmp/a" {}\n', true)
  local x = run.collection[1]
  notify.queue(run, "restart", x, "file[/tmp/a]")
  notify.queue(run, "restart", x, "file[/tmp/b]")
  eq(#run.delayed, 1)
  eq(run.delayed[1].via, "file[/tmp/a] (delayed)")
  local calls = {}
  local function converge(r, target, actions, via)
    eq(r, run)
    calls[#calls + 1] = { target = target, action = actions[1], via = via }
    return true
  end
  ok(notify.run_delayed(run, function() return false end, converge))
  eq(#calls, 1); eq(calls[1].target, x); eq(calls[1].action, "restart")
end)

test("a queued restart covers a queued reload (subsumes)", function()
  local run = started('service "x" {}\n', true)
  local x = run.collection[1]
  notify.queue(run, "reload", x, "a")
  notify.queue(run, "restart", x, "b")
  local ran = {}
  ok(notify.run_delayed(run, function() return false end, function(_, _, actions)
    ran[#ran + 1] = actions[1]
    return true
  end))
  eq(#ran, 1); eq(ran[1], "restart")
  ok(run.reporter.messages[1].text:find("reload service[x] not needed", 1, true))
end)

test("a failed delayed notification stops the queue and stays pending", function()
  local run = started('service "x" {}\nservice "y" {}\n', true)
  notify.queue(run, "restart", run.collection[1], "a")
  notify.queue(run, "restart", run.collection[2], "b")
  ok(not notify.run_delayed(run, function() return false end, function() return false end))
  eq(run.next_delayed, 1)
end)

test("immediate notifications that come back round fail the target, with an event", function()
  local run = started('execute "a" { command = "true" }\nexecute "b" { command = "true" }\n', true)
  local a, b = run.collection[1], run.collection[2]
  local converge
  converge = function(r, target, actions, via)
    local from = target
    local to = target == a and b or a
    return notify.now(r, from, { target = to, action = "run", timing = "immediately" }, converge)
  end
  ok(not notify.now(run, a, { target = b, action = "run", timing = "immediately" }, converge))
  local ev = run.reporter.events[#run.reporter.events]
  eq(ev.status, "failed"); eq(ev.resource, "execute[a]"); eq(ev.via, "execute[b]")
  ok(ev.error:find("execute[a] -> execute[b] -> execute[a]", 1, true), ev.error)
  eq(a.status, "failed")
  eq(run.failure, ev)
end)

test("a change's notifications are journaled before it; a failed run leaves them pending", function()
  local run, dir = started('service "x" {}\nfile "/tmp/a" { notifies = { "restart", "service[x]" } }\n', false)
  local f = run.collection[2]
  notify.before_change(run, f)
  local pending = state.load_pending(dir)
  eq(#pending, 1)
  eq(pending[1].action, "restart"); eq(pending[1].ref, "service[x]"); eq(pending[1].from, "file[/tmp/a]")
  notify.after_change(run, true)
  notify.queue(run, "restart", run.collection[1], f.ref)
  notify.finish(run, false)
  pending = state.load_pending(dir)
  eq(#pending, 1); eq(pending[1].timing, "delayed")
  -- A run that ends cleanly removes the journal.
  local again = started('service "x" {}\n', false)
  again.opts.state_dir, again.wal.dir = dir, dir
  notify.replay_pending(again)
  eq(#again.delayed, 1); eq(again.delayed[1].target, again.collection[1])
  ok(notify.run_delayed(again, function() return false end, function() return true end))
  notify.finish(again, true)
  eq(#state.load_pending(dir), 0)
end)

sys.remove_tree(tmp)
