-- cc_engine: the example Python application (files/app), deployed from a
-- git repository into releases/ with a virtualenv per release (its
-- dependencies from local wheels) and served by Apache + mod_wsgi.
-- docs/python.md walks through it.
default.cc_engine.deploy_to = "/srv/cc_engine"
default.cc_engine.repository = "/srv/git/cc_engine.git"
-- The branch, tag or commit deployed. Environments choose it: live a tag
-- ("v1.0"), devel the main branch (environments/live.lua, devel.lua).
default.cc_engine.revision = "main"
-- The directory of wheels pip installs from (--no-index --find-links).
default.cc_engine.wheels = "/srv/wheels"
-- mod_wsgi is built for Debian's python3: the virtualenv must use it.
default.cc_engine.python = "/usr/bin/python3"
default.cc_engine.port = 80
default.cc_engine.server_name = "localhost"
default.cc_engine.keep_releases = 5
default.cc_engine.processes = 2
default.cc_engine.threads = 15
