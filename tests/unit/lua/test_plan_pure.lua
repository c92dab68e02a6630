-- The unit contract (docs/architecture.md, "Resource types are units"):
-- load reads the world, plan is a pure function of the properties and what
-- load read. Each case loads with the real bindings, then plans with every
-- binding that reads the world (files, users and groups, commands) made to
-- raise: a plan that still looked something up fails the case.
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local tmp = os.tmpname()
os.remove(tmp)
assert(sys.mkdir(tmp, util.mode"0700"))

local function new_ctx()
  return { cache = {}, show_diff = true, command_timeout = 30,
    planned = { has = function() return false end, add = function() end } }
end

local WORLD = {
  { sys, { "user", "group", "lstat", "stat", "dirstat", "read", "readlink", "listdir", "scandir", "same_file" } },
  { proc, { "run" } },
}

-- fn() with every world-reading binding raising "read the world: NAME".
local function without_world(fn)
  local saved = {}
  for _, m in ipairs(WORLD) do
    for _, name in ipairs(m[2]) do
      saved[#saved + 1] = { m[1], name, m[1][name] }
      m[1][name] = function() error("read the world: " .. name, 2) end
    end
  end
  local res = table.pack(pcall(fn))
  for _, s in ipairs(saved) do s[1][s[2]] = s[3] end
  return table.unpack(res, 1, res.n)
end

-- The names plan shows for what a path we made has now.
local function owner_names(path)
  local st = assert(sys.lstat(path))
  local u, g = sys.user(st.uid), sys.group(st.gid)
  return u and u.name or tostring(st.uid), g and g.name or tostring(st.gid)
end

local function load_and_plan(unit, p, action)
  local u = require("ccchef.resources." .. unit)
  local ctx = new_ctx()
  local cur = u.load(p, ctx, action)
  return without_world(function() return u.plan(p, cur, action, ctx) end)
end

test("file: an owner and group change is planned from what load read", function()
  local path = tmp .. "/f"
  assert(sys.write(path, "x", util.mode"0644"))
  local good, changes = load_and_plan("file", { path = path, content = "x", owner = "nobody", group = "nogroup",
    mode = util.mode"0600" }, "create")
  ok(good, changes)
  local user, group = owner_names(path)
  eq(changes[1], "mode 0644 -> 0600"); eq(changes[2], "owner " .. user .. " -> nobody")
  eq(changes[3], "group " .. group .. " -> nogroup")
end)

test("file: an owner that does not exist is raised by plan as a converge error", function()
  local path = tmp .. "/g"
  assert(sys.write(path, "x", util.mode"0644"))
  local good, err = load_and_plan("file", { path = path, content = "x", owner = "ccchef-no-such-user" }, "create")
  eq(good, false)
  ok(errors.is(err), err); eq(err.kind, "converge"); eq(err.assumable, true)
  eq(err.message, "owner 'ccchef-no-such-user' does not exist")
end)

test("directory: creating with an owner, and changing one, read nothing in plan", function()
  local good, changes = load_and_plan("directory", { path = tmp .. "/d", owner = "nobody" }, "create")
  ok(good, changes)
  eq(changes[1], "create"); eq(changes[2], "owner nobody")
  assert(sys.mkdir(tmp .. "/e", util.mode"0755"))
  local _, group = owner_names(tmp .. "/e")
  good, changes = load_and_plan("directory", { path = tmp .. "/e", group = 65534 }, "create")
  ok(good, changes)
  eq(changes[1], "group " .. group .. " -> 65534")
end)

test("directory: a recursive create hands ctx.planned the ancestors load found", function()
  local u = require("ccchef.resources.directory")
  local ctx = new_ctx()
  local added
  ctx.planned.add = function(_, path, ancestors) added = { path = path, ancestors = ancestors } end
  local p = { path = tmp .. "/r1/r2/r3", recursive = true }
  local cur = u.load(p, ctx, "create")
  local good, changes = without_world(function() return u.plan(p, cur, "create", ctx) end)
  ok(good, changes)
  eq(changes[1], "create")
  eq(added.path, tmp .. "/r1/r2/r3")
  eq(#added.ancestors, 2); eq(added.ancestors[1], tmp .. "/r1/r2"); eq(added.ancestors[2], tmp .. "/r1")
end)

test("link: an owner change of an existing link is planned from what load read", function()
  assert(sys.symlink("f", tmp .. "/l"))
  local good, changes = load_and_plan("link", { path = tmp .. "/l", to = "f", owner = "nobody" }, "create")
  ok(good, changes)
  eq(changes[1], "owner/group")
end)

os.execute("rm -rf -- '" .. tmp .. "'")
