-- ccchef.apache_view: the candidate view of staged changes, as bind mounts
-- for a private mount namespace (ccchef.ns). Every directory that holds a
-- staged path gets a shadow: a private copy of its entries (files copied,
-- links recreated, subdirectories bound from the live tree) with the staged
-- changes made in it, mounted over the live directory inside the namespace
-- only. So Apache reads the candidate at its real paths (every Include,
-- every error message names the live path) and nothing live changes.
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local COPY_MAX = 256 * 1024

local function fail(msg)
  return nil, "cannot build the candidate view: " .. msg
end

-- The deepest directory above path that exists live: a new subtree (a
-- remote_directory's new directories) is built inside its shadow.
local function anchor_of(path)
  local d = util.dirname(path)
  while d ~= "/" do
    local st = sys.lstat(d)
    if st and st.type == "directory" then return d end
    d = util.dirname(d)
  end
  return "/"
end

-- ops: { path=, kind = "file" (content= or source=, mode=) | "link" (to=)
-- | "dir" | "absent" }, in order (a later op on a path wins). priv: a
-- private directory of this run. Returns the binds, in mount order, or
-- nil, msg.
function M.build(ops, priv)
  local by_dir, dirs = {}, {}
  for _, op in ipairs(ops) do
    local st = op.kind == "dir" and sys.lstat(op.path)
    if st and st.type == "directory" then goto next_op end -- nothing to make
    local d = anchor_of(op.path)
    if not by_dir[d] then
      by_dir[d] = { order = {}, ops = {} }
      dirs[#dirs + 1] = d
    end
    local rel = op.path:sub(#d + 2)
    if not by_dir[d].ops[rel] then by_dir[d].order[#by_dir[d].order + 1] = rel end
    by_dir[d].ops[rel] = op
    ::next_op::
  end
  -- Deepest first: a shadowed subdirectory is mounted before the bind of
  -- its parent's entries carries it along (recursive binds).
  table.sort(dirs, function(a, b)
    local da, db = select(2, a:gsub("/", "")), select(2, b:gsub("/", ""))
    if da ~= db then return da > db end
    return a < b
  end)
  local binds = {}
  for i, d in ipairs(dirs) do
    local st, err = sys.lstat(d)
    if not st or st.type ~= "directory" then return fail(d .. ": " .. (err or "not a directory")) end
    local shadow = string.format("%s/view%d", priv, i)
    local ok, merr = sys.mkdir(shadow, util.mode"0700")
    if not ok then return fail(merr) end
    local entries, lerr = sys.scandir(d)
    if not entries then return fail(lerr) end
    local mine = by_dir[d]
    for name, e in pairs(entries) do
      if not mine.ops[name] then
        local from, to = d .. "/" .. name, shadow .. "/" .. name
        if e.type == "file" and e.size > COPY_MAX then
          -- Big files (a log, a database beside a snippet) are bound, not
          -- copied: the view costs the same whatever lies around.
          ok, err = sys.write(to, "", util.mode"0600", nil, nil, false)
          binds[#binds + 1] = { from, to }
        elseif e.type == "file" then
          ok, err = sys.copy(to, from, e.mode, e.uid, e.gid, false, true, e.dev, e.ino)
        elseif e.type == "link" then
          local target
          target, err = sys.readlink(from)
          ok = target and sys.symlink(target, to)
        elseif e.type == "directory" then
          ok, err = sys.mkdir(to, util.mode"0700")
          binds[#binds + 1] = { from, to }
        else
          ok = true -- sockets, fifos: nothing Apache reads as configuration
        end
        if not ok then return fail(from .. ": " .. tostring(err)) end
      end
    end
    for _, rel in ipairs(mine.order) do
      local op = mine.ops[rel]
      local to = shadow .. "/" .. rel
      -- New directories on the way (a subtree that does not exist live).
      if rel:find("/", 1, true) then
        ok, err = util.mkdir_p(sys, util.dirname(to), util.mode"0755")
        if not ok then return fail(tostring(err)) end
      end
      if op.kind == "file" then
        local mode = op.mode or util.mode"0644"
        if op.content == nil and op.source then
          ok, err = sys.copy(to, op.source, mode, nil, nil, false)
        else
          ok, err = sys.write(to, op.content or "", mode, nil, nil, false)
        end
      elseif op.kind == "link" then
        ok, err = sys.symlink(op.to, to)
      elseif op.kind == "dir" then
        ok, err = true, nil
        if not sys.lstat(to) then ok, err = sys.mkdir(to, util.mode"0755") end
      else
        ok = true
      end
      if not ok then return fail(op.path .. ": " .. tostring(err)) end
    end
    -- The shadow looks like the directory it stands for: a worker running
    -- as www-data must still get through it to a docroot below.
    ok, err = sys.chmod(shadow, st.mode)
    if ok then ok, err = sys.lchown(shadow, st.uid, st.gid) end
    if not ok then return fail(err) end
    binds[#binds + 1] = { shadow, d }
  end
  return binds
end

return M
