-- The apache2 cookbook's defaults.
-- instance: false manages the main Apache (/etc/apache2, service apache2).
-- A name ("test1") manages a Debian secondary instance, /etc/apache2-NAME
-- with its own service (apache2-NAME under sysvinit, apache2@NAME under
-- systemd), made by Debian's setup-instance script: a second Apache that
-- can run beside the first (tests, staging on the same box).
default.apache2.instance = false
-- Listen lines of ports.conf: "80", "127.0.0.1:8080", "[::1]:80"...
default.apache2.listen = { "80" }
-- Debian's 000-default site on port 80.
default.apache2.default_site = true
default.apache2.modules = { "rewrite", "headers" }
default.apache2.packages = { "apache2" }
