-- python_virtualenv: a Python virtual environment (`python -m venv`) at a
-- path, made with a chosen interpreter.
--
-- The state compared is the interpreter: the real path of the wanted one
-- against the base interpreter the virtualenv's own bin/python reports.
-- The same interpreter leaves the virtualenv alone (a patch upgrade of the
-- system Python keeps the same program, and the virtualenv keeps working).
-- Another interpreter, or a virtualenv whose bin/python no longer runs,
-- is made again from scratch: its installed packages were built for the
-- old interpreter's ABI, so nothing in it can be kept (docs/python.md,
-- "A different interpreter").
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local python = require("ccchef.python")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {
  name = "python_virtualenv",
  name_property = "path",
  properties = {
    path = { type = "path" },
    python = { type = "string", default = "python3" },
    system_site_packages = { type = "boolean", default = false },
    user = { type = "principal" },
    group = { type = "principal" },
  },
  actions = { "create", "delete" },
  default_action = "create",
}

function M.validate(p)
  if type(p.python) == "string" and (p.python == "" or p.python:sub(1, 1) == "-" or p.python:find("[%c]")) then
    error(string.format("python %q: give a command name (python3.11) or an absolute path", p.python), 0)
  end
  if type(p.path) == "string" and p.path:find("[%c]") then
    error("path must not contain control characters", 0)
  end
end

-- The tree as it is: { exists, venv = python.virtualenv(), empty, parent }.
function M.load(p, ctx, action)
  local cur = {}
  local st, err, errname = sys.lstat(p.path)
  if not st then
    if errname ~= "ENOENT" and errname ~= "ENOTDIR" then errors.converge(err) end
    cur.parent = fileops.load_parent(p.path)
  elseif st.type == "link" then
    errors.converge(p.path .. " is a symbolic link; give the path of the virtualenv itself")
  elseif st.type ~= "directory" then
    errors.converge(p.path .. " exists and is not a directory")
  else
    cur.exists = true
    -- An existing directory of another user is filled as that user:
    -- root never writes where that user could have planted a link.
    cur.as = python.owner_of(st)
    cur.venv = python.virtualenv(ctx, p.path)
    if not cur.venv then
      if #(sys.listdir(p.path) or {}) > 0 then
        errors.converge(p.path .. " exists and is not a virtualenv (no pyvenv.cfg); move it away or delete it first")
      end
      cur.empty = true
    end
  end
  if action == "create" then
    -- Whether it can make a virtualenv is asked only when one is to be
    -- made (the imports that tell cost more than the rest of the probe).
    local v = cur.venv
    cur.want, cur.want_error, cur.want_missing = python.interpreter(ctx, p.python, false)
    if cur.want and (not v or v.broken or v.base.path ~= cur.want.path) then
      cur.want, cur.want_error, cur.want_missing = python.interpreter(ctx, p.python, true)
    end
    if p.user ~= nil or p.group ~= nil then
      -- A user an earlier resource creates: plan raises in its place.
      local ok, owner = pcall(function()
        return { uid = fileops.uid(ctx, p.user), gid = fileops.gid(ctx, p.group) }
      end)
      if ok then cur.owner = owner
      elseif errors.is(owner) then cur.owner_error = owner
      else error(owner, 0) end
    end
  end
  return cur
end

local function describe(i)
  return string.format("%s (%s)", i.path, i.version)
end

-- Changes shown, and steps for apply: { create = bool, remove = bool,
-- upgrade = bool }.
function M.plan(p, cur, action, ctx)
  if action == "delete" then
    if not cur.exists then return {} end
    if not cur.venv and not cur.empty then return {} end
    return { "delete virtualenv" }, nil, { remove = true }
  end

  local creating = not cur.venv
  if cur.want_error then
    -- An interpreter a package resource earlier in the run would install.
    local assumed = cur.want_missing and { string.format("create virtualenv with %s (not installed yet)", p.python) }
      or nil
    errors.converge(cur.want_error, { assumed = assumed })
  end
  if cur.want.venv == false then
    errors.converge(string.format(
      "python interpreter %s has no venv module (on Debian: install python3-venv, or python%s-venv)",
      describe(cur.want), cur.want.version))
  end
  if cur.owner_error then errors.converge(cur.owner_error.message, { assumable = true }) end
  if creating then
    if not cur.exists then fileops.check_parent(cur.parent, ctx) end
    ctx.planned:add(p.path)
    return { "create virtualenv with " .. describe(cur.want) }, nil, { create = true }
  end

  local venv = cur.venv
  if venv.broken then
    return { string.format("recreate virtualenv (%s) with %s", venv.broken, describe(cur.want)) }, nil,
      { remove = true, create = true }
  end
  if venv.base.path ~= cur.want.path then
    return { string.format("recreate virtualenv: interpreter %s -> %s (installed packages are removed)",
      describe(venv.base), describe(cur.want)) }, nil, { remove = true, create = true }
  end
  local have_system = venv.cfg["include-system-site-packages"] == "true"
  if have_system ~= p.system_site_packages then
    return { string.format("include-system-site-packages %s -> %s", tostring(have_system),
      tostring(p.system_site_packages)) }, nil, { upgrade = true }
  end
  return {}
end

-- python -m venv [--upgrade] [--system-site-packages] -- PATH
local function venv_command(p, ctx, as, upgrade)
  local argv = { p.python, "-m", "venv" }
  if upgrade then argv[#argv + 1] = "--upgrade" end
  if p.system_site_packages then argv[#argv + 1] = "--system-site-packages" end
  table.move({ "--", p.path }, 1, 2, #argv + 1, argv)
  local res, err = python.run(ctx, argv, as)
  if not res then errors.converge(string.format("%s could not start: %s", p.python, err)) end
  if python.failed(res) then
    errors.converge(string.format("python -m venv %s failed: %s", p.path, python.trimmed(res.output)),
      { output = res.output })
  end
end

-- Creates the virtualenv in an empty directory, or in a new one (exists
-- false).
local function create(p, exists, owner, ctx)
  local made, as = false, nil
  if not exists then
    fileops.require_parent(p.path, ctx)
    local ok, err = sys.mkdir(p.path, util.mode"0755")
    if not ok then errors.converge(err) end
    made = true
  end
  -- Made by us in a parent the user may not write to; the user then fills
  -- the empty directory it owns, and owns what is in it.
  if owner then
    local uid = owner.uid or sys.geteuid()
    local gid = owner.gid or (sys.user(uid) or {}).gid or 0
    local ok, err = sys.lchown(p.path, uid, gid)
    if not ok then errors.converge(err) end
    as = python.identity(uid, gid)
  end
  local ok, e = pcall(venv_command, p, ctx, as, false)
  if not ok then
    -- Nothing half-made stays behind: the next run starts clean.
    if made then sys.remove_tree(p.path) end
    error(e, 0)
  end
end

function M.apply(p, cur, action, steps, ctx)
  local exists = cur.exists
  if steps.remove then
    fileops.remove_tree(p.path)
    exists = false
  end
  if steps.create then
    -- Recreated or filled, it keeps the owner it had unless user/group
    -- say otherwise.
    local owner = cur.owner or (cur.as and { uid = cur.as.uid, gid = cur.as.gid })
    create(p, exists, owner, ctx)
  elseif steps.upgrade then
    venv_command(p, ctx, cur.venv.as, true)
  end
end

return M
