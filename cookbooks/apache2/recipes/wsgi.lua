-- apache2::wsgi: mod_wsgi (Python 3) in the Apache the apache2 recipe
-- manages, so sites can serve WSGI applications (the apache2_wsgi_site
-- resource: docs/python.md).
include_recipe "apache2"

local a = node.apache2
-- The same instance rule as recipes/default.lua (its attributes are
-- checked there).
local inst = a.instance
local conf_dir = inst and ("/etc/apache2-" .. inst) or "/etc/apache2"
local service_name = inst and (node.init == "systemd" and ("apache2@" .. inst) or ("apache2-" .. inst))
  or "apache2"

package(a.wsgi.packages) {}

-- A secondary instance is a copy of /etc/apache2 made when it was set up:
-- one set up before mod_wsgi was installed lacks the module's files.
-- They are the package's, copied as they are.
if inst then
  for _, f in ipairs({ "wsgi.load", "wsgi.conf" }) do
    local source = "/etc/apache2/mods-available/" .. f
    file(conf_dir .. "/mods-available/" .. f) {
      source = source, mode = "0644", action = "create_if_missing",
      -- Under why-run on a new machine the package is not installed yet.
      only_if = function() return read_file(source) ~= nil end,
    }
  end
end

-- Enabling the module restarts Apache once (modules are not reloadable).
apache_module "wsgi" { conf_dir = conf_dir, service = service_name }
