-- ccchef.git: the git command for the units that keep checkouts (git_repo,
-- deploy). Each function is one git operation: it runs git by argv (no
-- shell, so a URL or a path is one argument as it is) in a clean
-- environment, as `as` (nil: ourselves; else { uid=, gid=, home= }, from
-- M.identity), and raises errors.converge with git's own message.
--
-- A revision is resolved to { sha=, kind = "branch"|"tag"|"commit"|"ref",
-- name= } ("wanted"), and fetch and checkout take exactly that. `src` is
-- what a unit's properties say of the repository: { repository=,
-- revision=, depth= } (git_repo passes its properties as they are).
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")

local M = {}

function M.short(sha)
  return sha and sha:sub(1, 7) or "(none)"
end

function M.is_full_sha(s)
  return (#s == 40 or #s == 64) and s:match("^%x+$") ~= nil
end

local function trimmed(s)
  return (s:gsub("%s+$", ""))
end
M.trimmed = trimmed

-- The parts of git's ref name rules (git-check-ref-format) that matter
-- here: they also keep the revision from being read as an option or a
-- glob by ls-remote. Returns nil or the problem.
function M.revision_problem(rev)
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

-- A repository git reads as a URL or an absolute path, never as an option
-- or relative to wherever git runs. Returns nil or the whole message.
function M.repository_problem(repo)
  if repo == "" or repo:sub(1, 1) == "-" then
    return string.format("repository %q is not a URL or an absolute path", repo)
  end
  if repo:sub(1, 1) ~= "/" and not repo:find(":", 1, true) then
    return string.format(
      "repository %q is relative; give a URL (https://, ssh://, file://, host:path) or an absolute path", repo)
  end
  return nil
end

---------------------------------------------------------------------------
-- Running git

-- Who git runs as: nil (ourselves) or { uid=, gid=, home= }.
function M.identity(uid, gid)
  if uid == nil or (uid == sys.geteuid() and gid == nil) then return nil end
  local u = sys.user(uid)
  return { uid = uid, gid = gid or (u and u.gid) or 0, home = u and u.home or "/" }
end

-- git ARGS... in cwd as `as`. Returns the result table (status, output).
-- The environment keeps git from prompting, its messages in English, and
-- `git status` from rewriting the index (so load writes nothing).
function M.run(ctx, as, cwd, args)
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
local run = M.run

local function failed(res)
  return res.status ~= 0 or res.signal ~= 0 or res.timed_out
end

-- git that must succeed; raises with `what` and git's own message.
function M.ok(ctx, as, cwd, args, what)
  local res = run(ctx, as, cwd, args)
  if failed(res) then
    errors.converge(string.format("%s failed: %s", what, trimmed(res.output)), { output = res.output })
  end
  return res.output
end
local ok = M.ok

---------------------------------------------------------------------------
-- Reading a checkout

-- The commit checked out in dir, or nil (no commit yet). Raises when git
-- refuses the checkout as someone else's: that refusal protects root from
-- a user's hooks and config, so it is reported, never switched off.
function M.head(ctx, as, dir)
  local res = run(ctx, as, dir, { "rev-parse", "--verify", "-q", "HEAD" })
  if res.output:find("dubious ownership", 1, true) then
    errors.converge("git refuses the checkout: " .. trimmed(res.output), { output = res.output })
  end
  return res.status == 0 and res.output:match("^(%x+)") or nil
end

-- The URL of the checkout's origin, or nil.
function M.origin_url(ctx, as, dir)
  local res = run(ctx, as, dir, { "config", "--get", "remote.origin.url" })
  return res.status == 0 and trimmed(res.output) or nil
end

-- Whether the commit is in dir's object store (then it needs no fetch).
function M.has_commit(ctx, as, dir, sha)
  return run(ctx, as, dir, { "cat-file", "-e", sha .. "^{commit}" }).status == 0
end

-- Files with local modifications (tracked files only: untracked files are
-- not lost by a move, and git refuses to overwrite them).
function M.modified_files(ctx, as, dir)
  local out = ok(ctx, as, dir,
    { "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=all" }, "git status")
  local files = {}
  for line in out:gmatch("[^\n]+") do
    local path = line:match("^[ MADRCUT?!][ MADRCUT?!] (.+)$")
    if path then files[#files + 1] = path end
  end
  return files
end

-- Whether submodules are not initialised or not at the recorded commit.
function M.submodules_stale(ctx, as, dir)
  local res = run(ctx, as, dir, { "submodule", "status", "--recursive" })
  if res.status ~= 0 then return true end
  for line in res.output:gmatch("[^\n]+") do
    if line:match("^[-+U]") then return true end
  end
  return false
end

---------------------------------------------------------------------------
-- Reading the repository

-- `git ls-remote` of the given refs (patterns: no leading '-'; "HEAD"
-- alone also reads what HEAD points to). Returns { ref = sha } and the
-- branch HEAD names, if asked.
function M.ls_remote(ctx, as, repository, refs_wanted)
  local args = { "ls-remote" }
  if #refs_wanted == 1 and refs_wanted[1] == "HEAD" then args[#args + 1] = "--symref" end
  args[#args + 1] = "--"
  args[#args + 1] = repository
  for _, r in ipairs(refs_wanted) do args[#args + 1] = r end
  local res = run(ctx, as, "/", args)
  if failed(res) then
    errors.converge(string.format("cannot read repository %s: %s", repository, trimmed(res.output)),
      { output = res.output })
  end
  local refs, head_branch = {}, nil
  for line in res.output:gmatch("[^\n]+") do
    local sha, ref = line:match("^(%x+)\t(%S+)$")
    if sha then refs[ref] = sha end
    local target = line:match("^ref: refs/heads/(%S+)\tHEAD$")
    if target then head_branch = target end
  end
  return refs, head_branch
end

-- What src.revision names in src.repository (the wanted commit). A full
-- commit id is taken as it is, with no look-up: whether it must be fetched
-- is for M.fetch to find out in the checkout.
function M.resolve(ctx, as, src)
  local rev, repo = src.revision, src.repository
  if M.is_full_sha(rev) then return { sha = rev:lower(), kind = "commit", name = rev } end
  local refs, head_branch = M.ls_remote(ctx, as, repo, rev == "HEAD" and { "HEAD" } or { rev, rev .. "^{}" })
  if rev == "HEAD" then
    if head_branch and refs.HEAD then return { sha = refs.HEAD, kind = "branch", name = head_branch } end
    if refs.HEAD then return { sha = refs.HEAD, kind = "ref", name = "HEAD" } end
    errors.converge(string.format("repository %s has no HEAD (is it empty?); give a revision", repo))
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
    rev, repo, hint))
end

---------------------------------------------------------------------------
-- Changing a checkout

local function depth_args(src, args)
  if src.depth then
    args[#args + 1] = "--depth"
    args[#args + 1] = src.depth
  end
  return args
end

-- `git clone` of src into dest (an empty or missing directory) at the
-- wanted branch or tag; for a commit, no checkout (M.fetch and M.checkout
-- follow). Returns true, or nil, the message and git's output.
function M.clone(ctx, as, src, dest, w)
  local args = depth_args(src, { "clone", "--quiet" })
  if w.kind == "branch" or w.kind == "tag" then
    args[#args + 1] = "--branch"
    args[#args + 1] = w.name
  else
    args[#args + 1] = "--no-checkout"
  end
  table.move({ "--", src.repository, dest }, 1, 3, #args + 1, args)
  local res = run(ctx, as, "/", args)
  if res.status ~= 0 then
    return nil, string.format("git clone of %s failed: %s", src.repository, trimmed(res.output)), res.output
  end
  return true
end

-- Fetch exactly what the wanted revision needs into the checkout dir from
-- its origin; nothing at all for a commit already there.
function M.fetch(ctx, as, dir, src, w)
  local args = depth_args(src, { "fetch", "--quiet" })
  args[#args + 1] = "origin"
  if w.kind == "branch" then
    args[#args + 1] = "+refs/heads/" .. w.name .. ":refs/remotes/origin/" .. w.name
  elseif w.kind == "tag" then
    args[#args + 1] = "+refs/tags/" .. w.name .. ":refs/tags/" .. w.name
  else
    if M.has_commit(ctx, as, dir, w.sha) then return end
    args[#args + 1] = w.sha
  end
  local res = run(ctx, as, dir, args)
  if res.status ~= 0 then
    errors.converge(string.format("revision '%s' (%s) could not be fetched from repository %s: %s",
      src.revision, M.short(w.sha), src.repository, trimmed(res.output)), { output = res.output })
  end
end

-- Put the work tree at the wanted commit: a local branch tracking origin
-- for a branch (so `git pull` works for someone stepping in), a detached
-- HEAD for a tag or a commit. force: discard local changes in the way.
function M.checkout(ctx, as, dir, w, force)
  local args = { "checkout", "--quiet" }
  if force then args[#args + 1] = "--force" end
  if w.kind == "branch" then
    table.move({ "-B", w.name, w.sha }, 1, 3, #args + 1, args)
    ok(ctx, as, dir, args, "git checkout")
    ok(ctx, as, dir, { "config", "branch." .. w.name .. ".remote", "origin" }, "git config")
    ok(ctx, as, dir, { "config", "branch." .. w.name .. ".merge", "refs/heads/" .. w.name }, "git config")
  else
    table.move({ "--detach", w.sha }, 1, 2, #args + 1, args)
    ok(ctx, as, dir, args, "git checkout")
  end
end

function M.update_submodules(ctx, as, dir, force)
  ok(ctx, as, dir, { "submodule", "--quiet", "sync", "--recursive" }, "git submodule sync")
  local args = { "submodule", "--quiet", "update", "--init", "--recursive" }
  if force then args[#args + 1] = "--force" end
  ok(ctx, as, dir, args, "git submodule update")
end

return M
