-- apache2_wsgi_site: an Apache site that serves a WSGI application in
-- mod_wsgi's daemon mode, from an application directory (a deploy's
-- `current`) with its own virtualenv as python-home:
--
--   apache2_wsgi_site "engine" {
--     port = 80, server_name = "engine.example.org",
--     app_dir = "/srv/engine/current",          -- script and python-home below it
--     script = "app.wsgi", python_home = "/srv/engine/current/venv",
--   }
--
-- The daemon processes resolve app_dir when they start: when `current`
-- moves, a graceful reload of Apache (the deploy's notification) starts
-- new ones on the new release while the old ones finish their requests.
-- Include recipe apache2::wsgi for the module. Every value pasted into the
-- config is checked here at compile time (docs/python.md, "Values"); the
-- generated VirtualHost is apache_site's, with its own checks and its
-- configtest before anything goes live.

local function show(v)
  return (string.format("%q", tostring(v)):gsub("\\\n", "\\n"))
end

-- A path pasted unquoted into WSGI directives: absolute, a conservative
-- set of characters (no space, quote, '<', '>', '%', control character),
-- no "." or ".." component.
local function plain_path(v)
  return type(v) == "string" and v:match("^/[%w%._/%-+@,=~]*$") ~= nil
    and not ("/" .. v .. "/"):find("/%.%.?/")
end
local function check_path(v)
  if plain_path(v) then return true end
  return false, show(v) .. " must be an absolute path of letters, digits and . _ - + @ , = ~ (no . or .. component)"
end
local function check_relative(v)
  if type(v) == "string" and v ~= "" and v:sub(1, 1) ~= "/" and plain_path("/" .. v) then return true end
  return false, show(v) .. " must be a path inside app_dir (letters, digits and . _ - + @ , = ~; no ..)"
end
local function check_name(v)
  if type(v) == "string" and v:match("^[%a_][%w_%-]*$") and #v <= 64 then return true end
  return false, show(v) .. " must be a name of letters, digits, '_' and '-'"
end
local function check_mount(v)
  if type(v) == "string" and (v == "/" or v:match("^/[%w%._/%-~]*[^/]$")) and not ("/" .. v .. "/"):find("/%.%.?/") then
    return true
  end
  return false, show(v) .. " must be \"/\" or a URL path like \"/app\" (no trailing slash, no . or ..)"
end
-- A host name (RFC 1123 labels), for ServerName and ServerAlias; apache_site
-- checks them again, but only when the site converges: here the recipe's
-- line is named at compile time.
local function check_host(v)
  local list = type(v) == "table" and v or { v }
  for _, h in ipairs(list) do
    local good = type(h) == "string" and #h <= 253 and h ~= ""
    for label in (tostring(h) .. "."):gmatch("([^.]*)%.") do
      if #label > 63 or not label:match("^[%w*][%w%-]*$") or label:sub(-1) == "-" then good = false end
    end
    if not good then return false, show(h) .. " is not a host name (letters, digits, '-' and '.')" end
  end
  return true
end
local function between(lo, hi)
  return function(v)
    if v >= lo and v <= hi then return true end
    return false, string.format("must be %d-%d", lo, hi)
  end
end

return {
  properties = {
    port = { type = "integer", required = true },
    server_name = { type = "string", validate = check_host },
    server_aliases = { type = "strings", validate = check_host },
    app_dir = { type = "path", required = true, validate = check_path },
    script = { type = "string", default = "app.wsgi", validate = check_relative },
    -- Default: app_dir/venv, the virtualenv python_build makes in a release.
    python_home = { type = "path", validate = check_path },
    mount = { type = "string", default = "/", validate = check_mount },
    user = { type = "string", default = "www-data", validate = check_name },
    group = { type = "string", default = "www-data", validate = check_name },
    processes = { type = "integer", default = 2, validate = between(1, 64) },
    threads = { type = "integer", default = 15, validate = between(1, 256) },
    conf_dir = { type = "path", default = "/etc/apache2" },
    service = { type = "string", default = "apache2" },
    -- Other directives inside the VirtualHost, as apache_site's config.
    config = { type = "string" },
  },
  default_action = "enable",
  actions = {
    enable = function(r)
      -- The daemon's name is the site's: one per site, server-wide.
      local ok, err = check_name(r.name)
      if not ok then error("site name " .. err, 0) end
      local home = r.python_home or (r.app_dir .. "/venv")
      local lines = {
        string.format("WSGIDaemonProcess %s user=%s group=%s processes=%d threads=%d python-home=%s home=%s display-name=%%{GROUP}",
          r.name, r.user, r.group, r.processes, r.threads, home, r.app_dir),
        "WSGIProcessGroup " .. r.name,
        -- The main interpreter: C extensions that do not support
        -- sub-interpreters (numpy, lxml...) work.
        "WSGIApplicationGroup %{GLOBAL}",
        string.format("WSGIScriptAlias %s %s/%s", r.mount, r.app_dir, r.script),
        "<Directory " .. r.app_dir .. ">",
        "    Require all granted",
        "</Directory>",
      }
      if r.config then lines[#lines + 1] = r.config end
      apache_site(r.name) {
        conf_dir = r.conf_dir, service = r.service,
        port = r.port, server_name = r.server_name, server_aliases = r.server_aliases,
        config = table.concat(lines, "\n") .. "\n",
      }
    end,
    disable = function(r)
      apache_site(r.name) { conf_dir = r.conf_dir, service = r.service, action = "disable" }
    end,
  },
}
