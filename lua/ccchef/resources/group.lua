-- group: a local group, created, brought in line, or removed with the
-- shadow tools (groupadd, groupmod, groupdel). The current state comes from
-- the group database through libc (getgrnam): a no-op converge starts no
-- process. `members` are added and nobody is removed (append = true, the
-- default), unless append = false makes it the exact member list. Additive
-- by default because a user's own `groups` property also places it in
-- groups: an exact list here would quietly fight it.
local accounts = require("ccchef.accounts")
local sys = require("ccchef.sys")

local M = {
  name = "group",
  name_property = "group_name",
  properties = {
    group_name = { type = "string" },
    gid = { type = "integer", validate = function(v) return v >= 0, "gid must not be negative" end },
    members = { type = "strings" },
    append = { type = "boolean", default = true },
    system = { type = "boolean", default = false },
  },
  actions = { "create", "remove" },
  default_action = "create",
}

function M.validate(p)
  if type(p.group_name) == "string" then accounts.check_name(p.group_name, "group") end
  for _, u in ipairs(type(p.members) == "table" and p.members or {}) do
    accounts.check_name(u, "user")
  end
end

function M.load(p)
  local g = sys.group(p.group_name)
  if not g then return { exists = false } end
  g.exists = true
  return g
end

-- The member list groupmod should set, or nil when members are right.
local function wanted_members(p, cur)
  if not p.members then return nil end
  local current = cur.exists and cur.members or {}
  if p.append then
    local have, missing = {}, false
    for _, u in ipairs(current) do have[u] = true end
    for _, u in ipairs(p.members) do
      if not have[u] then missing = true end
    end
    if not missing then return nil end
    local all = {}
    table.move(current, 1, #current, 1, all)
    table.move(p.members, 1, #p.members, #all + 1, all)
    return accounts.sorted_set(all)
  end
  if accounts.same_set(current, p.members) then return nil end
  return accounts.sorted_set(p.members)
end

-- The groupdel, groupadd or groupmod command the plan's changes need.
local function command(p, cur, action)
  if action == "remove" then
    return { "groupdel", p.group_name }
  end
  local args = { cur.exists and "groupmod" or "groupadd" }
  if p.gid and cur.gid ~= p.gid then
    args[#args + 1] = "--gid"
    args[#args + 1] = p.gid
  end
  if not cur.exists and p.system then args[#args + 1] = "--system" end
  local members = wanted_members(p, cur)
  -- groupadd -U "" is refused; a new group has no members anyway.
  if members and (cur.exists or #members > 0) then
    args[#args + 1] = "--users"
    args[#args + 1] = table.concat(members, ",")
  end
  if #args == 1 and cur.exists then return nil end
  args[#args + 1] = p.group_name
  return args
end

-- The changes shown, and the command apply runs.
function M.plan(p, cur, action)
  if action == "remove" then
    if not cur.exists then return {} end
    return { "remove group" }, nil, command(p, cur, action)
  end
  if not cur.exists then
    return { p.system and "create system group" or "create group" }, nil, command(p, cur, action)
  end
  local changes = {}
  if p.gid and cur.gid ~= p.gid then
    changes[#changes + 1] = string.format("gid %d -> %d", cur.gid, p.gid)
  end
  local members = wanted_members(p, cur)
  if members then
    changes[#changes + 1] = string.format("members %s -> %s", accounts.show(cur.members),
      accounts.show(members))
  end
  return changes, nil, #changes > 0 and command(p, cur, action) or nil
end

-- Runs the command plan made.
function M.apply(p, cur, action, args, ctx)
  if args then accounts.run(args, ctx) end
end

return M
