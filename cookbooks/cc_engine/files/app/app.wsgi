# mod_wsgi's entry point (WSGIScriptAlias): the cc_engine application of the
# release this file is in. The real path pins a daemon process to its
# release: `current` may move while it runs; a reload starts new processes.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from cc_engine import application  # noqa: E402,F401
