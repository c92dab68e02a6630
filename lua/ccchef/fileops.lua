-- ccchef.fileops: what file, template, directory and link share: resolving
-- owners, comparing mode/owner/group with the file on disk, writing content
-- atomically with a backup, and the diff shown for a content change.
local apache_stage = require("ccchef.apache_stage")
local backup = require("ccchef.backup")
local diff = require("ccchef.diff")
local errors = require("ccchef.errors")
local private_dir = require("ccchef.private_dir")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- Properties of everything that is a path with an owner.
function M.ownership_properties(t)
  t.mode = { type = "mode" }
  t.owner = { type = "principal" }
  t.group = { type = "principal" }
  return t
end

-- name or id -> id, cached per run (ctx.cache); nil and the error (not
-- raised) when no such name exists. what: "owner" or "group".
local function find_id(ctx, v, what)
  if v == nil or math.type(v) == "integer" then return v end
  local key = (what == "owner" and "u:" or "g:") .. v
  local id = ctx.cache[key]
  if id == nil then
    local e
    if what == "owner" then e = sys.user(v) else e = sys.group(v) end
    if not e then
      return nil, errors.new("converge", string.format("%s '%s' does not exist", what, v), { assumable = true })
    end
    id = what == "owner" and e.uid or e.gid
    ctx.cache[key] = id
  end
  return id
end

-- name or id -> uid, cached per run (ctx.cache); raises when unknown.
function M.uid(ctx, owner)
  local id, err = find_id(ctx, owner, "owner")
  if err then error(err, 0) end
  return id
end

function M.gid(ctx, group)
  local id, err = find_id(ctx, group, "group")
  if err then error(err, 0) end
  return id
end

-- An id as a name for messages ("owner root -> nobody"), the number when
-- the id has no name.
local function id_name(ctx, id, lookup, kind)
  local key = kind .. "#" .. id
  local v = ctx.cache[key]
  if v == nil then
    local e = lookup(id)
    v = e and e.name or tostring(id)
    ctx.cache[key] = v
  end
  return v
end

-- For load: the wanted owner and group of p as ids (cur.want_uid,
-- cur.want_gid), and where they differ from the path's (cur.uid, cur.gid
-- of an existing one) the current ones as names for plan's message. A
-- name that does not exist is kept (cur.owner_error), not raised: plan or
-- apply raise it where they need the ids (M.owner_ids), so a why-run
-- still shows what an owner an earlier resource would create allows.
function M.load_owner(p, cur, ctx)
  if p.owner == nil and p.group == nil then return cur end
  local uid, err = find_id(ctx, p.owner, "owner")
  local gid, gerr = find_id(ctx, p.group, "group")
  cur.owner_error = err or gerr
  if cur.owner_error then return cur end
  cur.want_uid, cur.want_gid = uid, gid
  if cur.exists and uid and cur.uid ~= uid then cur.uid_name = id_name(ctx, cur.uid, sys.user, "u") end
  if cur.exists and gid and cur.gid ~= gid then cur.gid_name = id_name(ctx, cur.gid, sys.group, "g") end
  return cur
end

-- The wanted uid and gid load found (M.load_owner); raises the error of a
-- name that does not exist.
function M.owner_ids(cur)
  if cur.owner_error then error(cur.owner_error, 0) end
  return cur.want_uid, cur.want_gid
end

-- Changes to mode/owner/group of an existing path (cur from sys.lstat and
-- M.load_owner).
function M.plan_attributes(p, cur, changes)
  if p.mode and cur.mode ~= p.mode then
    changes[#changes + 1] = string.format("mode %s -> %s", util.format_mode(cur.mode), util.format_mode(p.mode))
  end
  local uid, gid = M.owner_ids(cur)
  if uid and cur.uid ~= uid then
    changes[#changes + 1] = string.format("owner %s -> %s", cur.uid_name, tostring(p.owner))
  end
  if gid and cur.gid ~= gid then
    changes[#changes + 1] = string.format("group %s -> %s", cur.gid_name, tostring(p.group))
  end
  return changes
end

-- Bring mode/owner of an existing path in line (after plan_attributes),
-- on the object load saw (cur.dev/cur.ino): a link or another file swapped
-- in since then gets nothing (sys.setattr refuses it). uid, gid: the
-- wanted ids (M.owner_ids).
function M.apply_attributes(path, p, cur, uid, gid)
  local chown = (uid and cur.uid ~= uid) or (gid and cur.gid ~= gid)
  -- chmod after chown, also when only the owner changed: chown may clear
  -- setuid/setgid bits.
  local mode = p.mode and (cur.mode ~= p.mode or uid or gid) and p.mode or nil
  if not chown and not mode then return end
  local ok, err = sys.setattr(path, mode, chown and uid or nil, chown and gid or nil, cur.dev, cur.ino)
  if not ok then errors.converge(err) end
end

-- For load: the parent directory of path, when it is not one (missing, a
-- file, an untrusted link on the way: docs/safety.md), as
-- { path =, err =, errname = }; nil when it is a directory.
function M.load_parent(path)
  local parent = util.dirname(path)
  local st, err, errname = sys.dirstat(parent)
  if st then return nil end
  return { path = parent, err = err, errname = errname }
end

-- For plan: raises unless the parent load found missing (M.load_parent)
-- is one an earlier resource planned to create (ctx.planned, the engine's
-- service: only under why-run).
function M.check_parent(missing, ctx)
  if missing == nil or ctx.planned:has(missing.path) then return end
  if missing.errname == "ENOENT" then
    errors.converge(string.format("parent directory %s does not exist (declare it with a directory resource)",
      missing.path), { assumable = true })
  elseif missing.errname == "ENOTDIR" then
    errors.converge(string.format("parent %s is not a directory", missing.path))
  end
  errors.converge(missing.err)
end

-- Both at once, where a step needs its parent now (apply).
function M.require_parent(path, ctx)
  M.check_parent(M.load_parent(path), ctx)
end

-- Diffs are computed only when the reporter shows them (ctx.show_diff,
-- set by the engine: why-run, -l info or JSON), and only for inputs up to
-- DIFF_MAX bytes a side; beyond, the diff is a one-line note.
M.DIFF_MAX = 256 * 1024

local function shows_diff(p, ctx)
  return not p.sensitive and (ctx == nil or ctx.show_diff ~= false)
end

local function omitted(n)
  return string.format("(diff omitted: %d bytes)\n", n)
end

-- Current state of a path that should hold `want` (or nil: content not
-- managed). Never follows a link at path; a link in a parent is followed
-- only when trusted. With p and ctx, the old content a diff needs comes
-- from the same object the comparison read (cur.old), and p's owner and
-- group are resolved (M.load_owner).
function M.load_file(path, want, p, ctx)
  local cur, err, errname
  if want ~= nil and p and shows_diff(p, ctx) then
    cur, err, errname = sys.lstat(path, want, M.DIFF_MAX)
  else
    cur, err, errname = sys.lstat(path, want)
  end
  if not cur then
    if errname == "ENOENT" or errname == "ENOTDIR" then
      cur = { exists = false, want = want, parent = M.load_parent(path) }
      return p and M.load_owner(p, cur, ctx) or cur
    end
    errors.converge(err)
  end
  sys.test_hook("loaded", path)
  cur.exists = true
  cur.want = want
  -- The test inline: no call for the many files without an owner (a
  -- no-op converge of 1000 files makes 1100 of these).
  if p and (p.owner ~= nil or p.group ~= nil) then M.load_owner(p, cur, ctx) end
  return cur
end

-- load_file for a file that should be a copy of the (large) file src, of
-- size bytes: compared by streaming both, memory independent of the size.
function M.load_copy(path, src, size, p, ctx)
  local cur, err, errname = sys.same_file(path, src)
  if not cur then
    if errname == "ENOENT" or errname == "ENOTDIR" then
      if sys.stat(src) then
        return M.load_owner(p, { exists = false, source_file = src, source_size = size,
          parent = M.load_parent(path) }, ctx)
      end
      errors.converge("cannot read source: " .. err)
    end
    errors.converge(err)
  end
  sys.test_hook("loaded", path)
  cur.exists = true
  cur.source_file, cur.source_size = src, size
  return M.load_owner(p, cur, ctx)
end

-- Plan for a file that should exist with the content load wanted, cur.want
-- (nil: any content; cur.source_file instead: a large source compared and
-- copied by streaming, cur.same from load). Returns changes, diff.
function M.plan_content(p, cur, action, ctx)
  local want = cur.want
  local changes = {}
  if action == "delete" then
    if cur.exists then
      if cur.type == "directory" then
        errors.converge(p.path .. " is a directory; use a directory resource to delete it")
      end
      return { "delete" }
    end
    return changes
  end
  local show = shows_diff(p, ctx)
  if not cur.exists then
    M.check_parent(cur.parent, ctx)
    changes[1] = "create"
    if p.mode then changes[2] = "mode " .. util.format_mode(p.mode) end
    local d
    if show and want then
      d = #want > M.DIFF_MAX and omitted(#want) or diff.unified("", want, "/dev/null", p.path)
    elseif show and cur.source_file then
      d = omitted(cur.source_size)
    end
    return changes, d
  end
  if cur.type == "directory" then
    errors.converge(p.path .. " is a directory, not a file")
  elseif cur.type == "link" then
    errors.converge(p.path .. " is a symbolic link; manage it with a link resource, or its target with a file resource")
  elseif cur.type ~= "file" then
    errors.converge(p.path .. " exists and is not a regular file")
  end
  if action == "create_if_missing" then return changes end
  local d
  if (want or cur.source_file) and not cur.same then
    changes[#changes + 1] = "content"
    if show then
      if cur.old and want and #want <= M.DIFF_MAX then
        d = diff.unified(cur.old, want, p.path, p.path .. " (wanted)")
      else
        d = omitted(math.max(cur.size, want and #want or cur.source_size or 0))
      end
    end
  end
  M.plan_attributes(p, cur, changes)
  if action == "touch" then changes[#changes + 1] = "touch" end
  return changes, d
end

function M.backup_keep(p, ctx)
  if p.backup ~= nil then return p.backup end
  return ctx.backups
end

-- Carry out a plan from plan_content. Returns { backup = path }.
function M.apply_content(p, cur, action, steps, ctx)
  local want = cur.want
  sys.test_hook("apply", p.path)
  local info = {}
  if action == "delete" then
    info.backup = backup.save(ctx.backup_dir, p.path, M.backup_keep(p, ctx), cur)
    local ok, err = sys.unlink(p.path)
    if not ok then errors.converge(err) end
    return info
  end
  local content_changes = cur.exists and (want or cur.source_file) and not cur.same
  if not cur.exists or content_changes then
    if content_changes then
      info.backup = backup.save(ctx.backup_dir, p.path, M.backup_keep(p, ctx), cur)
    end
    local ok, err
    local mode = p.mode
    local uid, gid = M.owner_ids(cur)
    if want == nil and cur.source_file then
      ok, err = sys.copy(p.path, cur.source_file, mode, uid, gid, true)
    else
      -- A file without content is created empty; an existing one is never
      -- read and rewritten (touch only sets its times, below).
      ok, err = sys.write(p.path, want or "", mode, uid, gid, true)
    end
    if not ok then errors.converge(err) end
    return info
  end
  M.apply_attributes(p.path, p, cur, M.owner_ids(cur))
  if action == "touch" then
    local ok, err = sys.touch(p.path)
    if not ok then errors.converge(err) end
  end
  return info
end

-- verify (Chef's verify, Ansible's validate): a shell command run on the
-- candidate content before it replaces the file. The candidate is a file
-- of its own in a fresh private directory (mode 0700: no other user can
-- read or swap it), named like the target, because some checkers go by
-- the name; %{path} in the command becomes its shell-quoted path. Runs in
-- load, so why-run asks the same question (it only reads the candidate,
-- like a guard: docs/cli.md). Raises with the command's output when the
-- command fails; returns nothing when the content does not change.
function M.verify(p, cur, ctx)
  if p.verify == nil or cur.same then return end
  if cur.exists and cur.type ~= "file" then return end -- plan reports it
  local dir, derr = private_dir.create()
  if not dir then errors.converge("verify: " .. derr) end
  local cand = dir .. "/" .. util.basename(p.path)
  local ok, err
  if cur.want == nil and cur.source_file then
    ok, err = sys.copy(cand, cur.source_file, util.mode"0600", nil, nil, false)
  else
    ok, err = sys.write(cand, cur.want or "", util.mode"0600", nil, nil, false)
  end
  if not ok then
    private_dir.remove(dir)
    errors.converge("verify: cannot write the candidate: " .. err)
  end
  local cmd = p.verify:gsub("%%{path}", function() return util.shell_quote(cand) end)
  local res, rerr = proc.run(cmd, { timeout = ctx.command_timeout })
  private_dir.remove(dir)
  local shown = p.sensitive and "(sensitive)" or ("`" .. p.verify .. "`")
  -- assumable: under why-run, a verifier an earlier resource would install
  -- (haproxy before its config), or a file it reads that an earlier
  -- resource would write, makes the verdict unknown, not a failure.
  if not res then errors.converge("verify command " .. shown .. " could not start: " .. rerr, { assumable = true }) end
  if res.timed_out then errors.converge("verify command " .. shown .. " timed out; the file was not written") end
  if res.status ~= 0 or res.signal ~= 0 then
    local how = res.signal ~= 0 and ("killed by signal " .. res.signal) or ("exit " .. res.status)
    errors.converge(string.format("verify command %s failed (%s); the file was not written", shown, how),
      { output = not p.sensitive and res.output or nil, assumable = true })
  end
end

-- A unit's `stage` (docs/resources.md, "Staged changes"): a change of a
-- file that is part of an Apache configuration waits for the check of the
-- whole staged set (ccchef.apache_stage); any other goes ahead now (nil).
function M.stage(p, cur, action, ctx)
  return apache_stage.claim(apache_stage.file_ops(p, cur, action), ctx)
end

-- rm -rf for directory and remote_directory deletes, by descriptors in C
-- (a link is removed, never followed, also one swapped in mid-walk);
-- raises on failure.
function M.remove_tree(path)
  local ok, err = sys.remove_tree(path)
  if not ok then errors.converge(err) end
end

return M
