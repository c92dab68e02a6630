-- ccchef.python: what python_virtualenv and pip_requirements share (and
-- the build step a deploy runs): probing an interpreter or a virtualenv,
-- and running pip in one as the right user. Layer "types": used by the
-- resource units, over proc and sys (docs/python.md).
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")

local M = {}

-- What an interpreter says about itself, on one line of its own (a
-- warning the interpreter prints cannot be mistaken for it): the real path
-- of the program (a venv's bin/python names its base interpreter through
-- sys._base_executable), major.minor, and whether `python -m venv` can
-- work (Debian ships venv's ensurepip apart, in python3-venv), asked only
-- with the argument "venv" (the imports cost more than the rest).
local PROBE = table.concat({
  "import os, sys",
  "v = '-'",
  "if sys.argv[1:] == ['venv']:",
  " try:\n  import venv, ensurepip\n  v = 'venv'\n except ImportError:\n  v = 'no-venv'",
  "print('ccchef-probe', os.path.realpath(getattr(sys, '_base_executable', sys.executable)),",
  "      '%d.%d' % sys.version_info[:2], v, sep='\\t')",
}, "\n")

local function parse_probe(output)
  return output:match("ccchef%-probe\t([^\t\n]+)\t(%d+%.%d+)\t(%S+)")
end

-- Environment for every Python ccchef starts: no bytecode written (load
-- and why-run write nothing), no user site-packages of whoever runs it,
-- pip never prompting, its messages in English.
local function env(extra)
  local e = { PYTHONDONTWRITEBYTECODE = "1", PYTHONNOUSERSITE = "1", PIP_NO_INPUT = "1", LC_ALL = "C.UTF-8" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function trimmed(s)
  return (s:gsub("%s+$", ""))
end
M.trimmed = trimmed

-- Who a command runs as: nil (ourselves) or { uid=, gid=, home= }.
function M.identity(uid, gid)
  if uid == nil or (uid == sys.geteuid() and gid == nil) then return nil end
  local u = sys.user(uid)
  return { uid = uid, gid = gid or (u and u.gid) or 0, home = u and u.home or "/" }
end

-- The identity to run a virtualenv's own programs as: its owner when root
-- runs ccchef and someone else owns it. Its bin/python and site-packages
-- are that user's code; root never runs them (the rule git_repo follows
-- for a user's checkout).
function M.owner_of(st)
  if st and sys.geteuid() == 0 and st.uid ~= 0 then return M.identity(st.uid, st.gid) end
  return nil
end

-- Runs argv with the Python environment, as `as`, under the command
-- timeout. Returns the result table, or nil, message, errno name.
function M.run(ctx, argv, as, opts)
  opts = opts or {}
  local run_opts = { cwd = opts.cwd or "/", timeout = ctx.command_timeout, env = env(opts.env) }
  if as then
    run_opts.uid, run_opts.gid = as.uid, as.gid
    run_opts.env.HOME = as.home
  end
  return proc.run(argv, run_opts)
end

local function failed(res)
  return res.status ~= 0 or res.signal ~= 0 or res.timed_out
end
M.failed = failed

-- The interpreter `python` (a command found in PATH, or an absolute path):
-- { path =, version =, venv = bool or nil (not asked) }, or nil and why,
-- and whether it is missing (an earlier package resource may install it).
-- check_venv asks whether it can make a virtualenv.
function M.interpreter(ctx, python, check_venv)
  local res, err, errname = M.run(ctx, { python, "-c", PROBE, check_venv and "venv" or nil })
  if not res then
    if errname == "ENOENT" then return nil, string.format("python interpreter '%s' not found", python), true end
    return nil, string.format("python interpreter '%s' could not start: %s", python, err)
  end
  if failed(res) then
    return nil, string.format("python interpreter '%s' failed: %s", python, trimmed(res.output))
  end
  local path, version, venv = parse_probe(res.output)
  if not path then
    return nil, string.format("'%s' does not answer like a Python 3 interpreter: %s", python, trimmed(res.output))
  end
  local can_venv
  if check_venv then can_venv = venv == "venv" end
  return { path = path, version = version, venv = can_venv }
end

-- pyvenv.cfg as a table of its key = value lines, or nil.
function M.read_cfg(venv)
  local text = sys.read(venv .. "/pyvenv.cfg")
  if not text then return nil end
  local cfg = {}
  for line in text:gmatch("[^\n]+") do
    local k, v = line:match("^%s*([%w_%-]+)%s*=%s*(.-)%s*$")
    if k then cfg[k] = v end
  end
  return cfg
end

-- The virtualenv at path as it is: nil when there is no pyvenv.cfg;
-- otherwise { cfg =, st =, as =, base = interpreter info or nil, broken =
-- why its python does not run }.
function M.virtualenv(ctx, path)
  local st = sys.lstat(path)
  if not st or st.type ~= "directory" then return nil end
  local cfg = M.read_cfg(path)
  if not cfg then return nil end
  local venv = { cfg = cfg, st = st, as = M.owner_of(st) }
  local res, err = M.run(ctx, { path .. "/bin/python", "-c", PROBE }, venv.as)
  if not res then
    venv.broken = "bin/python does not start: " .. err
  elseif failed(res) then
    venv.broken = "bin/python fails: " .. trimmed(res.output)
  else
    local base, version = parse_probe(res.output)
    if base then venv.base = { path = base, version = version } else venv.broken = "bin/python is not Python 3" end
  end
  return venv
end

-- Arguments that choose where pip looks: opts.no_index, opts.find_links
-- (a list), opts.index_url.
function M.index_args(opts, args)
  if opts.no_index then args[#args + 1] = "--no-index" end
  if opts.index_url then
    args[#args + 1] = "--index-url"
    args[#args + 1] = opts.index_url
  end
  for _, f in ipairs(opts.find_links or {}) do
    args[#args + 1] = "--find-links"
    args[#args + 1] = f
  end
  return args
end

-- pip in the virtualenv: `venv/bin/python -m pip ARGS...` with the options
-- that keep it quiet and from asking anything.
function M.pip(ctx, venv, as, args, opts)
  local argv = { venv .. "/bin/python", "-m", "pip" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  table.move({ "--disable-pip-version-check", "--no-input" }, 1, 2, #argv + 1, argv)
  local res, err = M.run(ctx, argv, as, opts)
  if not res then errors.converge(string.format("pip could not start in %s: %s", venv, err)) end
  return res
end

-- What `pip install -r requirements` would install, from pip's own
-- resolver in dry-run mode (it compares with what is installed): a list
-- of { name =, version = }, or nil and pip's error.
function M.would_install(ctx, venv, as, requirements, opts)
  local args = M.index_args(opts, { "install", "--dry-run", "--report", "-", "--quiet", "--no-cache-dir",
    "--root-user-action=ignore" })
  table.move({ "-r", requirements }, 1, 2, #args + 1, args)
  local res = M.pip(ctx, venv, as, args)
  if failed(res) then return nil, res.output end
  -- The report is the JSON object on stdout; pip's warnings (stderr,
  -- mixed in) are lines of their own around it.
  local report = res.output:match("^(%b{})") or res.output:match("\n(%b{})")
  local decoded = report and require("ccchef.json").decode(report)
  if type(decoded) ~= "table" or type(decoded.install) ~= "table" then
    return nil, "pip gave no install report (pip 22.2 or newer is needed): " .. trimmed(res.output)
  end
  local list = {}
  for _, item in ipairs(decoded.install) do
    local md = type(item) == "table" and item.metadata or {}
    list[#list + 1] = { name = tostring(md.name), version = tostring(md.version) }
  end
  return list
end

-- Installed distributions: { [normalized name] = version }.
function M.installed(ctx, venv, as)
  local res = M.pip(ctx, venv, as, { "list", "--format=json" })
  if failed(res) then return {} end
  local list = require("ccchef.json").decode(res.output:match("(%b[])") or "[]") or {}
  local t = {}
  for _, d in ipairs(list) do
    if type(d) == "table" and d.name then t[M.normalize(d.name)] = d.version end
  end
  return t
end

-- PEP 503 name normalisation: Foo_Bar and foo-bar are one project.
function M.normalize(name)
  return (tostring(name):lower():gsub("[-_.]+", "-"))
end

return M
