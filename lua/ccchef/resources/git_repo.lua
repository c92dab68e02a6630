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

local function short(sha)
  return sha and sha:sub(1, 7) or "(none)"
end

local function is_full_sha(s)
  return (#s == 40 or #s == 64) and s:match("^%x+$") ~= nil
end

-- The parts of git's ref name rules (git-check-ref-format) that matter
-- here: they also keep the revision from being read as an option or a
-- glob by ls-remote. Returns nil or the problem.
local function revision_problem(rev)
  if rev == "" then return "must not be empty" end
  if rev:sub(1, 1) == "-" then return "must not start with '-'" end
  if rev:find("[%c ~^:?*%[\\]") then
    return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"
  end
  if rev:find("..", 1, true) or rev:find("@{", 1, true) or rev:find("//", 1, true) then
    return "must not contain '..', '@{' or '//'"
  end
  if rev:match("[/.]$") or rev:match("%.lock$") or rev:match("^/") then
    return "must not start with '/' or end with '/', '.' or '.lock'"
  end
  return nil
end

function M.validate(p)
  if type(p.revision) == "string" then
    local problem = revision_problem(p.revision)
    if problem then error(string.format("revision %q: %s", p.revision, problem), 0) end
  end
  if type(p.repository) == "string" then
    local repo = p.repository
    if repo == "" or repo:sub(1, 1) == "-" then
      error(string.format("repository %q is not a URL or an absolute path", repo), 0)
    end
    if repo:sub(1, 1) ~= "/" and not repo:find(":", 1, true) then
      error(string.format(
        "repository %q is relative; give a URL (https://, ssh://, file://, host:path) or an absolute path",
        repo), 0)
    end
    -- git ignores --depth for a local path (it hardlinks the objects).
    if p.depth and repo:sub(1, 1) == "/" then
      error(string.format("depth needs a URL: git ignores --depth for the local path %q (use \"file://%s\")",
        repo, repo), 0)
    end
  end
end

---------------------------------------------------------------------------
-- Running git

-- Who git runs as: nil (ourselves) or { uid=, gid=, home= }.
local function identity(uid, gid)
  if uid == nil or (uid == sys.geteuid() and gid == nil) then return nil end
  local u = sys.user(uid)
  return { uid = uid, gid = gid or (u and u.gid) or 0, home = u and u.home or "/" }
end

-- git ARGS... in cwd as `as`. Returns the result table (status, output).
-- The environment keeps git from prompting, its messages in English, and
-- `git status` from rewriting the index (so load and plan write nothing).
local function git(ctx, as, cwd, args)
  -- An argv: no shell, so a URL or a path is one argument as it is.
  local argv = { "git", "-c", "advice.detachedHead=false" }
  for _, a in ipairs(args) do argv[#argv + 1] = tostring(a) end
  local env = { LC_ALL = "C", GIT_TERMINAL_PROMPT = "0", GIT_OPTIONAL_LOCKS = "0" }
  local opts = { cwd = cwd or "/", env = env, timeout = ctx.command_timeout }
  if as then
    opts.uid, opts.gid = as.uid, as.gid
    env.HOME = as.home
  end
  local res, err, errname = proc.run(argv, opts)
  if not res and errname == "ENOENT" then
    errors.converge("git is not installed (no `git` command found)", { output = err, no_git = true })
  end
  if not res then errors.converge("git could not start: " .. err) end
  if res.status == 127 then
    errors.converge("git is not installed (no `git` command found)", { output = res.output, no_git = true })
  end
  return res
end

local function trimmed(s)
  return (s:gsub("%s+$", ""))
end

-- git that must succeed; raises with `what` and git's own message.
local function git_ok(ctx, as, cwd, args, what)
  local res = git(ctx, as, cwd, args)
  if res.status ~= 0 or res.signal ~= 0 or res.timed_out then
    errors.converge(string.format("%s failed: %s", what, trimmed(res.output)), { output = res.output })
  end
  return res.output
end

---------------------------------------------------------------------------
-- Reading state

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

-- Files with local modifications (tracked files only: untracked files are
-- not lost by a move, and git refuses to overwrite them).
local function modified_files(p, cur, ctx)
  local out = git_ok(ctx, cur.reader, p.destination,
    { "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=all" },
    "git status")
  local files = {}
  for line in out:gmatch("[^\n]+") do
    local path = line:match("^[ MADRCUT?!][ MADRCUT?!] (.+)$")
    if path then files[#files + 1] = path end
  end
  return files
end

-- Submodules that are not initialised or not at the recorded commit.
local function submodules_stale(p, cur, ctx)
  local res = git(ctx, cur.reader, p.destination, { "submodule", "status", "--recursive" })
  if res.status ~= 0 then return true end
  for line in res.output:gmatch("[^\n]+") do
    if line:match("^[-+U]") then return true end
  end
  return false
end

-- What the revision names in the repository:
-- { sha=, kind = "branch"|"tag"|"commit"|"ref", name= }.
local function resolve(p, ctx, as)
  local rev = p.revision
  if is_full_sha(rev) then return { sha = rev:lower(), kind = "commit", name = rev } end
  local args = { "ls-remote" }
  if rev == "HEAD" then
    table.move({ "--symref", "--", p.repository, "HEAD" }, 1, 4, 2, args)
  else
    table.move({ "--", p.repository, rev, rev .. "^{}" }, 1, 4, 2, args)
  end
  local res = git(ctx, as, "/", args)
  if res.status ~= 0 or res.signal ~= 0 or res.timed_out then
    errors.converge(string.format("cannot read repository %s: %s", p.repository, trimmed(res.output)),
      { output = res.output })
  end
  local refs, head_branch = {}, nil
  for line in res.output:gmatch("[^\n]+") do
    local sha, ref = line:match("^(%x+)\t(%S+)$")
    if sha then refs[ref] = sha end
    local target = line:match("^ref: refs/heads/(%S+)\tHEAD$")
    if target then head_branch = target end
  end
  if rev == "HEAD" then
    if head_branch and refs.HEAD then return { sha = refs.HEAD, kind = "branch", name = head_branch } end
    if refs.HEAD then return { sha = refs.HEAD, kind = "ref", name = "HEAD" } end
    errors.converge(string.format("repository %s has no HEAD (is it empty?); give a revision",
      p.repository))
  elseif rev:match("^refs/") then
    local sha = refs[rev .. "^{}"] or refs[rev]
    local branch = rev:match("^refs/heads/(.+)$")
    local tag = rev:match("^refs/tags/(.+)$")
    if sha then
      return { sha = sha, kind = branch and "branch" or tag and "tag" or "ref", name = branch or tag or rev }
    end
  elseif refs["refs/heads/" .. rev] then
    return { sha = refs["refs/heads/" .. rev], kind = "branch", name = rev }
  elseif refs["refs/tags/" .. rev] then
    -- An annotated tag: the commit it points to, not the tag object.
    return { sha = refs["refs/tags/" .. rev .. "^{}"] or refs["refs/tags/" .. rev], kind = "tag", name = rev }
  end
  local hint = ""
  if rev:match("^%x+$") and #rev >= 4 then
    hint = " (an abbreviated commit id cannot be looked up remotely: give all 40 characters)"
  end
  errors.converge(string.format("revision '%s' not found in repository %s: no branch or tag of that name%s",
    rev, p.repository, hint))
end

---------------------------------------------------------------------------
-- Reading the world: every probe, git's network look-ups included, is in
-- load; plan only compares what load read.

local function owner_change(p, cur, ctx)
  local want = wanted_owner(p, ctx)
  if not want or not cur.exists then return nil end
  if (want.uid and want.uid ~= cur.uid) or (want.gid and want.gid ~= cur.gid) then
    return string.format("owner %d:%d -> %s:%s (chown -R)", cur.uid, cur.gid,
      tostring(p.user or cur.uid), tostring(p.group or want.gid or cur.gid))
  end
  return nil
end

-- Who runs git to change the checkout: the wanted user (and group), else
-- the owner.
local function writer(p, cur, ctx)
  local want = wanted_owner(p, ctx)
  if want then return identity(want.uid or cur.uid or sys.geteuid(), want.gid) end
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
  if sys.geteuid() == 0 and st.uid ~= 0 then cur.reader = identity(st.uid, st.gid) end
  local head = git(ctx, cur.reader, p.destination, { "rev-parse", "--verify", "-q", "HEAD" })
  if head.output:find("dubious ownership", 1, true) then
    errors.converge("git refuses the checkout: " .. trimmed(head.output), { output = head.output })
  end
  cur.head = head.status == 0 and head.output:match("^(%x+)") or nil
  local url = git(ctx, cur.reader, p.destination, { "config", "--get", "remote.origin.url" })
  cur.url = url.status == 0 and trimmed(url.output) or nil
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
    if cur.checkout and not p.force then cur.modified = modified_files(p, cur, ctx) end
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
    local as
    as, cur.writer_error = kept(writer, p, cur, ctx)
    cur.wanted, cur.resolve_error = kept(resolve, p, ctx, as)
    return cur
  end
  cur.owner_change = owner_change(p, cur, ctx)
  if action == "sync" then
    -- A full commit id already checked out needs no look-up at all.
    if is_full_sha(p.revision) and cur.head == p.revision:lower() then
      cur.wanted = { sha = cur.head, kind = "commit", name = p.revision }
    else
      cur.wanted = resolve(p, ctx, writer(p, cur, ctx))
    end
    if cur.head ~= cur.wanted.sha then cur.modified = modified_files(p, cur, ctx) end
  end
  local moving = cur.modified ~= nil
  if p.enable_submodules and not moving then cur.submodules_stale = submodules_stale(p, cur, ctx) end
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

local function has_commit(ctx, as, dest, sha)
  return git(ctx, as, dest, { "cat-file", "-e", sha .. "^{commit}" }).status == 0
end

local function depth_args(p, args)
  if p.depth then
    args[#args + 1] = "--depth"
    args[#args + 1] = p.depth
  end
  return args
end

-- Fetch exactly what the wanted revision needs into the checkout.
local function fetch(p, ctx, as, w)
  local dest = p.destination
  local args = depth_args(p, { "fetch", "--quiet" })
  args[#args + 1] = "origin"
  if w.kind == "branch" then
    args[#args + 1] = "+refs/heads/" .. w.name .. ":refs/remotes/origin/" .. w.name
  elseif w.kind == "tag" then
    args[#args + 1] = "+refs/tags/" .. w.name .. ":refs/tags/" .. w.name
  else
    if has_commit(ctx, as, dest, w.sha) then return end
    args[#args + 1] = w.sha
  end
  local res = git(ctx, as, dest, args)
  if res.status ~= 0 then
    errors.converge(string.format("revision '%s' (%s) could not be fetched from repository %s: %s",
      p.revision, short(w.sha), p.repository, trimmed(res.output)), { output = res.output })
  end
end

-- Put the work tree at the wanted commit: a local branch tracking origin
-- for a branch (so `git pull` works for someone stepping in), a detached
-- HEAD for a tag or a commit.
local function move(p, ctx, as, w)
  local dest = p.destination
  local force = p.force and "--force" or nil
  if w.kind == "branch" then
    local args = { "checkout", "--quiet" }
    if force then args[#args + 1] = force end
    table.move({ "-B", w.name, w.sha }, 1, 3, #args + 1, args)
    git_ok(ctx, as, dest, args, "git checkout")
    git_ok(ctx, as, dest, { "config", "branch." .. w.name .. ".remote", "origin" }, "git config")
    git_ok(ctx, as, dest, { "config", "branch." .. w.name .. ".merge", "refs/heads/" .. w.name }, "git config")
  else
    local args = { "checkout", "--quiet" }
    if force then args[#args + 1] = force end
    table.move({ "--detach", w.sha }, 1, 2, #args + 1, args)
    git_ok(ctx, as, dest, args, "git checkout")
  end
end

local function update_submodules(p, ctx, as)
  git_ok(ctx, as, p.destination, { "submodule", "--quiet", "sync", "--recursive" }, "git submodule sync")
  local args = { "submodule", "--quiet", "update", "--init", "--recursive" }
  if p.force then args[#args + 1] = "--force" end
  git_ok(ctx, as, p.destination, args, "git submodule update")
end

local function chown_tree(p, ctx)
  local want = wanted_owner(p, ctx)
  local spec = (want.uid and tostring(want.uid) or "") .. ":" .. (want.gid and tostring(want.gid) or "")
  local res, err = proc.run({ "chown", "-R", "--", spec, p.destination }, { timeout = ctx.command_timeout })
  if not res or res.status ~= 0 then
    errors.converge("chown -R failed: " .. (res and trimmed(res.output) or err))
  end
end

local function clone(p, cur, ctx, w)
  local dest = p.destination
  local want = wanted_owner(p, ctx)
  if not cur.exists then
    local ok, err = sys.mkdir(dest, util.mode"0755")
    if not ok then errors.converge(err) end
  end
  -- Created by us (root) in a parent the user may not write to; the user
  -- then clones into the empty directory it owns.
  if want then
    local ok, err = sys.lchown(dest, want.uid, want.gid)
    if not ok then errors.converge(err) end
  end
  local as = writer(p, cur, ctx)
  local args = depth_args(p, { "clone", "--quiet" })
  if w.kind == "branch" or w.kind == "tag" then
    args[#args + 1] = "--branch"
    args[#args + 1] = w.name
  else
    args[#args + 1] = "--no-checkout"
  end
  table.move({ "--", p.repository, dest }, 1, 3, #args + 1, args)
  local res = git(ctx, as, "/", args)
  if res.status ~= 0 then
    if not cur.exists then proc.run({ "rm", "-rf", "--", dest }) end
    errors.converge(string.format("git clone of %s failed: %s", p.repository, trimmed(res.output)),
      { output = res.output })
  end
  if w.kind ~= "branch" and w.kind ~= "tag" then
    fetch(p, ctx, as, w)
    move(p, ctx, as, w)
  end
  if p.enable_submodules then update_submodules(p, ctx, as) end
end

-- Takes exactly the steps plan returned.
function M.apply(p, cur, action, steps, ctx)
  if steps.delete then
    local res, err = proc.run({ "rm", "-rf", "--", p.destination }, { timeout = ctx.command_timeout })
    if not res or res.status ~= 0 then
      errors.converge("delete failed: " .. (res and trimmed(res.output) or err))
    end
    return
  end
  if steps.clone then
    clone(p, cur, ctx, steps.clone)
    return
  end
  -- Ownership first: afterwards git runs as the wanted user.
  if steps.chown then chown_tree(p, ctx) end
  local as = writer(p, cur, ctx)
  local dest = p.destination
  if steps.remote then
    git_ok(ctx, as, dest, { "remote", steps.remote, "origin", p.repository }, "git remote " .. steps.remote)
  end
  if steps.move then
    if steps.discard then git_ok(ctx, as, dest, { "reset", "--hard", "--quiet" }, "git reset --hard") end
    fetch(p, ctx, as, steps.move)
    move(p, ctx, as, steps.move)
    if p.enable_submodules then update_submodules(p, ctx, as) end
    return
  end
  if steps.submodules then update_submodules(p, ctx, as) end
end

return M
