-- remote_directory: a directory tree copied from a source directory (the
-- declaring cookbook's files/NAME, or an absolute path), as Chef's resource
-- of that name. Files are compared by content and mode and written
-- atomically; `purge` removes what the source does not have. Every file
-- replaced or removed (purge, delete) is kept as a backup first, as `file`
-- keeps its old content (ccchef.backup; the `backup` property).
local apache_stage = require("ccchef.apache_stage")
local backup = require("ccchef.backup")
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {
  name = "remote_directory",
  name_property = "path",
  properties = {
    path = { type = "path" },
    source = { type = "string", required = true },
    purge = { type = "boolean", default = false },
    mode = { type = "mode" },        -- directories (default 0755)
    files_mode = { type = "mode" },  -- files (default: the source file's mode)
    owner = { type = "principal" },
    group = { type = "principal" },
    backup = { type = "backup" },    -- old versions kept per file (default --backups)
  },
  actions = { "create", "delete" },
  default_action = "create",
  inert = true, -- only the file system: no barrier for staged changes
}

local function source_dir(p)
  if util.is_absolute(p.source) then return p.source end
  local base = p.recipe_dir or "."
  -- Last, the kitchen's root (the run's working directory): a kitchen
  -- path such as "cookbooks/site/files/docroot" (docs/kitchen.md, "Paths").
  for _, c in ipairs({ base .. "/files/" .. p.source, base .. "/" .. p.source, p.source }) do
    local st = sys.stat(c)
    if st and st.type == "directory" then return c end
  end
  errors.converge(string.format("source directory %s not found (looked in %s/files/ and %s/)", p.source, base, base))
end

-- { [relative path] = stat } for the source tree, "" being the root. The
-- source is an input (like a recipe): links in it are followed.
local function walk_source(root, rel, out)
  local dir = rel == "" and root or (root .. "/" .. rel)
  for _, name in ipairs(sys.listdir(dir) or {}) do
    local r = rel == "" and name or (rel .. "/" .. name)
    local st = sys.stat(root .. "/" .. r)
    if st then
      out[r] = st
      if st.type == "directory" then walk_source(root, r, out) end
    end
  end
  return out
end

-- The same for the destination, as it is: each directory read from the
-- directory the safe walk reached, entries with lstat semantics, so a link
-- a user planted (uploads -> /etc) is an entry, never a directory to enter.
local function walk_dest(root, rel, out)
  local dir = rel == "" and root or (root .. "/" .. rel)
  local entries, err = sys.scandir(dir)
  if not entries then errors.converge(err) end
  for name, st in pairs(entries) do
    local r = rel == "" and name or (rel .. "/" .. name)
    out[r] = st
    if st.type == "directory" then walk_dest(root, r, out) end
  end
  return out
end

function M.load(p, ctx, action)
  local cur = {}
  local st, err, errname = sys.lstat(p.path)
  if not st and errname ~= "ENOENT" and errname ~= "ENOTDIR" then errors.converge(err) end
  cur.exists = st ~= nil
  if action == "delete" then
    -- The files delete removes, for their backups (a link is never entered).
    if st and st.type == "directory" then cur.dest = walk_dest(p.path, "", {}) end
    return cur
  end
  if not st then cur.parent = fileops.load_parent(p.path) end
  if st and st.type == "link" then
    -- A trusted link (as in a parent) stands for its directory; any other
    -- link is refused with a message naming it.
    local dst, derr = sys.dirstat(p.path)
    if not dst then errors.converge(derr) end
    st = dst
  end
  if st and st.type ~= "directory" then errors.converge(p.path .. " exists and is not a directory") end
  local src = source_dir(p)
  local sst = sys.stat(src)
  if not sst or sst.type ~= "directory" then errors.converge(src .. " is not a directory") end
  cur.src = src
  cur.source = walk_source(src, "", {})
  cur.dest = cur.exists and walk_dest(p.path, "", {}) or {}
  -- Each file both trees have, compared by streaming both: memory does
  -- not grow with the files' sizes.
  cur.same = {}
  for _, rel in ipairs(util.sorted_keys(cur.source)) do
    local s, d = cur.source[rel], cur.dest[rel]
    if s.type == "file" and d and d.type == "file" then
      local info, ierr = sys.same_file(p.path .. "/" .. rel, src .. "/" .. rel)
      if not info then errors.converge(ierr) end
      cur.same[rel] = info
    end
  end
  cur.uid, cur.gid = fileops.uid(ctx, p.owner), fileops.gid(ctx, p.group)
  return cur
end

-- The changes shown, and the steps apply takes: { mkdir =, write =,
-- chmod =, remove = } (relative paths).
function M.plan(p, cur, action, ctx)
  if action == "delete" then return cur.exists and { "delete tree" } or {} end
  local todo = { mkdir = {}, write = {}, chmod = {}, remove = {} }
  local uid, gid = cur.uid, cur.gid
  if not cur.exists then
    fileops.check_parent(cur.parent, ctx)
    ctx.planned:add(p.path, false)
  end
  local rels = util.sorted_keys(cur.source)
  for _, rel in ipairs(rels) do
    local s, d = cur.source[rel], cur.dest[rel]
    local path = p.path .. "/" .. rel
    if s.type == "directory" then
      if not d then todo.mkdir[#todo.mkdir + 1] = rel
      elseif d.type ~= "directory" then errors.converge(path .. " exists and is not a directory") end
    elseif s.type == "file" then
      local want_mode = p.files_mode or s.mode
      local src = cur.src .. "/" .. rel
      local info = cur.same[rel]
      if d and d.type == "directory" then
        errors.converge(path .. " is a directory in the destination but a file in the source")
      elseif not info or info.type ~= "file" or not info.same then
        -- A link (or anything not a regular file) in its place is replaced
        -- by the rename, never written through.
        todo.write[#todo.write + 1] = { rel = rel, src = src, mode = want_mode }
      elseif info.mode ~= want_mode or (uid and info.uid ~= uid) or (gid and info.gid ~= gid) then
        todo.chmod[#todo.chmod + 1] = { rel = rel, mode = want_mode, info = info }
      end
    end
  end
  if p.purge then
    for _, rel in ipairs(util.sorted_keys(cur.dest)) do
      if not cur.source[rel] then todo.remove[#todo.remove + 1] = rel end
    end
  end
  local changes = {}
  if not cur.exists then changes[#changes + 1] = "create" end
  local function summary(list, verb)
    if #list == 0 then return end
    local names = {}
    for i = 1, math.min(#list, 5) do names[i] = type(list[i]) == "table" and list[i].rel or list[i] end
    changes[#changes + 1] = string.format("%s %d (%s%s)", verb, #list, table.concat(names, ", "), #list > 5 and ", ..." or "")
  end
  summary(todo.mkdir, "mkdir")
  summary(todo.write, "write")
  summary(todo.chmod, "chmod")
  summary(todo.remove, "remove")
  return changes, nil, todo
end


-- Back up every regular file among rels (relative paths of cur.dest)
-- before it is replaced or removed. Returns the number kept and the first
-- backup's path (the event's `backup`).
local function save_backups(p, cur, rels, ctx)
  local keep = fileops.backup_keep(p, ctx)
  local n, first = 0, nil
  for _, rel in ipairs(rels) do
    local d = cur.dest and cur.dest[rel]
    if d and d.type == "file" then
      -- The copy is taken from the file the walk saw (dev/ino), or fails.
      local saved = backup.save(ctx.backup_dir, p.path .. "/" .. rel, keep, cur.same[rel] or d)
      if saved then
        n = n + 1
        first = first or saved
      end
    end
  end
  return n, first
end

function M.apply(p, cur, action, todo, ctx)
  sys.test_hook("apply", p.path)
  local info = {}
  if action == "delete" then
    local _, first = save_backups(p, { dest = cur.dest, same = {} }, util.sorted_keys(cur.dest or {}), ctx)
    info.backup = first
    fileops.remove_tree(p.path)
    return info
  end
  -- Before anything changes: the files about to be replaced, then those
  -- purge removes (directories purged with them: every file inside).
  local replaced = {}
  for _, w in ipairs(todo.write) do replaced[#replaced + 1] = w.rel end
  local _, first = save_backups(p, cur, replaced, ctx)
  local _, first_removed = save_backups(p, cur, todo.remove, ctx)
  info.backup = first or first_removed
  local uid, gid = cur.uid, cur.gid
  local dmode = p.mode or util.mode"0755"
  local function mkdir(path)
    local ok, err = sys.mkdir(path, dmode)
    if not ok then errors.converge(err) end
    if uid or gid then
      ok, err = sys.lchown(path, uid, gid)
      if not ok then errors.converge(err) end
    end
  end
  if not cur.exists then mkdir(p.path) end
  -- Removals first (deepest first, so directories are empty when their
  -- turn comes): a link purged from where the source has nothing is
  -- unlinked itself, never followed.
  for i = #todo.remove, 1, -1 do fileops.remove_tree(p.path .. "/" .. todo.remove[i]) end
  for _, rel in ipairs(todo.mkdir) do mkdir(p.path .. "/" .. rel) end
  for _, w in ipairs(todo.write) do
    local ok, err = sys.copy(p.path .. "/" .. w.rel, w.src, w.mode, uid, gid, true)
    if not ok then errors.converge(err) end
  end
  for _, c in ipairs(todo.chmod) do
    -- On the file the comparison read (dev/ino): one swapped since gets nothing.
    local ok, err = sys.setattr(p.path .. "/" .. c.rel, c.mode, uid, gid, c.info.dev, c.info.ino)
    if not ok then errors.converge(err) end
  end
  return info
end

-- A tree inside an Apache configuration (conf.d-like directories of
-- snippets) is staged with it: the plan's steps as ops.
function M.stage(p, cur, action, ctx, todo)
  if action == "delete" then return apache_stage.claim({ { path = p.path, kind = "absent" } }, ctx) end
  local ops = {}
  if not cur.exists then ops[1] = { path = p.path, kind = "dir" } end
  for _, rel in ipairs(todo.remove) do ops[#ops + 1] = { path = p.path .. "/" .. rel, kind = "absent" } end
  for _, rel in ipairs(todo.mkdir) do ops[#ops + 1] = { path = p.path .. "/" .. rel, kind = "dir" } end
  for _, w in ipairs(todo.write) do
    ops[#ops + 1] = { path = p.path .. "/" .. w.rel, kind = "file", source = w.src, mode = w.mode }
  end
  return apache_stage.claim(ops, ctx)
end

return M
