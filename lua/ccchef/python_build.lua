-- ccchef.python_build: `python_build { ... }` in a recipe, the build step
-- of a deploy that gives each release its own virtualenv:
--
--   deploy "/srv/app" {
--     repository = "/srv/git/app.git", revision = "v1.4",
--     build = python_build { requirements = "requirements.txt",
--                            find_links = "/srv/wheels", no_index = true },
--   }
--
-- It returns the function(release, ctx) of the deploy's build-step
-- interface (docs/deploy.md): `python -m venv RELEASE/venv`, then pip
-- installs the release's requirements file into it, both through ctx.run
-- (as the deploy's user, under the command timeout; a failure raises and
-- the deploy removes the release, `current` untouched). The virtualenv is
-- made at the release's final path because a virtualenv cannot be moved
-- (its scripts name their interpreter by absolute path). Layer "types":
-- the compile phase puts it in the recipe environment (docs/python.md).
local python = require("ccchef.python")

local M = {}

local OPTIONS = {
  requirements = "string", venv = "string", python = "string", find_links = "strings",
  no_index = "boolean", index_url = "string", system_site_packages = "boolean",
}

-- A path inside the release: relative, no "..", no control characters.
local function inside(v)
  return v ~= "" and v:sub(1, 1) ~= "/" and not v:find("%c")
    and not ("/" .. v .. "/"):find("/%.%./") and v:sub(1, 1) ~= "-"
end

local function location_ok(v)
  return not v:find("[%c%s]") and (v:sub(1, 1) == "/" or v:match("^https?://") or v:match("^file://")) ~= nil
end

-- Checks the options where the recipe calls python_build (level 3: the
-- recipe's line). Returns the normalised options.
local function check(opts)
  local function bad(fmt, ...) error("python_build: " .. string.format(fmt, ...), 4) end
  if type(opts) ~= "table" then bad("expected a table of options, got %s", type(opts)) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then bad("unknown option '%s'", tostring(k)) end
    if want == "strings" then
      if type(v) == "string" then opts[k] = { v } v = opts[k] end
      if type(v) ~= "table" then bad("%s: expected a string or a list of strings", k) end
      for _, s in ipairs(v) do
        if type(s) ~= "string" or not location_ok(s) then
          bad("%s %q must be an absolute directory or an http://, https:// or file:// URL", k, tostring(s))
        end
      end
    elseif type(v) ~= want then
      bad("%s: expected a %s, got %s", k, want, type(v))
    end
  end
  local o = {
    requirements = opts.requirements or "requirements.txt",
    venv = opts.venv or "venv",
    python = opts.python or "python3",
    find_links = opts.find_links, no_index = opts.no_index, index_url = opts.index_url,
    system_site_packages = opts.system_site_packages,
  }
  if not inside(o.requirements) then bad("requirements %q must be a path inside the release", o.requirements) end
  if not inside(o.venv) then bad("venv %q must be a path inside the release", o.venv) end
  if o.python == "" or o.python:sub(1, 1) == "-" or o.python:find("%c") then
    bad("python %q: give a command name (python3.11) or an absolute path", o.python)
  end
  if o.index_url and not location_ok(o.index_url) then
    bad("index_url %q must be an http://, https:// or file:// URL", o.index_url)
  end
  return o
end

-- The environment every step runs with: pip never asks, no user
-- site-packages of whoever runs the build.
local ENV = { PIP_NO_INPUT = "1", PYTHONNOUSERSITE = "1", PIP_DISABLE_PIP_VERSION_CHECK = "1" }

function M.step(opts)
  local o = check(opts)
  return function(release, ctx)
    local venv = release .. "/" .. o.venv
    local argv = { o.python, "-m", "venv" }
    if o.system_site_packages then argv[#argv + 1] = "--system-site-packages" end
    table.move({ "--", venv }, 1, 2, #argv + 1, argv)
    ctx.run(argv, { env = ENV })
    local pip = python.index_args(o, { venv .. "/bin/python", "-m", "pip", "install", "--quiet",
      "--root-user-action=ignore" })
    table.move({ "-r", release .. "/" .. o.requirements }, 1, 2, #pip + 1, pip)
    ctx.run(pip, { env = ENV })
  end
end

return M
