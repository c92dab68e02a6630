-- cc_site: deploy a rewrite-heavy site from a ${placeholder} config
-- template and a docroot (see attributes/default.lua and docs/apache.md).
--
-- What a 2010s config needs that a Debian 12 test node lacks is handled
-- here, visibly, in the generated file (each change carries a "# ccchef:"
-- comment) and never by deleting rewrite rules:
--   * php_flag / php_value need mod_php: each is wrapped in
--     <IfModule php_module>, so it applies where PHP is installed and is
--     inert elsewhere;
--   * SSL: with proto = "https" a self-signed certificate is generated at
--     the SSLCertificateFile/KeyFile paths the config names, and an
--     SSLCACertificateFile that does not exist on the node is commented
--     out; with proto = "http" the SSL directives are commented out.
include_recipe "apache2"

local cc = node.cc_site

-- Attribute values are untrusted input: each is checked for the place it
-- lands (${host} and ${dir} in the config, a shell command, paths) before
-- anything is declared (docs/apache.md, "Values").
local function bad(name, v, what, level)
  error(string.format("attribute cc_site.%s = %s: %s", name,
    (string.format("%q", tostring(v)):gsub("\\\n", "\\n")), what), level or 2)
end
-- RFC 1123: labels of letters, digits and '-', not at a label's ends.
local function is_host(s)
  if type(s) ~= "string" or s == "" or #s > 253 then return false end
  for label in (s .. "."):gmatch("([^.]*)%.") do
    if #label > 63 or not label:match("^[%w][%w%-]*$") or label:sub(-1) == "-" then return false end
  end
  return true
end
-- Pasted unquoted into the config: a conservative character set.
local function is_plain_path(s)
  return type(s) == "string" and s:match("^/[%w%._/%-+@,=~]*$") ~= nil and not s:find("/%.%.?/") and not s:find("/%.%.?$")
end
if not tostring(cc.port):match("^%d+$") or tonumber(cc.port) < 1 or tonumber(cc.port) > 65535 then
  bad("port", cc.port, "expected a port number 1-65535")
end
if not is_host(cc.server_name) then
  bad("server_name", cc.server_name, "expected a host name (RFC 1123: letters, digits, '-' and '.')")
end
if not is_plain_path(cc.dir) then
  bad("dir", cc.dir, "expected an absolute path of letters, digits and . _ - + @ , = ~ (it is pasted into the config unquoted)")
end
if cc.ssl_dir ~= false and not is_plain_path(cc.ssl_dir) then
  bad("ssl_dir", cc.ssl_dir, "expected false or an absolute path of letters, digits and . _ - + @ , = ~")
end
if cc.bind ~= "" and not (is_host(cc.bind) or (type(cc.bind) == "string" and cc.bind:match("^%[[%x:%.]+%]$"))) then
  bad("bind", cc.bind, "expected \"\" (all addresses), an IP address or a host name")
end
local a = node.apache2
local inst = a.instance
local conf_dir = inst and ("/etc/apache2-" .. inst) or "/etc/apache2"
local service_name = inst and (node.init == "systemd" and ("apache2@" .. inst) or ("apache2-" .. inst))
  or "apache2"
local logdir = "/var/log/apache2" .. (inst and ("-" .. inst) or "")
local https = cc.proto == "https"
if cc.proto ~= "http" and cc.proto ~= "https" then
  error("cc_site.proto must be http or https, got " .. tostring(cc.proto))
end

-- Paths given as attributes are files of the kitchen, relative to its root
-- (cc_site.template = "cookbooks/mysite/files/apache.conf"), the same under
-- `ccchef apply` and `ccchef remote`; an absolute path is the node's own
-- file. kitchen_path names the attribute when the file is missing.
local template_path = cc.template == "example" and cookbook_path("files/example/site.conf")
  or kitchen_path(cc.template, "cc_site.template")
local docroot_source = cc.docroot_source == "example" and cookbook_path("files/example/docroot")
  or kitchen_path(cc.docroot_source, "cc_site.docroot_source")

-- ${name} -> value; an unknown placeholder is an error naming its line.
local values = {
  port = tostring(cc.port), host = cc.server_name, dir = cc.dir, proto = cc.proto, logdir = logdir,
}
-- Compiled on the controller before connecting (node.facts_known is false),
-- a template that is the node's own file (an absolute path) is not there
-- to read: the site's config is then built on the node only.
local source = read_file(template_path)
if not source and node.facts_known == false and template_path:sub(1, 1) == "/" then
  source = https and "SSLEngine on\n" or ""
end
if not source then error(string.format("cc_site.template: cannot read %s", template_path)) end
local lines, ssl_files = {}, {}
local n = 0
for line in (source .. (source:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
  n = n + 1
  line = line:gsub("%${([%w_]+)}", function(name)
    local v = values[name]
    if v == nil then
      error(string.format("%s:%d: unknown placeholder ${%s} (known: dir, host, logdir, port, proto)",
        template_path, n, name))
    end
    return v
  end)
  local indent, directive, arg = line:match("^(%s*)([%w_]+)%s+(.-)%s*$")
  if directive and directive:match("^php_") then
    line = indent .. "<IfModule php_module> # ccchef: PHP settings apply only where mod_php is loaded\n"
      .. indent .. "    " .. line:gsub("^%s*", "") .. "\n" .. indent .. "</IfModule>"
  elseif directive and directive:match("^SSL") then
    if not https then
      line = indent .. "# ccchef: disabled (cc_site.proto is http): " .. line:gsub("^%s*", "")
    elseif directive == "SSLCertificateFile" or directive == "SSLCertificateKeyFile" then
      if cc.ssl_dir then
        local moved = cc.ssl_dir .. "/" .. cc.server_name .. (directive == "SSLCertificateFile" and ".crt" or ".key")
        line = indent .. "# ccchef: certificate moved to cc_site.ssl_dir (was " .. arg .. ")\n"
          .. indent .. directive .. " " .. moved
        arg = moved
      end
      ssl_files[directive] = arg
    elseif directive == "SSLCACertificateFile" and not read_file(arg) then
      line = indent .. "# ccchef: disabled (this CA bundle is not on the node; the certificate is self-signed): "
        .. line:gsub("^%s*", "")
    end
  end
  lines[#lines + 1] = line
end
local config = "# Managed by ccchef (cookbook cc_site) from " .. template_path .. "\n"
  .. table.concat(lines, "\n") .. "\n"
if https and not config:find("SSLEngine%s+on") then
  error(template_path .. ": cc_site.proto is https but the config has no SSLEngine on")
end

directory(cc.dir) { mode = "0755", recursive = true }
remote_directory(cc.dir .. "/docroot") { source = docroot_source, purge = true }

rewrite_redirects "cc_site" {
  path = cc.dir .. "/redirects.conf",
  rules = cc.redirects,
  notifies = { "reload", "service[" .. service_name .. "]" },
}

if https then
  local crt = ssl_files.SSLCertificateFile or ("/etc/ssl/private/" .. cc.server_name .. ".crt")
  local key = ssl_files.SSLCertificateKeyFile or crt:gsub("%.crt$", ".key")
  directory(crt:match("^(.*)/")) { recursive = true }
  -- CA:FALSE: Apache warns (AH01906) about a server certificate that
  -- claims to be a CA, which openssl's default self-signed one does.
  execute("self-signed certificate for " .. cc.server_name) {
    command = string.format(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj %s"
        .. " -addext 'basicConstraints=critical,CA:FALSE' -keyout %s -out %s 2>&1 && chmod 0600 %s",
      shell_quote("/CN=" .. cc.server_name), shell_quote(key), shell_quote(crt), shell_quote(key)),
    creates = crt,
  }
end

-- The site's port: ports.conf (apache2.listen) may not have it.
local listen = (cc.bind ~= "" and (cc.bind .. ":") or "") .. tostring(cc.port)
local listed = false
for _, l in ipairs(a.listen) do
  if tostring(l) == listen or tostring(l) == tostring(cc.port) then listed = true end
end
file(conf_dir .. "/conf-available/" .. cc.site_name .. "-listen.conf") {
  content = listed and "# Managed by ccchef: port " .. listen .. " is in ports.conf\n"
    or ("# Managed by ccchef (cookbook cc_site)\nListen " .. listen .. "\n"),
  notifies = { "restart", "service[" .. service_name .. "]" },
}
link(conf_dir .. "/conf-enabled/" .. cc.site_name .. "-listen.conf") {
  to = "../conf-available/" .. cc.site_name .. "-listen.conf",
}

-- Modules the apache2 recipe does not already enable.
local enabled = {}
for _, m in ipairs(a.modules) do enabled[m] = true end
local modules = {}
for _, m in ipairs(cc.modules) do modules[#modules + 1] = m end
if https then modules[#modules + 1] = "ssl" end
for _, m in ipairs(modules) do
  if not enabled[m] then
    enabled[m] = true
    apache_module(m) { conf_dir = conf_dir, service = service_name }
  end
end

apache_site(cc.site_name) {
  conf_dir = conf_dir,
  service = service_name,
  config = config,
}

-- Checked against the candidate before the switch (docs/apache.md).
for i, e in ipairs(cc.expectations) do
  if type(e) ~= "table" or type(e.path) ~= "string" or not math.tointeger(e.status) then
    bad("expectations[" .. i .. "]", e, "expected { path = \"/x\", status = 301 [, location =, host =, body =] }")
  end
  rewrite_expect((e.host and (e.host .. " ") or "") .. e.path) {
    path = e.path, status = math.tointeger(e.status), location = e.location, host = e.host, body = e.body,
    site = cc.site_name, conf_dir = conf_dir,
  }
end
