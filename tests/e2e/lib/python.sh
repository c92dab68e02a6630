# tests/e2e/lib/python.sh: Python for a test, without a network. PY is
# Debian's interpreter (the one mod_wsgi is built for; never a pyenv shim
# found first in PATH); make_wheel builds a wheel of a tiny local package
# with `pip wheel` (no index, no build isolation: setuptools and wheel of
# the system), so pip_requirements can install from a directory of wheels.
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skipped: $PY is not installed (tools/install-deps test)"; exit 77; }
"$PY" -c 'import setuptools, wheel, venv, ensurepip, pip' 2>/dev/null ||
	{ echo "skipped: python3-venv, python3-pip, python3-setuptools or python3-wheel missing (tools/install-deps test)"; exit 77; }

# make_wheel NAME VERSION DIR [REQUIREMENT...]: DIR/NAME-VERSION-py3-none-any.whl,
# a package whose NAME.VERSION is VERSION and that requires REQUIREMENT...
make_wheel() {
	local name=$1 version=$2 dir=$3 src="$T/pkgsrc/$1-$2"
	shift 3
	local reqs="" r
	for r in "$@"; do reqs="$reqs'$r', "; done
	mkdir -p "$src/$name" "$dir"
	printf 'VERSION = "%s"\n' "$version" >"$src/$name/__init__.py"
	cat >"$src/setup.py" <<PYEOF
from setuptools import setup
setup(name="$name", version="$version", packages=["$name"], install_requires=[$reqs])
PYEOF
	"$PY" -m pip wheel -q --disable-pip-version-check --no-index --no-build-isolation --no-deps \
		-w "$dir" "$src" >"$T/.wheel.log" 2>&1 || { cat "$T/.wheel.log" >&2; echo "setup failed: pip wheel $name $version" >&2; exit 1; }
}

# venv_has DIR NAME: the version of NAME installed in the virtualenv DIR.
venv_has() { "$1/bin/python" -c "import importlib.metadata as m; print(m.version('$2'))" 2>/dev/null; }
