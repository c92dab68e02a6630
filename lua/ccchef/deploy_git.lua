-- ccchef.deploy_git: git as the source of the deploy resource's releases.
--
-- The deploy keeps one bare repository, <deploy_to>/repo, as a cache of
-- objects; a release is an export of one commit's tree from it (no .git in
-- the release: the live code is not a working copy anyone commits in).
-- resolve only reads (a full commit id needs nothing at all; a branch or a
-- tag is one `git ls-remote`); fetch runs only when the commit is not in
-- the cache yet, so a second run at an unchanged revision never fetches.
local errors = require("ccchef.errors")
local git = require("ccchef.git")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

function M.cache_dir(p)
  return p.deploy_to .. "/repo"
end

function M.revision_problem(rev)
  return git.revision_problem(rev)
end

function M.repository_problem(repo)
  return git.repository_problem(repo)
end

-- What the revision names: { id =, rev =, label =, ref = } where id is the
-- release directory's name (the full commit id) and label says what the
-- recipe asked for ("branch main", "tag v1.4", "commit 1a2b3c4...").
function M.resolve(p, ctx, as)
  local w = git.resolve(ctx, as, { repository = p.repository, revision = p.revision })
  return { id = w.sha, rev = w.sha, short = git.short(w.sha), ref = w, label = w.kind .. " " .. w.name }
end

-- The cache, owned by whoever runs git (git refuses a repository someone
-- else owns, and that refusal is what keeps root out of a user's hooks):
-- made by ccchef and given to the deploy's user, or handed over with
-- chown -R when the deploy's user changed.
local function ensure_cache(ctx, as, dir)
  local st = sys.lstat(dir)
  local uid, gid = as and as.uid or sys.geteuid(), as and as.gid or nil
  if not st then
    local ok, err = sys.mkdir(dir, util.mode"0755", as and uid or nil, as and gid or nil)
    if not ok then errors.converge(err) end
  elseif st.type ~= "directory" then
    errors.converge(dir .. " exists and is not a directory")
  elseif st.uid ~= uid then
    local res, err = proc.run({ "chown", "-R", "--", tostring(uid) .. ":" .. tostring(gid or st.gid), dir },
      { timeout = ctx.command_timeout })
    if not res or res.status ~= 0 then
      errors.converge("chown -R of the cache failed: " .. (res and git.trimmed(res.output) or err))
    end
  end
  if not sys.lstat(dir .. "/HEAD") then
    git.ok(ctx, as, dir, { "init", "--quiet", "--bare" }, "git init of the cache " .. dir)
  end
end

-- The commit in the cache, fetched from the repository only when missing.
local function fetch(p, ctx, as, want)
  local dir = M.cache_dir(p)
  ensure_cache(ctx, as, dir)
  if git.has_commit(ctx, as, dir, want.rev) then return end
  local w = want.ref
  local spec
  if w.kind == "branch" then
    spec = "+refs/heads/" .. w.name .. ":refs/heads/" .. w.name
  elseif w.kind == "tag" then
    spec = "+refs/tags/" .. w.name .. ":refs/tags/" .. w.name
  else
    spec = w.sha
  end
  local res = git.run(ctx, as, dir, { "fetch", "--quiet", "--", p.repository, spec })
  if res.status ~= 0 or not git.has_commit(ctx, as, dir, want.rev) then
    errors.converge(string.format("revision '%s' (%s) could not be fetched from repository %s: %s",
      p.revision, want.short, p.repository, git.trimmed(res.output)), { output = res.output })
  end
end

-- Writes the commit's tree into dir (an empty directory). read-tree into
-- the cache's own index, started afresh (the run lock keeps deploys of one
-- cache apart), then checkout-index into dir as a work tree given for that
-- one command: every file is written, and the cache stays bare.
function M.export(p, ctx, as, want, dir)
  fetch(p, ctx, as, want)
  local cache = M.cache_dir(p)
  local index = cache .. "/index"
  sys.unlink(index)
  git.ok(ctx, as, cache, { "read-tree", want.rev }, "git read-tree " .. want.short)
  git.ok(ctx, as, cache, { "--work-tree=" .. dir, "checkout-index", "--all", "--force" },
    "git checkout-index of " .. want.short)
  sys.unlink(index)
end

return M
