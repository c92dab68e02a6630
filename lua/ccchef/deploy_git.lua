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
local sys = require("ccchef.sys")

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

-- The commit in the cache, fetched from the repository only when missing.
local function fetch(p, ctx, as, want)
  local dir = M.cache_dir(p)
  if not sys.lstat(dir) then
    git.ok(ctx, as, "/", { "init", "--quiet", "--bare", "--", dir }, "git init of the cache " .. dir)
  end
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
