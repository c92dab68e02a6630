-- Driven by tests/e2e/python_build.sh (run by test_lua): the function
-- python_build returns, called as a deploy calls a build step, with a ctx
-- that keeps the contract of /work/coord's build-step interface as
-- docs/deploy.md gives it: ctx.run(argv, opts) runs in the release, adds
-- opts.env, raises a converge error on failure and returns the output.
local python_build = require("ccchef.python_build")
local proc = require("ccchef.proc")
local errors = require("ccchef.errors")

local T = assert(os.getenv("T"))
local PY = assert(os.getenv("PY"))
local W = T .. "/wheels"

local function ctx_for(release)
  local ctx = { release = release, deploy_to = T, shared = T .. "/shared", revision = "abc" }
  function ctx.run(cmd, opts)
    opts = opts or {}
    local res, err = proc.run(cmd, { cwd = opts.cwd or release, env = opts.env, timeout = 300 })
    if not res then errors.converge("build: could not start: " .. err) end
    if res.status ~= 0 then
      local shown = type(cmd) == "table" and table.concat(cmd, " ") or cmd
      errors.converge(string.format("build: `%s` exited %d: %s", shown, res.status, res.output))
    end
    return res.output
  end
  return ctx
end

local function out(argv)
  local res = assert(proc.run(argv, {}))
  return res.status, (res.output:gsub("%s+$", ""))
end

test("a release gets its own virtualenv with its requirements installed", function()
  local rel = T .. "/releases/r1"
  local step = python_build.step { python = PY, find_links = W, no_index = true }
  step(rel, ctx_for(rel))
  local status, v = out({ rel .. "/venv/bin/python", "-c", "import ccgreet; print(ccgreet.VERSION)" })
  eq(status, 0, v)
  eq(v, "1.0")
  local _, base = out({ rel .. "/venv/bin/python", "-c",
    "import os, sys; print(os.path.realpath(sys._base_executable))" })
  local _, real = out({ "readlink", "-f", PY })
  eq(base, real)
end)

test("options: another venv directory and requirements file", function()
  local rel = T .. "/releases/r2"
  local step = python_build.step { python = PY, venv = ".venv", requirements = "deploy/req.txt",
    find_links = { W }, no_index = true }
  step(rel, ctx_for(rel))
  local status = out({ rel .. "/.venv/bin/python", "-c", "import ccgreet" })
  eq(status, 0)
end)

test("requirements that do not resolve fail the build with pip's message", function()
  local rel = T .. "/releases/bad"
  local step = python_build.step { python = PY, find_links = W, no_index = true }
  local good, e = pcall(step, rel, ctx_for(rel))
  eq(good, false)
  ok(errors.is(e), tostring(e))
  ok(e.message:find("No matching distribution found for nosuchpkg", 1, true), e.message)
end)

test("bad options are refused where python_build is called", function()
  local function refused(opts, what)
    local good, e = pcall(python_build.step, opts)
    eq(good, false, what)
    ok(tostring(e):find(what, 1, true), tostring(e))
  end
  refused({ venv = "../outside" }, "must be a path inside the release")
  refused({ venv = "/abs" }, "must be a path inside the release")
  refused({ requirements = "a/../../b" }, "must be a path inside the release")
  refused({ find_links = "wheels" }, "must be an absolute directory")
  refused({ python = "-c" }, "give a command name")
  refused({ no_such = 1 }, "unknown option 'no_such'")
  refused({ no_index = "yes" }, "no_index: expected a boolean")
end)

if test_failures() > 0 then error(test_failures() .. " tests failed") end
