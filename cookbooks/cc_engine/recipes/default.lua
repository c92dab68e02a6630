-- cc_engine: the example application deployed and served. Each revision
-- gets a release with its own virtualenv (python_build: venv + pip from
-- local wheels) before `current` moves; Apache + mod_wsgi serve
-- current/app.wsgi with current/venv as python-home, and a graceful reload
-- follows each switch. The health check asks /health after the switch and
-- switches back when it fails (docs/python.md, docs/deploy.md).
include_recipe "apache2::wsgi"

local e = node.cc_engine
-- Attribute values are untrusted input, checked for where they land
-- (paths in the Apache config, the health check's URL, git's argv).
local function bad(name, v, what)
  error(string.format("attribute cc_engine.%s = %s: %s", name,
    (string.format("%q", tostring(v)):gsub("\\\n", "\\n")), what), 2)
end
local function plain_path(s)
  return type(s) == "string" and s:match("^/[%w%._/%-+@,=~]*$") ~= nil and not ("/" .. s .. "/"):find("/%.%.?/")
end
if not plain_path(e.deploy_to) then
  bad("deploy_to", e.deploy_to, "expected an absolute path of letters, digits and . _ - + @ , = ~")
end
if not plain_path(e.wheels) then bad("wheels", e.wheels, "expected an absolute directory of wheels") end
if math.type(e.port) ~= "integer" or e.port < 1 or e.port > 65535 then
  bad("port", e.port, "expected a port number 1-65535")
end
if type(e.revision) ~= "string" or e.revision == "" then bad("revision", e.revision, "expected a branch, tag or commit") end

local a = node.apache2
local inst = a.instance
local conf_dir = inst and ("/etc/apache2-" .. inst) or "/etc/apache2"
local service_name = inst and (node.init == "systemd" and ("apache2@" .. inst) or ("apache2-" .. inst))
  or "apache2"

directory(e.deploy_to) { mode = "0755" }

local venv = python_build {
  python = e.python, requirements = "requirements.txt", venv = "venv",
  find_links = e.wheels, no_index = true,
}

apache2_wsgi_site "cc_engine" {
  conf_dir = conf_dir, service = service_name,
  port = e.port, server_name = e.server_name,
  app_dir = e.deploy_to .. "/current",
  processes = e.processes, threads = e.threads,
  -- A new or changed site is live before the deploy's health check asks
  -- it (on the first run the daemon starts before `current` exists; it
  -- is started again until python-home is there: docs/python.md).
  notifies = { { "reload", "service[" .. service_name .. "]", "immediately" } },
}

deploy(e.deploy_to) {
  repository = e.repository,
  revision = e.revision,
  keep_releases = e.keep_releases,
  build = function(release, ctx)
    venv(release, ctx)
    -- What the application shows as its revision.
    ctx.run({ "sh", "-c", 'printf "%s\\n" "$REVISION" > REVISION' })
  end,
  health_check = { url = string.format("http://127.0.0.1:%d/health", e.port), host = e.server_name, body = "ok" },
  notifies = { { "reload", "service[" .. service_name .. "]" } },
}
