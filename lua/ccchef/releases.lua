-- ccchef.releases: the release layout of the deploy resource, on disk.
--
--   <deploy_to>/releases/<id>/   one directory per release (id: the commit)
--   <deploy_to>/shared/          what every release links to (config, uploads)
--   <deploy_to>/current          -> releases/<id>, the live release
--   <deploy_to>/.ccchef-releases the releases in the order they went live
--
-- The history file is what makes "the previous release" and "the last N"
-- exact (directory times change when an application writes into its
-- release). One line a release: id, state, label (no time: the same
-- deploy gives the same file on every node, which tests/e2e/deploy_remote.sh
-- compares). A release is
-- recorded as "building" before its files are written and as "ok" once its
-- build succeeded, so a run killed in between leaves a line that says the
-- directory is unfinished; the next run rebuilds it. The file is replaced
-- atomically (temporary file, fsync, rename), like every file ccchef writes.
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local HISTORY = ".ccchef-releases"

function M.paths(root)
  return {
    root = root,
    releases = root .. "/releases",
    shared = root .. "/shared",
    current = root .. "/current",
    history = root .. "/" .. HISTORY,
  }
end

function M.release_dir(root, id)
  return root .. "/releases/" .. id
end

-- A release's name: a commit id or r<number>, never "." or ".." (the
-- history file and the link are read back, and an id becomes a path that
-- is removed).
function M.valid_id(id)
  return id:match("^%w[%w._-]*$") ~= nil
end

local function parse_history(text)
  local list = {}
  for line in text:gmatch("[^\n]+") do
    local id, state, label = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
    if id and M.valid_id(id) then
      list[#list + 1] = { id = id, state = state, label = label }
    end
  end
  return list
end

-- The layout as it is: { exists, parent_missing, current = id | nil,
-- current_target = what the link says, list = { {id, state,
-- label}... } oldest first }. Raises when something that is not ours is in
-- the way (current a directory, deploy_to a file).
function M.read(root)
  local paths = M.paths(root)
  local st = sys.lstat(root)
  local cur = { paths = paths, list = {} }
  if not st then
    cur.exists = false
    if not sys.dirstat(util.dirname(root)) then cur.parent_missing = util.dirname(root) end
    return cur
  end
  if st.type ~= "directory" then errors.converge(root .. " exists and is not a directory") end
  cur.exists = true
  local cst = sys.lstat(paths.current)
  if cst then
    if cst.type ~= "link" then
      errors.converge(paths.current .. " exists and is not a symbolic link; move it away first")
    end
    cur.current_target = sys.readlink(paths.current)
    local id = cur.current_target:match("^releases/([^/]+)/?$")
      or cur.current_target:match("^" .. paths.releases:gsub("%p", "%%%0") .. "/([^/]+)/?$")
    cur.current = id and M.valid_id(id) and id or nil
  end
  local text = sys.read(paths.history)
  if text then cur.list = parse_history(text) end
  return cur
end

-- The entry of id in list, and its index.
function M.find(list, id)
  for i, e in ipairs(list) do
    if e.id == id then return e, i end
  end
  return nil
end

-- The finished releases, oldest first.
function M.finished(list)
  local out = {}
  for _, e in ipairs(list) do
    if e.state == "ok" then out[#out + 1] = e end
  end
  return out
end

function M.write(root, list)
  local lines = {}
  for _, e in ipairs(list) do
    local label = (e.label or ""):gsub("[%c]", " ")
    lines[#lines + 1] = string.format("%s\t%s\t%s\n", e.id, e.state, label)
  end
  local ok, err = sys.write(M.paths(root).history, table.concat(lines), util.mode"0644", nil, nil, true)
  if not ok then errors.converge(err) end
end

-- A copy of list without id, with `entry` appended when given (the order
-- in which releases went live: the newest last).
function M.with(list, id, entry)
  local out = {}
  for _, e in ipairs(list) do
    if e.id ~= id then out[#out + 1] = e end
  end
  if entry then out[#out + 1] = entry end
  return out
end

-- The releases to remove so that `keep` finished ones stay: `live` (the
-- one current points to) always, then the newest others; and any
-- unfinished one other than `live` (what a killed build left). Returns a
-- list of ids, newest first.
function M.prunable(list, keep, live)
  local out = {}
  local kept = M.find(list, live) and 1 or 0
  for i = #list, 1, -1 do
    local e = list[i]
    if e.id ~= live then
      if e.state == "ok" and kept < keep then
        kept = kept + 1
      else
        out[#out + 1] = e.id
      end
    end
  end
  return out
end

-- Points current at the release id: a new link under a random name renamed
-- over the old one, relative to the deploy directory's descriptor, so there
-- is never a moment without `current`.
function M.switch(root, id)
  local ok, err = sys.symlink_replace("releases/" .. id, M.paths(root).current)
  if not ok then errors.converge("switching current to " .. id .. ": " .. err) end
end

function M.remove(root, id)
  local dir = M.release_dir(root, id)
  if sys.lstat(dir) then
    local ok, err = sys.remove_tree(dir)
    if not ok then errors.converge(err) end
  end
end

-- mkdir, and with `as` the new directory given to the deploy's user.
local function make_dir(path, as)
  local ok, err = sys.mkdir(path, util.mode"0755", as and as.uid or nil, as and as.gid or nil)
  if not ok then errors.converge(err) end
end

-- Each directory on the way to base/rel (the last component excluded),
-- made when missing. In a release, a link there (committed to the
-- repository) is refused: it would make the link below land, and the
-- release's copy be removed, wherever it points.
local function parents(base, rel, as, what)
  local dir = base
  for part in rel:gmatch("([^/]+)/") do
    dir = dir .. "/" .. part
    local st = sys.lstat(dir)
    if not st then
      make_dir(dir, as)
    elseif st.type ~= "directory" then
      errors.converge(string.format("shared path %s: %s in the %s is a %s, not a directory",
        rel, dir, what, st.type))
    end
  end
end

-- Links each shared path of the release to <deploy_to>/shared/<path>. A
-- shared path not there yet is seeded: with the release's own copy when it
-- has one (a default config committed to the repository), else as an empty
-- directory (uploads, logs). What the release has at that path is replaced
-- by the link. as: the deploy's user, who owns what is made here.
function M.link_shared(root, release, shared, as)
  local base = M.paths(root).shared
  for _, rel in ipairs(shared) do
    local target, inside = base .. "/" .. rel, release .. "/" .. rel
    parents(release, rel, as, "release")
    parents(base, rel, as, "shared directory")
    local own = sys.lstat(inside)
    if not sys.lstat(target) then
      if own and own.type ~= "link" then
        local ok, err = sys.rename(inside, target)
        if not ok then errors.converge(err) end
      else
        make_dir(target, as)
      end
    end
    if sys.lstat(inside) then
      local ok, err = sys.remove_tree(inside)
      if not ok then errors.converge(err) end
    end
    local ok, err = sys.symlink(target, inside)
    if not ok then errors.converge(err) end
  end
end

return M
