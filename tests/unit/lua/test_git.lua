-- ccchef.git: the git helpers git_repo and deploy share, against real
-- repositories made in a temporary directory (file:// URLs, no network).
-- Errors are checked by their fields.
local errors = require("ccchef.errors")
local git = require("ccchef.git")
local sys = require("ccchef.sys")

local tmp = assert(io.popen("mktemp -d /tmp/ccchef-test-git.XXXXXX")):read("l")
local ctx = { command_timeout = 60 }

local function sh(cmd)
  local h = assert(io.popen("cd '" .. tmp .. "' && " .. cmd .. " 2>&1"))
  local out = h:read("a")
  assert(h:close(), cmd .. ": " .. out)
  return (out:gsub("%s+$", ""))
end

-- origin: main (two commits), a branch `next`, a lightweight tag v1 and an
-- annotated tag v2 on the first commit.
local ENV = "GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t "
sh("git init -q -b main origin")
sh("cd origin && echo 1 >f && git add f && " .. ENV .. "git commit -q -m one")
local first = sh("cd origin && git rev-parse HEAD")
sh("cd origin && git tag v1 && " .. ENV .. "git tag -a -m two v2")
sh("cd origin && echo 2 >f && " .. ENV .. "git commit -q -am two")
local second = sh("cd origin && git rev-parse HEAD")
sh("cd origin && git branch next " .. first)
local url = "file://" .. tmp .. "/origin"

local function raised(fn, ...)
  local good, err = pcall(fn, ...)
  eq(good, false)
  ok(errors.is(err), err)
  return err
end

test("resolve: HEAD is the branch it points to, branches and tags by name", function()
  local w = git.resolve(ctx, nil, { repository = url, revision = "HEAD" })
  eq(w.sha, second); eq(w.kind, "branch"); eq(w.name, "main")
  w = git.resolve(ctx, nil, { repository = url, revision = "next" })
  eq(w.sha, first); eq(w.kind, "branch")
  w = git.resolve(ctx, nil, { repository = url, revision = "v1" })
  eq(w.sha, first); eq(w.kind, "tag")
  -- An annotated tag: the commit, not the tag object.
  w = git.resolve(ctx, nil, { repository = url, revision = "refs/tags/v2" })
  eq(w.sha, first); eq(w.kind, "tag"); eq(w.name, "v2")
end)

test("resolve: a full commit id needs no look-up (a repository that does not exist is not read)", function()
  local w = git.resolve(ctx, nil, { repository = "file:///nonexistent", revision = first:upper() })
  eq(w.sha, first); eq(w.kind, "commit")
end)

test("resolve: an unknown revision and an unreadable repository are converge errors", function()
  local err = raised(git.resolve, ctx, nil, { repository = url, revision = "abcdef1" })
  eq(err.kind, "converge")
  ok(err.message:find("revision 'abcdef1' not found", 1, true), err.message)
  ok(err.message:find("give all 40 characters", 1, true), err.message)
  err = raised(git.resolve, ctx, nil, { repository = "file://" .. tmp .. "/missing", revision = "main" })
  eq(err.kind, "converge"); ok(err.message:find("cannot read repository", 1, true), err.message)
  ok(type(err.output) == "string" and #err.output > 0)
end)

test("clone, head, fetch and checkout: a commit already present is not fetched", function()
  local dest = tmp .. "/work"
  local main = git.resolve(ctx, nil, { repository = url, revision = "main" })
  eq(git.clone(ctx, nil, { repository = url }, dest, main), true)
  eq(git.head(ctx, nil, dest), second)
  eq(git.origin_url(ctx, nil, dest), url)
  eq(git.has_commit(ctx, nil, dest, first), true)
  -- The origin goes away: fetching a commit the checkout holds still works,
  -- because it asks nothing of the origin.
  sh("mv origin origin.away")
  local w = { sha = first, kind = "commit", name = first }
  git.fetch(ctx, nil, dest, { repository = url, revision = first }, w)
  git.checkout(ctx, nil, dest, w, false)
  eq(git.head(ctx, nil, dest), first)
  eq(#git.modified_files(ctx, nil, dest), 0)
  sh("echo local >work/f")
  eq(git.modified_files(ctx, nil, dest)[1], "f")
  -- A commit it does not hold must come from the origin, which is gone.
  local err = raised(git.fetch, ctx, nil, dest, { repository = url, revision = "x" },
    { sha = string.rep("1", 40), kind = "commit", name = "x" })
  ok(err.message:find("could not be fetched from repository " .. url, 1, true), err.message)
  sh("mv origin.away origin")
end)

test("revision and repository problems", function()
  eq(git.revision_problem("main"), nil)
  eq(git.revision_problem("-x"), "must not start with '-'")
  ok(git.revision_problem("a..b"))
  eq(git.repository_problem("/srv/repo"), nil)
  eq(git.repository_problem("https://h/r.git"), nil)
  ok(git.repository_problem("relative/path"):find("is relative", 1, true))
  ok(git.repository_problem("--upload-pack=x"):find("not a URL", 1, true))
  eq(git.short(first), first:sub(1, 7)); eq(git.short(nil), "(none)")
end)

sys.remove_tree(tmp)
