-- apache2: Debian's Apache, its ports, default site, modules and service.
local a = node.apache2
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

service(service_name) {
  action = { "enable", "start" },
}
