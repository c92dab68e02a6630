-- ccchef.deploy_build: the build step of the deploy resource, run inside a
-- new release before it goes live (after its shared links are made, so a
-- build can read config/local.ini). The API is in docs/deploy.md, "The
-- build step":
--
--   build = "make"                          a shell line, cwd the release
--   build = function(release, ctx) ... end  user code, with ctx.run(cmd, opts)
--
-- The build runs at the release's final path: what it writes with absolute
-- paths (a virtualenv's scripts) stays right when the release goes live.
local budget = require("ccchef.budget")
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")

local M = {}

-- The last lines of a command's output, for a message.
local function tail(output, lines)
  local all = {}
  for line in output:gmatch("[^\n]+") do all[#all + 1] = line end
  local from = math.max(1, #all - (lines or 20) + 1)
  return table.concat(all, "\n", from)
end

local function shown(cmd)
  if type(cmd) == "table" then return table.concat(cmd, " ") end
  return cmd
end

-- Runs cmd (an argv table: no shell; or a shell line) for the build of
-- info.release, as info.as (the deploy's user) when set. Returns its output; raises a converge error when it does
-- not exit 0.
local function run(info, ctx, cmd, opts)
  opts = opts or {}
  if type(cmd) ~= "string" and type(cmd) ~= "table" then
    errors.converge("build: ctx.run wants an argv table or a shell line, got " .. type(cmd))
  end
  if type(cmd) == "table" then
    if #cmd == 0 then errors.converge("build: ctx.run got an empty argv") end
    for i, a in ipairs(cmd) do
      if type(a) ~= "string" and type(a) ~= "number" then
        errors.converge(string.format("build: argument %d of ctx.run is a %s, not a string", i, type(a)))
      end
    end
  end
  local cwd = info.release
  if type(opts.cwd) == "string" then
    cwd = opts.cwd:sub(1, 1) == "/" and opts.cwd or (info.release .. "/" .. opts.cwd)
  end
  local env = {}
  for k, v in pairs(info.env) do env[k] = v end
  if type(opts.env) == "table" then
    for k, v in pairs(opts.env) do
      if type(k) == "string" and (type(v) == "string" or type(v) == "number") then env[k] = tostring(v) end
    end
  end
  local timeout = tonumber(opts.timeout) or ctx.command_timeout
  local popts = { cwd = cwd, env = env, timeout = timeout }
  local as = info.as
  if as then
    -- The deploy's user, with a login-like environment as execute gives.
    popts.uid, popts.gid = as.uid, as.gid
    local u = sys.user(as.uid)
    env.HOME = as.home
    if u then env.USER, env.LOGNAME = u.name, u.name end
  end
  local res, err = proc.run(cmd, popts)
  if not res then errors.converge(string.format("build: `%s` could not start: %s", shown(cmd), err)) end
  if res.timed_out then
    errors.converge(string.format("build: `%s` timed out after %g s (killed)", shown(cmd), timeout),
      { output = res.output })
  end
  if res.signal ~= 0 then
    errors.converge(string.format("build: `%s` killed by signal %d", shown(cmd), res.signal),
      { output = res.output })
  end
  if res.status ~= 0 then
    errors.converge(string.format("build: `%s` exited %d: %s", shown(cmd), res.status, tail(res.output)),
      { output = res.output })
  end
  return res.output
end

-- Runs the build of a release. info: { release =, deploy_to =, shared =,
-- revision =, previous =, as = }. Returns the output of a shell build (for the
-- event); raises on failure.
function M.run(build, info, ctx, extra_env)
  info.env = { RELEASE_DIR = info.release, DEPLOY_TO = info.deploy_to, SHARED_DIR = info.shared,
    REVISION = info.revision }
  for k, v in pairs(extra_env or {}) do info.env[k] = tostring(v) end
  if type(build) == "string" then return run(info, ctx, build) end
  -- What the function sees: plain values and one capability, run, that
  -- works only while the build runs: a recipe that kept it cannot run
  -- commands later (from a template, or under why-run).
  local building = true
  local bctx = {
    release = info.release, deploy_to = info.deploy_to, shared = info.shared,
    revision = info.revision, previous = info.previous,
    run = function(cmd, opts)
      if not building then errors.converge("build: ctx.run called after the build finished") end
      return run(info, ctx, cmd, opts)
    end,
  }
  local ok, err = budget.run_user(build, "build", info.release, bctx)
  building = false
  if not ok then
    if errors.is(err) and err.message:sub(1, 7) == "build: " then error(err, 0) end
    errors.converge("build failed: " .. errors.text(err), { output = errors.is(err) and err.output or nil })
  end
  return nil
end

return M
