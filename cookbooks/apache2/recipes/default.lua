-- apache2: Debian's Apache, its ports, default site, modules and service.
local a = node.apache2

-- Attribute values are untrusted input: each is checked for the place it
-- lands (the instance name in paths and a shell command, listen in
-- ports.conf) before anything is declared (docs/apache.md, "Values").
local function bad(name, v, what, level)
  error(string.format("attribute %s = %s: %s", name,
    (string.format("%q", tostring(v)):gsub("\\\n", "\\n")), what), level or 2)
end
local function check_port(name, v, p)
  local n = tonumber(p)
  if not n or n < 1 or n > 65535 then bad(name, v, "the port must be 1-65535", 3) end
end
if a.instance ~= false and (type(a.instance) ~= "string" or not a.instance:match("^[%w][%w_%-]*$")) then
  bad("apache2.instance", a.instance, "false or a name of letters, digits, '_' and '-'")
end
if type(a.listen) ~= "table" then bad("apache2.listen", a.listen, "expected a list like { \"80\", \"127.0.0.1:8080\" }") end
for i, l in ipairs(a.listen) do
  local name = "apache2.listen[" .. i .. "]"
  local s = tostring(l)
  local addr_port = s:match("^(%S+) https?$") or s
  local port = addr_port:match("^(%d+)$") or addr_port:match("^[%w][%w%.%-]*:(%d+)$")
    or addr_port:match("^%[[%x:%.]+%]:(%d+)$")
  if not port then bad(name, l, "expected PORT, ADDRESS:PORT or [IPV6]:PORT, optionally followed by ' https'") end
  check_port(name, l, port)
end

local inst = a.instance
local conf_dir = inst and ("/etc/apache2-" .. inst) or "/etc/apache2"
local service_name = inst and (node.init == "systemd" and ("apache2@" .. inst) or ("apache2-" .. inst))
  or "apache2"
local service_ref = "service[" .. service_name .. "]"

package(a.packages) {}

if inst then
  -- setup-instance copies the live /etc/apache2, sites and Listen lines
  -- included, which would make the new Apache fight the main one for its
  -- ports. A new instance therefore starts with no site enabled and only
  -- Debian's own conf-enabled snippets (those apache2 ships as conffiles);
  -- recipes enable what it serves.
  execute("apache2 instance " .. inst) {
    command = "sh /usr/share/doc/apache2/examples/setup-instance " .. inst
      .. " && rm -f " .. conf_dir .. "/sites-enabled/*"
      .. " && for f in " .. conf_dir .. "/conf-enabled/*; do"
      .. " grep -qx \"/etc/apache2/conf-available/${f##*/}\" /var/lib/dpkg/info/apache2.conffiles || rm -f \"$f\"; done",
    creates = conf_dir,
  }
end

template(conf_dir .. "/ports.conf") {
  source = "ports.conf.tmpl",
  vars = { listen = a.listen },
  mode = "0644",
  notifies = { "restart", service_ref },
}

apache_site "000-default" {
  conf_dir = conf_dir,
  service = service_name,
  action = a.default_site and "enable" or "disable",
}

for _, m in ipairs(a.modules) do
  apache_module(m) { conf_dir = conf_dir, service = service_name }
end

-- Not started on a configuration Apache rejects (one broken outside
-- ccchef, by hand or by an older run, with Apache down): the start would
-- fail and stop the run before the resources that fix it. Skipped, the
-- run goes on, stages the fix, checks it, and the change's reload or
-- restart at the end brings Apache up: a reload starts a stopped Apache
-- (apache2ctl graceful; systemd's reload-or-restart), as Debian's init
-- script's reload would not (docs/apache.md, "Staging").
local ctl_env = inst and ("APACHE_CONFDIR=" .. conf_dir .. " ") or ""
service(service_name) {
  action = { "enable", "start" },
  only_if = ctl_env .. "apache2ctl configtest >/dev/null 2>&1",
  reload_command = node.init == "systemd" and ("systemctl reload-or-restart " .. service_name)
    or (ctl_env .. "apache2ctl graceful"),
}
