-- pip_requirements: a requirements file installed into a virtualenv.
--
-- The state compared is pip's own: load asks pip's resolver what
-- `pip install -r FILE` would install into this virtualenv (`pip install
-- --dry-run --report -`, which compares the requirements with the
-- distributions installed there). Nothing to install is up to date; no
-- marker file is kept, so a package removed by hand is seen and put back.
-- A requirements file that does not resolve fails in load, before
-- anything is installed. As pip's default strategy, a requirement that is
-- already satisfied is left alone (pin versions to move them).
local errors = require("ccchef.errors")
local python = require("ccchef.python")
local sys = require("ccchef.sys")

local M = {
  name = "pip_requirements",
  name_property = "requirements",
  properties = {
    requirements = { type = "path" },
    virtualenv = { type = "path", required = true },
    find_links = { type = "strings" },
    no_index = { type = "boolean", default = false },
    index_url = { type = "string" },
  },
  actions = { "install" },
  default_action = "install",
}

-- A place pip reads packages from: an absolute directory or an http(s) or
-- file URL; never something pip would read as an option.
local function location_problem(v)
  if v:find("[%c%s]") then return "must not contain spaces or control characters" end
  if v:sub(1, 1) == "/" or v:match("^https?://") or v:match("^file://") then return nil end
  return "must be an absolute directory or an http://, https:// or file:// URL"
end

function M.validate(p)
  for _, f in ipairs(type(p.find_links) == "table" and p.find_links or {}) do
    if type(f) == "string" then
      local problem = location_problem(f)
      if problem then error(string.format("find_links %q: %s", f, problem), 0) end
    end
  end
  if type(p.index_url) == "string" then
    local problem = location_problem(p.index_url)
    if problem then error(string.format("index_url %q: %s", p.index_url, problem), 0) end
    if p.no_index then error("index_url and no_index = true contradict each other", 0) end
  end
end

local function index_opts(p)
  return { no_index = p.no_index, find_links = p.find_links, index_url = p.index_url }
end

function M.load(p, ctx)
  local cur = {}
  local st = sys.stat(p.requirements)
  if not st then
    cur.missing = string.format("requirements file %s does not exist", p.requirements)
    return cur
  elseif st.type ~= "file" then
    errors.converge(p.requirements .. " is not a regular file")
  end
  local vst = sys.lstat(p.virtualenv)
  if not vst or not sys.lstat(p.virtualenv .. "/pyvenv.cfg") then
    cur.no_venv = string.format("%s is not a virtualenv (declare it with python_virtualenv)", p.virtualenv)
    return cur
  end
  if vst.type == "link" then
    errors.converge(p.virtualenv .. " is a symbolic link; give the path of the virtualenv itself")
  end
  cur.as = python.owner_of(vst)
  local list, err = python.would_install(ctx, p.virtualenv, cur.as, p.requirements, index_opts(p))
  if not list then
    -- pip's ERROR lines say which requirement and why; the rest is noise.
    local lines = {}
    for line in err:gmatch("[^\n]+") do
      if line:match("^ERROR:") then lines[#lines + 1] = line:gsub("^ERROR: ", "") end
    end
    local why = #lines > 0 and table.concat(lines, "; ") or python.trimmed(err)
    errors.converge(string.format("requirements %s do not resolve in %s: %s", p.requirements, p.virtualenv, why),
      { output = err })
  end
  cur.install = list
  -- Versions installed now, only to say "upgrade a 1.0 -> 2.0": a second
  -- pip call only when something changes.
  if #list > 0 then cur.installed = python.installed(ctx, p.virtualenv, cur.as) end
  return cur
end

function M.plan(p, cur, action, ctx)
  local assumed = { string.format("install %s into %s", p.requirements, p.virtualenv) }
  if cur.missing then
    -- The file may come from an earlier resource (a deploy's checkout).
    errors.converge(cur.missing, { assumed = assumed })
  end
  if cur.no_venv then
    if ctx.planned:has(p.virtualenv) then errors.converge(cur.no_venv, { assumed = assumed }) end
    errors.converge(cur.no_venv)
  end
  local changes = {}
  for _, d in ipairs(cur.install) do
    local old = cur.installed and cur.installed[python.normalize(d.name)]
    if old then
      changes[#changes + 1] = string.format("upgrade %s %s -> %s", d.name, old, d.version)
    else
      changes[#changes + 1] = string.format("install %s %s", d.name, d.version)
    end
  end
  return changes
end

function M.apply(p, cur, action, steps, ctx)
  local args = python.index_args(index_opts(p), { "install", "--quiet", "--root-user-action=ignore" })
  table.move({ "-r", p.requirements }, 1, 2, #args + 1, args)
  local res = python.pip(ctx, p.virtualenv, cur.as, args)
  if python.failed(res) then
    errors.converge(string.format("pip install -r %s failed: %s", p.requirements, python.trimmed(res.output)),
      { output = res.output })
  end
  return { output = res.output }
end

return M
