-- svn_repo: a Subversion working copy (or an export) at a revision, kept
-- there with Debian's svn command. svn:externals are svn's business: they
-- are checked out, updated and exported by svn itself.
--
-- The state compared is what `svn info` says of the working copy (its URL
-- and revision) against the revision wanted (a number as it is; HEAD is
-- one `svn info` of the repository). Moving is `svn update -r N`, which
-- keeps local modifications (svn merges them; a conflict fails the
-- resource). Action export writes a clean tree once: an export has no
-- `svn info` to compare, so an existing one is left as it is (use deploy
-- to move an exported application between revisions).
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local svn = require("ccchef.svn")
local sys = require("ccchef.sys")

local M = {
  name = "svn_repo",
  name_property = "destination",
  properties = {
    destination = { type = "path" },
    repository = { type = "string", required = true },
    revision = { type = "revision", default = "HEAD" },
  },
  actions = { "sync", "export" },
  default_action = "sync",
}

function M.validate(p)
  if type(p.repository) == "string" then
    local problem = svn.repository_problem(p.repository)
    if problem then error(problem, 0) end
  end
  if type(p.revision) == "string" then
    local problem = svn.revision_problem(p.revision)
    if problem then error(string.format("revision %q: %s", p.revision, problem), 0) end
  end
end

-- An error met while reading, kept for plan (svn may be what an earlier
-- package resource installs: why-run then assumes the change).
local function kept(fn, ...)
  local ok, v = pcall(fn, ...)
  if ok then return v, nil end
  if not errors.is(v) then error(v, 0) end
  return nil, v
end

function M.load(p, ctx)
  local cur = { parent = fileops.load_parent(p.destination) }
  local st = sys.lstat(p.destination)
  if st then
    if st.type ~= "directory" then errors.converge(p.destination .. " exists and is not a directory") end
    cur.exists = true
    cur.empty = #(sys.listdir(p.destination) or {}) == 0
    if not cur.empty then cur.wc = svn.wc_info(ctx, p.destination) end
  end
  if cur.exists and not cur.empty and not cur.wc then
    -- Not a working copy: an export (action export is then done) or
    -- something else (refused by plan for sync).
    return cur
  end
  cur.want, cur.resolve_error = kept(svn.resolve, ctx, p.repository, p.revision)
  return cur
end

local function raise(e, assumed)
  errors.converge(e.message, { output = e.output, assumed = e.no_svn and assumed or nil })
end

function M.plan(p, cur, action, ctx)
  local what = action == "export" and "export" or "checkout"
  if not cur.exists or cur.empty then
    if not cur.exists then fileops.check_parent(cur.parent, ctx) end
    local assumed = { string.format("%s %s at %s", what, p.repository,
      cur.want and ("r" .. cur.want) or p.revision) }
    if cur.resolve_error then raise(cur.resolve_error, assumed) end
    return assumed, nil, { fresh = cur.want }
  end
  if action == "export" then return {} end
  if not cur.wc then
    errors.converge(p.destination .. " exists and is not an svn working copy; move it away or delete it first")
  end
  if cur.wc.url ~= p.repository then
    errors.converge(string.format("%s is a working copy of %s, not of %s; move it away or delete it first",
      p.destination, cur.wc.url, p.repository))
  end
  if cur.resolve_error then raise(cur.resolve_error, nil) end
  if cur.wc.revision == cur.want then return {} end
  return { string.format("update r%s -> r%s", cur.wc.revision, cur.want) }, nil, { update = cur.want }
end

function M.apply(p, cur, action, steps, ctx)
  if steps.update then
    svn.update(ctx, p.destination, steps.update)
    return
  end
  local created = not cur.exists
  local ok, err = pcall(function()
    if action == "export" then
      svn.export(ctx, p.repository, steps.fresh, p.destination)
    else
      svn.checkout(ctx, p.repository, steps.fresh, p.destination)
    end
  end)
  if not ok then
    -- Leave nothing half made where there was nothing.
    if created and sys.lstat(p.destination) then sys.remove_tree(p.destination) end
    error(err, 0)
  end
end

return M
