-- git_repo: a git checkout at a revision, kept there with the git command.
--
-- The state compared is commits: the checkout's HEAD against the commit the
-- revision names in the repository (one `git ls-remote`; none at all when
-- the revision is a full commit id that is already checked out). Moving is
-- fetch + checkout of exactly that ref; local modifications of tracked files
-- stop a move unless force = true. git runs as `user` when given, and
-- otherwise as the owner of an existing checkout (see docs/resources.md,
-- "git_repo"), so git's safe.directory check is never switched off.
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local git = require("ccchef.git")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {
  name = "git_repo",
  name_property = "destination",
  properties = {
    destination = { type = "path" },
    repository = { type = "string", required = true },
    revision = { type = "string", default = "HEAD" },
    depth = { type = "integer", validate = function(v) return v > 0, "depth must be at least 1" end },
    user = { type = "principal" },
    group = { type = "principal" },
    enable_submodules = { type = "boolean", default = false },
    force = { type = "boolean", default = false },
  },
  actions = { "sync", "checkout", "delete" },
  default_action = "sync",
}

local short = git.short

function M.validate(p)
  if type(p.revision) == "string" then
    local problem = git.revision_problem(p.revision)
    if problem then error(string.format("revision %q: %s", p.revision, problem), 0) end
  end
  if type(p.repository) == "string" then
    local repo = p.repository
    local problem = git.repository_problem(repo)
    if problem then error(problem, 0) end
    -- git ignores --depth for a local path (it hardlinks the objects).
    if p.depth and repo:sub(1, 1) == "/" then
      error(string.format("depth needs a URL: git ignores --depth for the local path %q (use \"file://%s\")",
        repo, repo), 0)
    end
  end
end

---------------------------------------------------------------------------
-- Reading the world: every probe, git's network look-ups included, is in
-- load; plan only compares what load read.

-- The wanted owner as ids, or nil when neither user nor group is set.
local function wanted_owner(p, ctx)
  if p.user == nil and p.group == nil then return nil end
  local uid = fileops.uid(ctx, p.user)
  local gid = fileops.gid(ctx, p.group)
  if uid and not gid then
    local u = sys.user(uid)
    gid = u and u.gid
  end
  return { uid = uid, gid = gid }
end

local function owner_change(p, cur)
  local want = cur.want
  if not want or not cur.exists then return nil end
  if (want.uid and want.uid ~= cur.uid) or (want.gid and want.gid ~= cur.gid) then
    return string.format("owner %d:%d -> %s:%s (chown -R)", cur.uid, cur.gid,
      tostring(p.user or cur.uid), tostring(p.group or want.gid or cur.gid))
  end
  return nil
end

-- Who runs git to change the checkout: the wanted user (and group), else
-- the owner.
local function writer(cur)
  local want = cur.want
  if want then return git.identity(want.uid or cur.uid or sys.geteuid(), want.gid) end
  return cur.reader
end

-- The checkout as it is: directory, HEAD, origin.
local function read_checkout(p, ctx)
  local cur = { dest = p.destination }
  local st, err, errname = sys.lstat(p.destination)
  if not st then
    if errname ~= "ENOENT" and errname ~= "ENOTDIR" then errors.converge(err) end
    cur.exists = false
    return cur
  end
  if st.type == "link" then
    errors.converge(p.destination .. " is a symbolic link; give the path of the checkout itself")
  elseif st.type ~= "directory" then
    errors.converge(p.destination .. " exists and is not a directory")
  end
  cur.exists, cur.uid, cur.gid = true, st.uid, st.gid
  if not sys.lstat(p.destination .. "/.git") then
    if #(sys.listdir(p.destination) or {}) > 0 then
      errors.converge(p.destination ..
        " exists and is not a git checkout (no .git); move it away or delete it first")
    end
    cur.empty = true
    return cur
  end
  cur.checkout = true
  -- Read as the checkout's owner: git refuses a repository owned by someone
  -- else, and that refusal protects root from a user's hooks and config.
  if sys.geteuid() == 0 and st.uid ~= 0 then cur.reader = git.identity(st.uid, st.gid) end
  cur.head = git.head(ctx, cur.reader, p.destination)
  cur.url = git.origin_url(ctx, cur.reader, p.destination)
  return cur
end

-- An error met while reading, kept for plan to raise in its place (a
-- missing user or git may be what an earlier resource would create).
local function kept(fn, ...)
  local ok, v = pcall(fn, ...)
  if ok then return v, nil end
  if not errors.is(v) then error(v, 0) end -- a bug: the engine's to report
  return nil, v
end

function M.load(p, ctx, action)
  local cur = read_checkout(p, ctx)
  if action == "delete" then
    if cur.checkout and not p.force then cur.modified = git.modified_files(ctx, cur.reader, p.destination) end
    return cur
  end
  if not cur.checkout then
    local parent = util.dirname(p.destination)
    if not cur.exists and not sys.stat(parent) then
      cur.no_parent = parent
      return cur
    end
    -- The user may be one an earlier resource would create: the revision
    -- is then looked up as ourselves, and plan raises the user's error.
    cur.want, cur.writer_error = kept(wanted_owner, p, ctx)
    cur.wanted, cur.resolve_error = kept(git.resolve, ctx, writer(cur), p)
    return cur
  end
  cur.want = wanted_owner(p, ctx)
  cur.owner_change = owner_change(p, cur)
  if action == "sync" then
    -- A full commit id already checked out needs no look-up at all.
    if git.is_full_sha(p.revision) and cur.head == p.revision:lower() then
      cur.wanted = { sha = cur.head, kind = "commit", name = p.revision }
    else
      cur.wanted = git.resolve(ctx, writer(cur), p)
    end
    if cur.head ~= cur.wanted.sha then cur.modified = git.modified_files(ctx, cur.reader, p.destination) end
  end
  local moving = cur.modified ~= nil
  if p.enable_submodules and not moving then
    cur.submodules_stale = git.submodules_stale(ctx, cur.reader, p.destination)
  end
  return cur
end

---------------------------------------------------------------------------
-- Planning: a function of p and what load read. Returns the changes shown
-- and the steps apply takes: { clone = true } or { remote =, move =,
-- discard =, submodules =, chown = }.

-- A kept error raised again, with what why-run assumes would happen.
local function raise(e, assumed)
  errors.converge(e.message, { output = e.output, assumable = e.assumable, no_git = e.no_git, assumed = assumed })
end

function M.plan(p, cur, action)
  if action == "delete" then
    if not cur.exists then return {} end
    local files = cur.modified
    if files and #files > 0 then
      errors.converge(string.format(
        "%s has local modifications (%s); set force = true to delete it anyway",
        p.destination, table.concat(files, ", ", 1, math.min(#files, 5))))
    end
    return { "delete checkout" }, nil, { delete = true }
  end

  if not cur.checkout then
    if cur.no_parent then
      errors.converge(string.format("parent directory %s does not exist", cur.no_parent))
    end
    local assumed
    if cur.resolve_error then
      -- git may come from a package an earlier resource would install.
      if cur.resolve_error.no_git then
        assumed = { string.format("clone %s at %s (git is not installed yet)", p.repository, p.revision) }
      end
    else
      assumed = { string.format("clone %s at %s (%s)", p.repository, p.revision, short(cur.wanted.sha)) }
    end
    if cur.writer_error then raise(cur.writer_error, assumed) end
    if cur.resolve_error then raise(cur.resolve_error, assumed) end
    return assumed, nil, { clone = cur.wanted }
  end

  local changes, steps = {}, {}
  local w = cur.wanted
  if action == "sync" then
    if p.repository ~= cur.url then
      changes[#changes + 1] = string.format("remote origin %s -> %s", tostring(cur.url), p.repository)
      steps.remote = cur.url and "set-url" or "add"
    end
    if cur.head ~= w.sha then
      steps.move = w
      local files = cur.modified
      if #files > 0 then
        if not p.force then
          errors.converge(string.format(
            "%s has local modifications (%s); not moving it to %s (%s); set force = true to discard them",
            p.destination, table.concat(files, ", ", 1, math.min(#files, 5)), p.revision, short(w.sha)))
        end
        steps.discard = true
        changes[#changes + 1] = string.format("discard local modifications (%d %s)", #files,
          #files == 1 and "file" or "files")
      end
      changes[#changes + 1] = string.format("move %s -> %s (%s %s)", short(cur.head), short(w.sha),
        w.kind, w.name)
    end
  end
  if cur.submodules_stale then
    steps.submodules = true
    changes[#changes + 1] = "update submodules"
  end
  if cur.owner_change then
    steps.chown = true
    changes[#changes + 1] = cur.owner_change
  end
  return changes, nil, steps
end

---------------------------------------------------------------------------
-- Applying

local function chown_tree(p, cur, ctx)
  local want = cur.want
  local spec = (want.uid and tostring(want.uid) or "") .. ":" .. (want.gid and tostring(want.gid) or "")
  local res, err = proc.run({ "chown", "-R", "--", spec, p.destination }, { timeout = ctx.command_timeout })
  if not res or res.status ~= 0 then
    errors.converge("chown -R failed: " .. (res and git.trimmed(res.output) or err))
  end
end

local function clone(p, cur, ctx, w)
  local dest = p.destination
  if not cur.exists then
    local ok, err = sys.mkdir(dest, util.mode"0755")
    if not ok then errors.converge(err) end
  end
  -- Created by us (root) in a parent the user may not write to; the user
  -- then clones into the empty directory it owns.
  local want = cur.want
  if want then
    local ok, err = sys.lchown(dest, want.uid, want.gid)
    if not ok then errors.converge(err) end
  end
  local as = writer(cur)
  local ok, msg, output = git.clone(ctx, as, p, dest, w)
  if not ok then
    if not cur.exists then proc.run({ "rm", "-rf", "--", dest }) end
    errors.converge(msg, { output = output })
  end
  if w.kind ~= "branch" and w.kind ~= "tag" then
    git.fetch(ctx, as, dest, p, w)
    git.checkout(ctx, as, dest, w, p.force)
  end
  if p.enable_submodules then git.update_submodules(ctx, as, dest, p.force) end
end

-- Takes exactly the steps plan returned.
function M.apply(p, cur, action, steps, ctx)
  if steps.delete then
    local res, err = proc.run({ "rm", "-rf", "--", p.destination }, { timeout = ctx.command_timeout })
    if not res or res.status ~= 0 then
      errors.converge("delete failed: " .. (res and git.trimmed(res.output) or err))
    end
    return
  end
  if steps.clone then
    clone(p, cur, ctx, steps.clone)
    return
  end
  -- Ownership first: afterwards git runs as the wanted user.
  if steps.chown then chown_tree(p, cur, ctx) end
  local as = writer(cur)
  local dest = p.destination
  if steps.remote then
    git.ok(ctx, as, dest, { "remote", steps.remote, "origin", p.repository }, "git remote " .. steps.remote)
  end
  if steps.move then
    if steps.discard then git.ok(ctx, as, dest, { "reset", "--hard", "--quiet" }, "git reset --hard") end
    git.fetch(ctx, as, dest, p, steps.move)
    git.checkout(ctx, as, dest, steps.move, p.force)
    if p.enable_submodules then git.update_submodules(ctx, as, dest, p.force) end
    return
  end
  if steps.submodules then git.update_submodules(ctx, as, dest, p.force) end
end

return M
