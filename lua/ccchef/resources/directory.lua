-- directory: a directory with mode, owner and group; `recursive` creates
-- missing parents (with default mode, as Chef does) and lets delete remove
-- a non-empty tree.
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {
  name = "directory",
  name_property = "path",
  properties = fileops.ownership_properties({
    path = { type = "path" },
    recursive = { type = "boolean", default = false },
  }),
  actions = { "create", "delete" },
  default_action = "create",
  inert = true, -- only the file system: no barrier for staged changes
}

-- Does the directory have entries? Read from the directory itself (a link
-- there is refused by load's type check before this is asked).
local function has_entries(path)
  local entries, err = sys.scandir(path)
  if not entries then errors.converge(err) end
  return next(entries) ~= nil
end

function M.load(p, ctx, action)
  local cur = fileops.load_file(p.path, nil, p, ctx)
  if action == "delete" and cur.exists and cur.type == "directory" and not p.recursive then
    cur.has_entries = has_entries(p.path)
  end
  if not cur.exists then
    local parent = util.dirname(p.path)
    local pst, perr, perrname = sys.dirstat(parent)
    if not pst and perrname ~= "ENOENT" then errors.converge(perr) end
    cur.parent_missing = not pst
    if p.recursive and not pst then
      -- The ancestors a recursive create makes, for ctx.planned (why-run).
      cur.missing_ancestors = {}
      repeat
        cur.missing_ancestors[#cur.missing_ancestors + 1] = parent
        parent = util.dirname(parent)
      until parent == "/" or sys.stat(parent)
    end
  end
  return cur
end

function M.plan(p, cur, action, ctx)
  if action == "delete" then
    if not cur.exists then return {} end
    if cur.type ~= "directory" then errors.converge(p.path .. " exists and is not a directory") end
    if cur.has_entries then
      errors.converge(p.path .. " is not empty (set recursive = true to delete it with its contents)")
    end
    return { "delete" }
  end
  if not cur.exists then
    -- An unknown owner or group fails before the directory is made, not
    -- leaving it behind half-configured.
    local uid, gid = fileops.owner_ids(cur)
    local parent = util.dirname(p.path)
    if not p.recursive and cur.parent_missing and not ctx.planned:has(parent) then
      errors.converge(string.format("parent directory %s does not exist (set recursive = true to create it)", parent))
    end
    local changes = { "create" }
    if p.mode then changes[#changes + 1] = "mode " .. util.format_mode(p.mode) end
    if uid then changes[#changes + 1] = "owner " .. tostring(p.owner) end
    if gid then changes[#changes + 1] = "group " .. tostring(p.group) end
    ctx.planned:add(p.path, cur.missing_ancestors)
    return changes
  end
  if cur.type ~= "directory" then
    errors.converge(p.path .. " exists and is not a directory")
  end
  return fileops.plan_attributes(p, cur, {})
end


function M.apply(p, cur, action, steps, ctx)
  sys.test_hook("apply", p.path)
  if action == "delete" then
    fileops.remove_tree(p.path)
    return
  end
  local uid, gid = fileops.owner_ids(cur)
  if not cur.exists then
    if p.recursive then
      local ok, err = util.mkdir_p(sys, util.dirname(p.path), util.mode"0755")
      if not ok then errors.converge(err) end
    end
    local ok, err = sys.mkdir(p.path, p.mode or util.mode"0755")
    if not ok then errors.converge(err) end
    cur, err = sys.lstat(p.path)
    if not cur then errors.converge(err) end
  end
  fileops.apply_attributes(p.path, p, cur, uid, gid)
end

return M
