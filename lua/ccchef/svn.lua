-- ccchef.svn: the svn command for svn_repo and for deploy's svn source.
-- Each function is one svn operation, run by argv (no shell) with a clean
-- environment (messages in English, never a prompt: --non-interactive),
-- raising errors.converge with svn's own message.
--
-- A URL is always given with a peg revision (URL@N): svn reads the last
-- '@' of a URL as one, so a URL that holds an '@' of its own (a user name)
-- would otherwise be misread. So is a working copy's path given to info,
-- update and status (DIR@); the target of checkout and export is taken
-- as it is by svn.
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")

local M = {}

local function trimmed(s)
  return (s:gsub("%s+$", ""))
end

-- Nil or the problem with a repository URL (compile time).
function M.repository_problem(url)
  if type(url) ~= "string" or not url:match("^%a[%w+.-]*://") then
    return string.format("repository %q is not a URL (file:///srv/svn/repo, svn://, svn+ssh://, https://)",
      tostring(url))
  end
  if url:find("%c") then return string.format("repository %q contains control characters", url) end
  return nil
end

-- Nil or the problem with a revision (compile time): a number or HEAD.
function M.revision_problem(rev)
  if rev == "HEAD" or rev:match("^%d+$") then return nil end
  return "an svn revision is a number or HEAD"
end

-- svn ARGS... in cwd, as `as` when given ({ uid=, gid=, home= }: its own
-- HOME, so svn's config and credentials are that user's).
function M.run(ctx, args, cwd, as)
  local argv = { "svn", "--non-interactive" }
  for _, a in ipairs(args) do argv[#argv + 1] = tostring(a) end
  local opts = { cwd = cwd or "/", env = { LC_ALL = "C" }, timeout = ctx.command_timeout }
  if as then opts.uid, opts.gid, opts.env.HOME = as.uid, as.gid, as.home end
  local res, err, errname = proc.run(argv, opts)
  if not res and errname == "ENOENT" then
    errors.converge("svn is not installed (no `svn` command found; Debian's package is subversion)",
      { no_svn = true })
  end
  if not res then errors.converge("svn could not start: " .. err) end
  return res
end

local function failed(res)
  return res.status ~= 0 or res.signal ~= 0 or res.timed_out
end

function M.ok(ctx, args, what, cwd, as)
  local res = M.run(ctx, args, cwd, as)
  if failed(res) then
    errors.converge(string.format("%s failed: %s", what, trimmed(res.output)), { output = res.output })
  end
  return res.output
end

-- The revision number `rev` names in the repository ("HEAD": the
-- youngest; a number: itself, once svn confirmed it exists there).
function M.resolve(ctx, url, rev, as)
  local res = M.run(ctx, { "info", "--show-item", "revision", "--", url .. "@" .. rev }, nil, as)
  if failed(res) then
    local out = trimmed(res.output)
    if out:find("No such revision", 1, true) or out:find("E160006", 1, true) then
      errors.converge(string.format("revision %s not found in repository %s", rev, url), { output = out })
    end
    errors.converge(string.format("cannot read repository %s: %s", url, out), { output = out })
  end
  local n = res.output:match("(%d+)")
  if not n then errors.converge("svn info of " .. url .. " gave no revision: " .. trimmed(res.output)) end
  if rev ~= "HEAD" then return rev end
  return n
end

-- A working copy's URL and revision, or nil when dir is not one.
function M.wc_info(ctx, dir)
  local res = M.run(ctx, { "info", "--show-item", "url", "--", dir .. "@" })
  if failed(res) then return nil, trimmed(res.output) end
  local url = trimmed(res.output)
  local rev = trimmed(M.ok(ctx, { "info", "--show-item", "revision", "--", dir .. "@" }, "svn info"))
  return { url = url, revision = rev }
end

-- Files with local modifications in a working copy (svn status: M, A, D,
-- R, C, !, ~), externals left out (svn handles them).
function M.modified(ctx, dir)
  local out = M.ok(ctx, { "status", "--quiet", "--ignore-externals", "--", dir .. "@" }, "svn status")
  local files = {}
  for line in out:gmatch("[^\n]+") do
    local path = line:match("^[MADRC!~]......%s*(.+)$")
    if path then files[#files + 1] = path end
  end
  return files
end

function M.checkout(ctx, url, rev, dir)
  M.ok(ctx, { "checkout", "--quiet", "--", url .. "@" .. rev, dir }, "svn checkout of " .. url)
end

function M.update(ctx, dir, rev)
  M.ok(ctx, { "update", "--quiet", "-r", rev, "--", dir .. "@" }, "svn update to r" .. rev)
end

-- A clean tree (no .svn) of url at rev into dir; force: dir may exist.
function M.export(ctx, url, rev, dir, as)
  M.ok(ctx, { "export", "--quiet", "--force", "--", url .. "@" .. rev, dir }, "svn export of " .. url, nil, as)
end

return M
