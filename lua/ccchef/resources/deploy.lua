-- deploy: an application deployed from git or svn into the release layout
-- of Capistrano and Chef's deploy_revision (ccchef.releases): each
-- revision in its own releases/<id>/, shared/ paths linked into it, a
-- build step run inside it before it goes live, `current` switched by a
-- rename (never a moment without it), the last keep_releases kept, and an
-- optional health check after the switch that switches back when it fails.
--
-- The state compared is which release `current` points to against the
-- release the revision names: at an unchanged revision nothing is fetched,
-- built or switched, and the resource is up to date, so its notifications
-- (reload Apache) fire only when `current` moved. Action rollback moves
-- `current` from the newest release back to the one before it.
local deploy_build = require("ccchef.deploy_build")
local deploy_git = require("ccchef.deploy_git")
local deploy_health = require("ccchef.deploy_health")
local deploy_svn = require("ccchef.deploy_svn")
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local git = require("ccchef.git")
local releases = require("ccchef.releases")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {
  name = "deploy",
  name_property = "deploy_to",
  properties = {
    deploy_to = { type = "path" },
    repository = { type = "string", required = true },
    scm = { type = "string", default = "git", one_of = { "git", "svn" } },
    revision = { type = "revision", default = "HEAD" },
    shared = { type = "strings", default = {} },
    -- A shell line or a Lua function(release, ctx): the type guards have.
    build = { type = "guard" },
    environment = { type = "env" },
    keep_releases = { type = "integer", default = 5,
      validate = function(v) return v >= 1, "keep_releases must be at least 1" end },
    health_check = { type = "table" },
    user = { type = "principal" },
    group = { type = "principal" },
  },
  actions = { "deploy", "rollback" },
  default_action = "deploy",
}

local SOURCES = { git = deploy_git, svn = deploy_svn }

local function shared_problem(rel)
  if rel == "" or rel:sub(1, 1) == "/" then return "must be a relative path" end
  for part in rel:gmatch("[^/]+") do
    if part == ".." or part == "." then return "must not contain '.' or '..' components" end
  end
  if rel:find("//", 1, true) or rel:sub(-1) == "/" or rel:find("%c") then
    return "must not contain '//', a trailing '/' or control characters"
  end
  return nil
end

function M.validate(p)
  local src = SOURCES[p.scm]
  if src and type(p.repository) == "string" then
    local problem = src.repository_problem(p.repository)
    if problem then error(problem, 0) end
  end
  if src and type(p.revision) == "string" then
    local problem = src.revision_problem(p.revision)
    if problem then error(string.format("revision %q: %s", p.revision, problem), 0) end
  end
  if type(p.shared) == "table" then
    for _, rel in ipairs(p.shared) do
      local problem = shared_problem(rel)
      if problem then error(string.format("shared path %q %s", rel, problem), 0) end
    end
  end
  if type(p.health_check) == "table" then
    local problem = deploy_health.problem(p.health_check)
    if problem then error(problem, 0) end
  end
end

---------------------------------------------------------------------------
-- Reading: the layout, and for deploy what the revision names (a look-up
-- in the repository unless the revision is a full commit id).

-- Who checks out and builds: nil (ccchef itself) or { uid=, gid=, home= }.
-- A user an earlier resource would create is an error plan raises (under
-- why-run: unknown until then).
local function owner(p, ctx)
  if p.user == nil and p.group == nil then return nil end
  local uid = fileops.uid(ctx, p.user) or sys.geteuid()
  local gid = fileops.gid(ctx, p.group)
  return git.identity(uid, gid)
end

function M.load(p, ctx, action)
  local cur = releases.read(p.deploy_to)
  if action == "deploy" and not cur.parent_missing then
    local ok, as = pcall(owner, p, ctx)
    if not ok then
      if not errors.is(as) then error(as, 0) end
      cur.owner_error = as
      return cur
    end
    cur.as = as
    cur.want = SOURCES[p.scm].resolve(p, ctx, as)
    cur.entry = releases.find(cur.list, cur.want.id)
    cur.dir_exists = sys.lstat(releases.release_dir(p.deploy_to, cur.want.id)) ~= nil
    -- The layout's root a first deploy makes, for ctx.planned (why-run).
    if not sys.lstat(p.deploy_to) then cur.missing_ancestors = { p.deploy_to } end
  end
  return cur
end

---------------------------------------------------------------------------
-- Planning

local function short(id)
  if not id then return "(none)" end
  return #id >= 40 and id:sub(1, 7) or id
end

local function build_shown(p)
  if type(p.build) == "function" then return "build (Lua function)" end
  if p.sensitive then return "build (sensitive command)" end
  return "build `" .. p.build .. "`"
end

-- The directories a new release makes, for the resources after it under
-- why-run (a template into shared/config/: docs/resources.md, ctx.planned).
local function plan_dirs(p, cur, ctx)
  local shared = p.deploy_to .. "/shared"
  ctx.planned:add(shared, cur.missing_ancestors)
  ctx.planned:add(p.deploy_to .. "/releases")
  for _, rel in ipairs(p.shared) do
    local dir = shared
    for part in rel:gmatch("([^/]+)/") do
      dir = dir .. "/" .. part
      ctx.planned:add(dir)
    end
  end
end

local function plan_deploy(p, cur, ctx)
  local w = cur.want
  local finished = cur.entry and cur.entry.state == "ok" and cur.dir_exists
  if finished and cur.current == w.id then return {} end
  local changes, steps = {}, { id = w.id, previous = cur.current }
  if not finished then
    steps.build = true
    plan_dirs(p, cur, ctx)
    if cur.dir_exists then
      steps.clear = true
      changes[#changes + 1] = "remove the unfinished release " .. short(w.id)
    end
    changes[#changes + 1] = string.format("new release %s (%s) from %s", short(w.id), w.label, p.repository)
    if #p.shared > 0 then changes[#changes + 1] = "link shared: " .. table.concat(p.shared, ", ") end
    if p.build then changes[#changes + 1] = build_shown(p) end
  end
  changes[#changes + 1] = string.format("current %s -> %s", short(cur.current or cur.current_target), short(w.id))
  if p.health_check then
    changes[#changes + 1] = string.format("health check %s (on failure back to %s)", p.health_check.url,
      short(cur.current))
  end
  local entry = { id = w.id, state = "ok", label = w.label }
  steps.prune = releases.prunable(releases.with(cur.list, w.id, entry), p.keep_releases, w.id)
  if #steps.prune > 0 then
    local shown = {}
    for i, id in ipairs(steps.prune) do shown[i] = short(id) end
    changes[#changes + 1] = "remove old releases: " .. table.concat(shown, ", ")
  end
  return changes, steps
end

local function plan_rollback(p, cur)
  local finished = releases.finished(cur.list)
  local newest = finished[#finished]
  if not newest or not cur.current then
    errors.converge(p.deploy_to .. " has no live release to roll back from")
  end
  -- Already rolled back: current is an older release than the newest.
  if cur.current ~= newest.id then return {} end
  local previous = finished[#finished - 1]
  if not previous then
    errors.converge(string.format("no release before %s to roll back to (keep_releases keeps %d)",
      short(newest.id), p.keep_releases))
  end
  return { string.format("current %s -> %s (rollback)", short(newest.id), short(previous.id)) },
    { id = previous.id, from = newest.id }
end

function M.plan(p, cur, action, ctx)
  if cur.parent_missing then
    errors.converge(string.format("parent directory %s does not exist (declare it with a directory resource)",
      cur.parent_missing), { assumable = true })
  end
  if cur.owner_error then error(cur.owner_error, 0) end
  local changes, steps
  if action == "rollback" then
    changes, steps = plan_rollback(p, cur)
  else
    changes, steps = plan_deploy(p, cur, ctx)
  end
  return changes, nil, steps
end

---------------------------------------------------------------------------
-- Applying

-- A directory of the layout, made by ccchef (root) and, with `as`, given
-- to the deploy's user: the user then writes only inside what it owns.
local function mkdir(path, as)
  local st = sys.lstat(path)
  if st and st.type == "directory" then return end
  if st then errors.converge(path .. " exists and is not a directory") end
  local ok, err = sys.mkdir(path, util.mode"0755", as and as.uid or nil, as and as.gid or nil)
  if not ok then errors.converge(err) end
end

-- The new release: recorded as building, exported, linked, built, then
-- recorded as finished. On any failure its directory and line are removed
-- again and the error raised: `current` has not moved yet.
local function make_release(p, cur, steps, ctx, list)
  local root, w = p.deploy_to, cur.want
  local dir = releases.release_dir(root, w.id)
  if steps.clear then releases.remove(root, w.id) end
  list = releases.with(list, w.id, { id = w.id, state = "building", label = w.label })
  releases.write(root, list)
  local as = cur.as
  local ok, err = pcall(function()
    mkdir(dir, as)
    SOURCES[p.scm].export(p, ctx, as, w, dir)
    releases.link_shared(root, dir, p.shared, as)
    if p.build then
      return deploy_build.run(p.build, { release = dir, deploy_to = root, shared = root .. "/shared",
        revision = w.rev, previous = cur.current and releases.release_dir(root, cur.current) or nil,
        as = as }, ctx, p.environment)
    end
  end)
  if not ok then
    releases.remove(root, w.id)
    releases.write(root, releases.with(list, w.id))
    error(err, 0)
  end
  local output = err
  list = releases.with(list, w.id, { id = w.id, state = "ok", label = w.label })
  releases.write(root, list)
  return list, output
end

-- After the switch: a failed health check switches back (or, for a first
-- release, removes `current`), forgets a release built by this run, and
-- fails the resource saying so.
local function health(p, cur, steps, list, built)
  local problem = deploy_health.check(p.health_check)
  if not problem then return end
  local root, id = p.deploy_to, steps.id
  local back
  if steps.previous and sys.lstat(releases.release_dir(root, steps.previous)) then
    releases.switch(root, steps.previous)
    back = "switched back to " .. short(steps.previous)
  else
    sys.unlink(releases.paths(root).current)
    back = "no earlier release to switch back to: current removed"
  end
  if built then
    releases.remove(root, id)
    list = releases.with(list, id)
  elseif steps.previous then
    -- The release was there before: it keeps its place, the previous one
    -- is the newest again.
    local e = releases.find(list, steps.previous)
    if e then list = releases.with(list, steps.previous, e) end
  end
  releases.write(root, list)
  errors.converge(string.format("health check failed after switching to %s: %s; %s", short(id), problem, back))
end

function M.apply(p, cur, action, steps, ctx)
  local root = p.deploy_to
  if action == "rollback" then
    if not sys.lstat(releases.release_dir(root, steps.id)) then
      errors.converge(string.format("cannot roll back to %s: %s is gone", short(steps.id),
        releases.release_dir(root, steps.id)))
    end
    -- The history keeps its order: the release rolled back from stays the
    -- newest, which is how a second rollback knows it is done.
    releases.switch(root, steps.id)
    return
  end
  mkdir(root)
  mkdir(root .. "/releases")
  mkdir(root .. "/shared", cur.as)
  local list, output = cur.list, nil
  if steps.build then list, output = make_release(p, cur, steps, ctx, list) end
  sys.test_hook("switch", releases.paths(root).current)
  releases.switch(root, steps.id)
  local e = releases.find(list, steps.id)
  list = releases.with(list, steps.id, e)
  releases.write(root, list)
  if p.health_check then health(p, cur, steps, list, steps.build) end
  for _, id in ipairs(steps.prune) do
    releases.remove(root, id)
    list = releases.with(list, id)
  end
  if #steps.prune > 0 then releases.write(root, list) end
  return { output = output }
end

return M
