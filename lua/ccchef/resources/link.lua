-- link: a symbolic link at path pointing to `to`. Replaced atomically (a new
-- link under a temporary name renamed over the old one). A regular file in
-- the way is only replaced with force = true (and backed up first).
local backup = require("ccchef.backup")
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local apache_stage = require("ccchef.apache_stage")
local sys = require("ccchef.sys")

local M = {
  name = "link",
  name_property = "path",
  properties = {
    path = { type = "path" },
    to = { type = "string" },
    link_type = { type = "string", default = "symbolic", one_of = { "symbolic" } },
    owner = { type = "principal" },
    group = { type = "principal" },
    force = { type = "boolean", default = false },
  },
  actions = { "create", "delete" },
  default_action = "create",
  inert = true, -- writes a link: no barrier for staged changes
}

-- `to` is required unless the link is only ever deleted (a notification
-- may ask a resource with action "nothing" to create).
function M.validate(p, r)
  local only_delete = true
  for _, a in ipairs(r.actions) do
    if a ~= "delete" then only_delete = false end
  end
  if p.to == nil and not only_delete then error("missing required property 'to'", 0) end
  if p.to == "" then error("property 'to' must not be empty", 0) end
end

function M.load(p, ctx)
  local cur = fileops.load_file(p.path, nil, p, ctx)
  if cur.type == "link" then cur.to = sys.readlink(p.path) end
  return cur
end

function M.plan(p, cur, action, ctx)
  if action == "delete" then
    if not cur.exists then return {} end
    if cur.type ~= "link" then errors.converge(p.path .. " is not a symbolic link; not deleting it") end
    return { "delete" }
  end
  if not cur.exists then
    fileops.check_parent(cur.parent, ctx)
    return { "create -> " .. p.to }
  end
  if cur.type ~= "link" then
    if cur.type == "directory" then errors.converge(p.path .. " is a directory; not replacing it with a link") end
    if not p.force then
      errors.converge(p.path .. " exists and is not a symbolic link (set force = true to replace it)")
    end
    return { "replace " .. cur.type .. " with link -> " .. p.to }
  end
  local changes = {}
  if cur.to ~= p.to then changes[1] = string.format("target %s -> %s", cur.to, p.to) end
  local uid, gid = fileops.owner_ids(cur)
  if (uid and cur.uid ~= uid) or (gid and cur.gid ~= gid) then changes[#changes + 1] = "owner/group" end
  return changes
end

function M.apply(p, cur, action, steps, ctx)
  sys.test_hook("apply", p.path)
  if action == "delete" then
    local ok, err = sys.unlink(p.path)
    if not ok then errors.converge(err) end
    return
  end
  local info = {}
  local uid, gid = fileops.owner_ids(cur)
  if not cur.exists or cur.type ~= "link" or cur.to ~= p.to then
    if cur.exists and cur.type == "file" then
      info.backup = backup.save(ctx.backup_dir, p.path, ctx.backups, cur)
    end
    -- The new link is made under an unpredictable temporary name (created
    -- exclusively, never one a user could have planted) and renamed over
    -- path, all relative to the parent's descriptor.
    local ok, err = sys.symlink_replace(p.to, p.path, uid, gid)
    if not ok then errors.converge(err) end
  elseif uid or gid then
    local ok, err = sys.lchown(p.path, uid, gid)
    if not ok then errors.converge(err) end
  end
  return info
end

-- A link in an Apache configuration (conf-enabled/...) is staged with it.
function M.stage(p, cur, action, ctx)
  local op = action == "delete" and { path = p.path, kind = "absent" } or { path = p.path, kind = "link", to = p.to }
  return apache_stage.claim({ op }, ctx)
end

return M
