# tests/e2e/lib/wsgi.sh: what a test of a WSGI application under a private
# Apache needs (tests/e2e/wsgi.sh, cc_engine.sh): the instance
# (lib/apache.sh), Debian's Python that mod_wsgi is built for
# (lib/python.sh), root, apache2 and mod_wsgi installed (else the test is
# skipped, exit 77), and no package index: pip installs only from the
# test's own directory of wheels. Source after common.sh.
. "$(dirname "${BASH_SOURCE[0]}")/apache.sh"
. "$(dirname "${BASH_SOURCE[0]}")/python.sh"
: "${SRC:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (installs an Apache instance)"; exit 77; }
command -v apache2ctl >/dev/null || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
[ -e /usr/lib/apache2/modules/mod_wsgi.so ] ||
	{ echo "skipped: libapache2-mod-wsgi-py3 is not installed (tools/install-deps test)"; exit 77; }
export PIP_INDEX_URL=http://127.0.0.1:9/simple
