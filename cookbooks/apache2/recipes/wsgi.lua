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

-- Enabling the module restarts Apache once (modules are not reloadable).
apache_module "wsgi" { conf_dir = conf_dir, service = service_name }
