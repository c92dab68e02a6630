-- user: a local account, created, brought in line, or removed with the
-- shadow tools (useradd, usermod, userdel). The current state comes from the
-- passwd and group databases through libc (getpwnam, getgrouplist): a no-op
-- converge starts no process. Only the properties the recipe sets are
-- managed; `groups`, when set, is the exact list of supplementary groups.
local accounts = require("ccchef.accounts")
local sys = require("ccchef.sys")

local M = {
  name = "user",
  name_property = "username",
  properties = {
    username = { type = "string" },
    uid = { type = "integer", validate = function(v) return v >= 0, "uid must not be negative" end },
    gid = { type = "principal" },            -- primary group, name or id
    home = { type = "path" },
    shell = { type = "path" },
    comment = { type = "string" },
    groups = { type = "strings" },           -- supplementary groups, exactly these
    system = { type = "boolean", default = false },
    manage_home = { type = "boolean", default = false },
  },
  actions = { "create", "remove" },
  default_action = "create",
}

function M.validate(p)
  if type(p.username) == "string" then accounts.check_name(p.username, "user") end
  if type(p.gid) == "string" then accounts.check_name(p.gid, "group") end
  for _, g in ipairs(type(p.groups) == "table" and p.groups or {}) do
    accounts.check_name(g, "group")
  end
  -- The passwd file is ':'-separated and line-based.
  if type(p.comment) == "string" and p.comment:find("[:\n]") then
    error("comment must not contain ':' or a newline", 0)
  end
end

-- Names of the user's supplementary groups (not the primary one).
local function supplementary(name, primary)
  local out = {}
  for _, gid in ipairs(sys.grouplist(name, primary)) do
    if gid ~= primary then
      local g = sys.group(gid)
      out[#out + 1] = g and g.name or tostring(gid)
    end
  end
  return accounts.sorted_set(out)
end

-- The wanted primary gid, or nil when the group does not exist (yet).
local function wanted_gid(p)
  if math.type(p.gid) == "integer" then return p.gid end
  local g = sys.group(p.gid)
  return g and g.gid
end

function M.load(p)
  local u = sys.user(p.username)
  if not u then return { exists = false } end
  u.exists = true
  if p.groups then u.groups = supplementary(u.name, u.gid) end
  if p.gid ~= nil then u.want_gid = wanted_gid(p) end
  return u
end

-- The userdel, useradd or usermod command the plan's changes need (nil:
-- nothing usermod can change, e.g. only `system`).
local function command(p, cur, action)
  if action == "remove" then
    local args = { "userdel" }
    if p.manage_home then args[#args + 1] = "--remove" end
    args[#args + 1] = p.username
    return args
  end
  local args
  if not cur.exists then
    args = { "useradd" }
    if p.uid then table.move({ "--uid", p.uid }, 1, 2, #args + 1, args) end
    if p.system then args[#args + 1] = "--system" end
    -- Explicit either way: login.defs' CREATE_HOME must not decide.
    args[#args + 1] = p.manage_home and "--create-home" or "--no-create-home"
  else
    args = { "usermod" }
    if p.uid and cur.uid ~= p.uid then table.move({ "--uid", p.uid }, 1, 2, #args + 1, args) end
  end
  local function opt(flag, value, current)
    if value ~= nil and (not cur.exists or value ~= current) then
      args[#args + 1] = flag
      args[#args + 1] = value
    end
  end
  if p.gid ~= nil and (not cur.exists or cur.gid ~= cur.want_gid) then
    args[#args + 1] = "--gid"
    args[#args + 1] = tostring(p.gid)
  end
  opt("--home", p.home, cur.home)
  if cur.exists and p.home and p.home ~= cur.home and p.manage_home then
    args[#args + 1] = "--move-home"
  end
  opt("--shell", p.shell, cur.shell)
  opt("--comment", p.comment, cur.comment)
  if p.groups and (not cur.exists or not accounts.same_set(cur.groups, p.groups)) then
    if cur.exists or #p.groups > 0 then
      args[#args + 1] = "--groups"
      args[#args + 1] = table.concat(accounts.sorted_set(p.groups), ",")
    end
  end
  if #args == 1 then return nil end
  args[#args + 1] = p.username
  return args
end

-- The changes shown, and the command apply runs.
function M.plan(p, cur, action)
  if action == "remove" then
    if not cur.exists then return {} end
    return { p.manage_home and "remove user and its home" or "remove user" }, nil, command(p, cur, action)
  end
  if not cur.exists then
    return { p.system and "create system user" or "create user" }, nil, command(p, cur, action)
  end
  local changes = {}
  if p.uid and cur.uid ~= p.uid then
    changes[#changes + 1] = string.format("uid %d -> %d", cur.uid, p.uid)
  end
  if p.gid ~= nil and cur.gid ~= cur.want_gid then
    changes[#changes + 1] = string.format("primary group %d -> %s", cur.gid, tostring(p.gid))
  end
  if p.home and cur.home ~= p.home then
    changes[#changes + 1] = string.format("home %s -> %s", cur.home, p.home)
  end
  if p.shell and cur.shell ~= p.shell then
    changes[#changes + 1] = string.format("shell %s -> %s", cur.shell, p.shell)
  end
  if p.comment and cur.comment ~= p.comment then
    changes[#changes + 1] = string.format("comment %q -> %q", cur.comment, p.comment)
  end
  if p.groups and not accounts.same_set(cur.groups, p.groups) then
    changes[#changes + 1] = string.format("groups %s -> %s", accounts.show(cur.groups),
      accounts.show(p.groups))
  end
  return changes, nil, #changes > 0 and command(p, cur, action) or nil
end

-- Runs the command plan made.
function M.apply(p, cur, action, args, ctx)
  if args then accounts.run(args, ctx) end
end

return M
