-- apache2::wsgi: mod_wsgi for Python 3. Debian's module is built for
-- Debian's python3: a site's virtualenv (python-home) must be made with
-- that interpreter (/usr/bin/python3), not another Python on the machine.
default.apache2.wsgi.packages = { "libapache2-mod-wsgi-py3" }
