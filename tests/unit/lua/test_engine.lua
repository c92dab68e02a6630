-- ccchef.engine: the converge phase over a compiled run (ccchef.compile),
-- in a temporary directory, each converge with its own state directory.
-- Events and the summary are checked by their fields.
--
-- A run's locks are held until the process exits (src/lua_sys.c, l_lock),
-- and this file converges many times in one process: tests/meson.build
-- points CCCHEF_MACHINE_LOCK where no lock can be made (under /dev/null),
-- so each converge runs under its own state directory's lock alone, the
-- documented fallback (state.lua, M.lock), with its warning. The locks
-- themselves are tested end to end (tests/e2e/lock.sh).
local compile = require("ccchef.compile")
local engine = require("ccchef.engine")
local errors = require("ccchef.errors")
local Run = require("ccchef.run")
local sys = require("ccchef.sys")

local tmp = os.tmpname()
os.remove(tmp)
assert(sys.mkdir(tmp, 448))

local function recorder()
  local rep = { events = {}, messages = {} }
  function rep:run_start(info) self.start = info end
  function rep:resource(ev) self.events[#self.events + 1] = ev end
  function rep:message(level, text) self.messages[#self.messages + 1] = { level = level, text = text } end
  function rep:run_end(summary) self.summary = summary end
  return rep
end

local n = 0
-- Compiles text (%s is the temporary directory) and converges it.
-- Returns the summary, the reporter and the recipe's path.
local function converge(text, why_run)
  n = n + 1
  local path = string.format("%s/recipe%d.lua", tmp, n)
  assert(sys.write(path, text:gsub("%%T", tmp), 420))
  local rep = recorder()
  local run = compile.compile({ why_run = why_run, state_dir = string.format("%s/state%d", tmp, n), backup_dir = tmp .. "/backup",
    backups = 1, lock_timeout = 5, command_timeout = 30, reporter = rep }, { path })
  return engine.converge(run), rep, path
end

test("why-run reports what would change and changes nothing", function()
  local s, rep, path = converge('file "%T/a" { content = "x" }\n', true)
  eq(s.success, true); eq(s.why_run, true); eq(s.resources, 1); eq(s.updated, 1)
  local ev = rep.events[1]
  eq(ev.status, "would-update"); eq(ev.resource, "file[" .. tmp .. "/a]"); eq(ev.file, path); eq(ev.line, 1)
  eq(ev.action, "create")
  eq(sys.stat(tmp .. "/a"), nil)
  eq(rep.messages[1].level, "warn")
  ok(rep.messages[1].text:find("cannot take the machine-wide lock", 1, true), rep.messages[1].text)
end)

test("a converge makes the change once; the next run is up to date", function()
  local s, rep = converge('file "%T/b" { content = "x" }\n')
  eq(s.success, true); eq(s.updated, 1); eq(rep.events[1].status, "updated")
  eq(sys.read(tmp .. "/b"), "x")
  s, rep = converge('file "%T/b" { content = "x" }\n')
  eq(s.updated, 0); eq(s.up_to_date, 1); eq(rep.events[1].status, "up-to-date")
end)

test("a failed resource stops the run: the summary's error has resource, file, line", function()
  local s, rep, path = converge('file "%T/c" {}\n\nfile "%T/missing/dir/x" { content = "x" }\nfile "%T/d" {}\n')
  eq(s.success, false); eq(s.failed, 1); eq(s.not_run, 1)
  local e = s.error
  eq(e.resource, "file[" .. tmp .. "/missing/dir/x]"); eq(e.file, path); eq(e.line, 3)
  ok(type(e.message) == "string" and e.message ~= "", tostring(e.message))
  eq(rep.events[2].status, "failed")
  eq(sys.stat(tmp .. "/d"), nil)
end)

test("ignore_failure: the failure is counted apart and the run goes on", function()
  local s, rep = converge('file "%T/missing/y" { content = "x", ignore_failure = true }\nfile "%T/e" {}\n')
  eq(s.success, true); eq(s.ignored, 1); eq(s.failed, 0); eq(s.updated, 1)
  eq(rep.events[1].ignored, true)
end)

test("a lazy value that raises fails its resource with the location of its declaration", function()
  local s, rep, path = converge('\nfile "%T/f" { content = function() error("boom") end }\n')
  eq(s.success, false)
  local ev = rep.events[1]
  eq(ev.status, "failed"); eq(ev.file, path); eq(ev.line, 2)
  ok(ev.error:find("lazy property 'content' failed", 1, true), ev.error)
  ok(ev.error:find("boom", 1, true), ev.error)
end)

test("guards: only_if false skips with the reason", function()
  local s, rep = converge('file "%T/g" { only_if = function() return false end }\n')
  eq(s.skipped, 1); eq(rep.events[1].status, "skipped"); eq(rep.events[1].reason, "only_if was false")
  eq(sys.stat(tmp .. "/g"), nil)
end)

test("a change notifies: the delayed action runs once, after the resources", function()
  local s, rep = converge('file "%T/h" { content = "1", notifies = { "run", "execute[mark]" } }\n'
    .. 'file "%T/i" { content = "1", notifies = { "run", "execute[mark]" } }\n'
    .. 'execute "mark" { command = "echo x >> %T/marks", action = "nothing" }\n')
  eq(s.success, true)
  eq(sys.read(tmp .. "/marks"), "x\n")
  eq(rep.events[1].notifications[1].resource, "execute[mark]")
  eq(rep.events[1].notifications[1].timing, "delayed")
  local last = rep.events[#rep.events]
  eq(last.resource, "execute[mark]"); eq(last.status, "updated"); eq(last.via, "file[" .. tmp .. "/h] (delayed)")
end)

test("a nested run shares the run's context and sees its resources", function()
  local parent = Run.new({ why_run = true }, {})
  parent.ctx, parent.reporter, parent.delayed, parent.wal = {}, {}, {}, {}
  parent.index["file[/x]"] = { ref = "file[/x]" }
  local r = { ref = "c_thing[a]" }
  local child = Run.child(parent, r, "/cookbook")
  eq(child.ctx, parent.ctx); eq(child.reporter, parent.reporter); eq(child.delayed, parent.delayed)
  eq(child.wal, parent.wal); eq(child.opts, parent.opts); eq(child.included, parent.included)
  eq(child.index["file[/x]"].ref, "file[/x]")
  child.index["file[/y]"] = {}
  eq(parent.index["file[/y]"], nil)
  eq(child.depth, 1); eq(child.parent_ref, "c_thing[a]"); eq(child.current_dir, "/cookbook")
  eq(child.ahead.r, r)
  ok(child.collection ~= parent.collection)
  eq(Run.child(child, r, "/c").depth, 2)
end)

-- A composite type, as a custom resource is one: its action declares
-- into the nested run and finishes it on the language's side.
require("ccchef.registry").add({
  name = "test_pair", properties = {}, actions = { "make" }, default_action = "make",
  converge = function(p, action, ctx, nested)
    return nested(function(child)
      local declare = require("ccchef.dsl").declarator(child, require("ccchef.registry").types.file)
      declare(p.name .. "/one", { content = "1" })
      declare(p.name .. "/two", { content = "2", notifies = { "run", "execute[after]" } })
      compile.finish(child)
    end, tmp)
  end,
}, "test_engine.lua")

test("a composite converges what it declared as a nested run; notifications reach the enclosing run", function()
  assert(sys.mkdir(tmp .. "/pair", 448))
  local s, rep = converge('test_pair "%T/pair" {}\n'
    .. 'execute "after" { command = "echo n >> %T/pair-notified", action = "nothing" }\n')
  eq(s.success, true); eq(s.resources, 2)
  eq(sys.read(tmp .. "/pair/one"), "1"); eq(sys.read(tmp .. "/pair/two"), "2")
  local inner, outer = rep.events[1], rep.events[3]
  eq(inner.resource, "file[" .. tmp .. "/pair/one]"); eq(inner.parent, "test_pair[" .. tmp .. "/pair]")
  eq(outer.resource, "test_pair[" .. tmp .. "/pair]"); eq(outer.status, "updated")
  eq(#outer.changes, 2); eq(outer.changes[2], "file[" .. tmp .. "/pair/two]")
  eq(sys.read(tmp .. "/pair-notified"), "n\n")
end)

test("nesting too deep is a converge error naming the type", function()
  local run = Run.new({}, {})
  run.depth = 20
  local good, e = pcall(engine.converge_nested, run, { type = "c_loop", ref = "c_loop[x]" }, function() end, "/")
  ok(not good)
  ok(errors.is(e)); eq(e.kind, "converge")
  ok(e.message:find("does c_loop use itself?", 1, true), e.message)
end)

-- Staged changes (docs/resources.md, "Staged changes"): a unit that
-- stages writing a file; its check fails the set when a member's content
-- is "bad", and counts its calls.
local checks = {}
require("ccchef.registry").add({
  name = "test_staged", name_property = "path", inert = true,
  properties = { path = { type = "path" }, content = { type = "string", default = "ok" } },
  actions = { "create" }, default_action = "create",
  load = function(p) return { old = sys.read(p.path) } end,
  plan = function(p, cur) if cur.old ~= p.content then return { "write" } end return {} end,
  apply = function(p) assert(sys.write(p.path, p.content, 420)) end,
  stage = function(p)
    return { key = "test", content = p.content, check = function(members)
      checks[#checks + 1] = #members
      local v
      for i, m in ipairs(members) do
        if m.content == "bad" then
          v = {}
          for j in ipairs(members) do v[j] = { message = j == i and "bad content" or "not made: set failed" } end
        end
      end
      return v
    end }
  end,
}, "test_engine.lua")

test("staged changes wait for the barrier and go live together when their set passes", function()
  checks = {}
  local s, rep = converge('test_staged "%T/s1" {}\ntest_staged "%T/s2" {}\n'
    .. 'execute "barrier" { command = "test -e %T/s1 && test -e %T/s2 && echo seen > %T/seen" }\n'
    .. 'test_staged "%T/s3" {}\n')
  eq(s.success, true); eq(s.updated, 4)
  eq(#checks, 2); eq(checks[1], 2); eq(checks[2], 1) -- one check per set: before the barrier, at the end
  eq(sys.read(tmp .. "/seen"), "seen\n") -- the barrier saw both made
  eq(rep.events[1].resource, "test_staged[" .. tmp .. "/s1]"); eq(rep.events[1].status, "updated")
  eq(rep.events[3].resource, "execute[barrier]")
  eq(sys.read(tmp .. "/s3"), "ok")
end)

test("a failing check makes none of its set and stops the run before the barrier", function()
  checks = {}
  local s, rep = converge('test_staged "%T/f1" {}\ntest_staged "%T/f2" { content = "bad" }\n'
    .. 'execute "barrier" { command = "echo ran > %T/fran" }\n')
  eq(s.success, false); eq(s.failed, 2); eq(s.not_run, 1)
  eq(sys.stat(tmp .. "/f1"), nil); eq(sys.stat(tmp .. "/f2"), nil); eq(sys.stat(tmp .. "/fran"), nil)
  eq(rep.events[1].status, "failed"); eq(rep.events[1].error, "not made: set failed")
  eq(rep.events[2].error, "bad content")
  eq(s.error.resource, "test_staged[" .. tmp .. "/f1]")
end)

test("why-run checks the staged set and makes nothing", function()
  checks = {}
  local s, rep = converge('test_staged "%T/w1" {}\n', true)
  eq(s.success, true); eq(s.updated, 1); eq(#checks, 1)
  eq(rep.events[1].status, "would-update"); eq(sys.stat(tmp .. "/w1"), nil)
  s, rep = converge('test_staged "%T/w2" { content = "bad" }\n', true)
  eq(s.success, false); eq(rep.events[1].status, "failed")
end)

-- A composite around a staged change.
require("ccchef.registry").add({
  name = "test_wrap", properties = { content = { type = "string", default = "ok" } },
  actions = { "make" }, default_action = "make",
  converge = function(p, action, ctx, nested)
    return nested(function(child)
      local declare = require("ccchef.dsl").declarator(child, require("ccchef.registry").types.test_staged)
      declare(p.name, { content = p.content })
      compile.finish(child)
    end, tmp)
  end,
}, "test_engine.lua")

test("a composite waits for the staged changes inside it: updated only if they go live", function()
  local s, rep = converge('test_wrap "%T/c1" { notifies = { "run", "execute[after]" } }\n'
    .. 'execute "after" { command = "echo n >> %T/c1-notified", action = "nothing" }\n')
  eq(s.success, true)
  eq(rep.events[1].resource, "test_staged[" .. tmp .. "/c1]"); eq(rep.events[1].status, "updated")
  eq(rep.events[2].resource, "test_wrap[" .. tmp .. "/c1]"); eq(rep.events[2].status, "updated")
  eq(sys.read(tmp .. "/c1-notified"), "n\n")
  s, rep = converge('test_wrap "%T/c2" { content = "bad", notifies = { "run", "execute[after2]" } }\n'
    .. 'execute "after2" { command = "echo n >> %T/c2-notified", action = "nothing" }\n')
  eq(s.success, false)
  eq(rep.events[2].resource, "test_wrap[" .. tmp .. "/c2]"); eq(rep.events[2].status, "failed")
  ok(rep.events[2].error:find("failed inside it", 1, true), rep.events[2].error)
  eq(sys.stat(tmp .. "/c2-notified"), nil); eq(sys.stat(tmp .. "/c2"), nil)
end)

test("a resource's status is the worst over its actions", function()
  local r = {}
  Run.record(r, "updated"); Run.record(r, "up-to-date")
  eq(r.status, "updated")
  Run.record(r, "failed")
  eq(r.status, "failed")
end)

sys.remove_tree(tmp)
