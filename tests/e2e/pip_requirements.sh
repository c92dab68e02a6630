#!/bin/bash
# pip_requirements with real pip, no network: wheels of tiny local packages
# built here with `pip wheel`, installed with no_index + find_links. Covers
# why-run before the virtualenv exists, install, second run 0 updated, a
# pinned upgrade with a new dependency (why-run shows it and installs
# nothing), a package removed by hand put back (pip's view, no marker
# file), requirements that do not resolve (clear error, nothing
# installed), a missing file or virtualenv, bad find_links, and pip run as
# the virtualenv's owner.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/python.sh"
chmod 755 "$T"
# Any index pip might still ask would be this closed port: no network.
export PIP_INDEX_URL=http://127.0.0.1:9/simple

W="$T/wheels"
make_wheel ccgreet 1.0 "$W"
make_wheel ccgreet 2.0 "$W" "ccdep>=1.0"
make_wheel ccdep 1.0 "$W"

V="$T/venv"
R="$T/requirements.txt"
cat >"$T/p.lua" <<LUA
python_virtualenv "$V" { python = "$PY" }
pip_requirements "$R" { virtualenv = "$V", no_index = true, find_links = "$W" }
LUA
echo "ccgreet==1.0" >"$R"
snapshot() { "$V/bin/python" -m pip list --format=freeze --disable-pip-version-check 2>/dev/null; }

# --- first converge -------------------------------------------------------------
apply -n "$T/p.lua"
assert_code 0 "why-run before the virtualenv exists"
assert_out "would-update pip_requirements[$R] install: install $R into $V"
assert_no_file "$V"

apply "$T/p.lua"
assert_code 0 "first converge"
assert_out "updated      pip_requirements[$R] install: install ccgreet 1.0"
assert_eq "$(venv_has "$V" ccgreet)" "1.0" "ccgreet installed"
check; "$V/bin/python" -c 'import ccgreet; assert ccgreet.VERSION == "1.0"' || fail "ccgreet not importable"

apply "$T/p.lua"
assert_code 0 "second run"
assert_summary 0 0

# --- a pinned upgrade that brings a dependency ------------------------------------
echo "ccgreet==2.0" >"$R"
before=$(snapshot)
apply -n "$T/p.lua"
assert_code 0 "why-run upgrade"
assert_out "upgrade ccgreet 1.0 -> 2.0"
assert_out "install ccdep 1.0"
assert_eq "$(snapshot)" "$before" "packages after why-run"

apply "$T/p.lua"
assert_code 0 "upgrade"
assert_eq "$(venv_has "$V" ccgreet)" "2.0" "ccgreet upgraded"
assert_eq "$(venv_has "$V" ccdep)" "1.0" "dependency installed"
apply "$T/p.lua"
assert_summary 0 0

# --- what pip sees, not a marker: a package removed by hand comes back -------------
"$V/bin/python" -m pip uninstall -q -y ccdep >/dev/null 2>&1
apply "$T/p.lua"
assert_code 0 "removed by hand"
assert_out "install ccdep 1.0"
assert_eq "$(venv_has "$V" ccdep)" "1.0" "dependency put back"
apply "$T/p.lua"
assert_summary 0 0

# --- requirements that do not resolve: a clear error, nothing installed -------------
before=$(snapshot)
printf 'ccgreet==1.0\nnosuchpkg==1.0\n' >"$R"
apply "$T/p.lua"
assert_code 1 "unknown package"
assert_err "requirements $R do not resolve in $V"
assert_err "No matching distribution found for nosuchpkg==1.0"
assert_eq "$(snapshot)" "$before" "packages after a failed resolve"
apply -n "$T/p.lua"
assert_code 1 "unknown package, why-run"
assert_err "No matching distribution found for nosuchpkg==1.0"

echo "ccgreet==3.0" >"$R"
apply "$T/p.lua"
assert_code 1 "unknown version"
assert_err "No matching distribution found for ccgreet==3.0"
assert_eq "$(snapshot)" "$before" "packages after an unknown version"

# --- missing pieces and bad input ----------------------------------------------------
cat >"$T/nofile.lua" <<LUA
pip_requirements "$T/none.txt" { virtualenv = "$V", no_index = true, find_links = "$W" }
LUA
apply "$T/nofile.lua"
assert_code 1 "missing requirements file"
assert_err "requirements file $T/none.txt does not exist"

echo "ccgreet==1.0" >"$R"
cat >"$T/novenv.lua" <<LUA
pip_requirements "$R" { virtualenv = "$T/novenv", no_index = true, find_links = "$W" }
LUA
apply "$T/novenv.lua"
assert_code 1 "missing virtualenv"
assert_err "$T/novenv is not a virtualenv (declare it with python_virtualenv)"

cat >"$T/badlinks.lua" <<LUA
pip_requirements "$R" { virtualenv = "$V", no_index = true, find_links = "wheels" }
LUA
apply "$T/badlinks.lua"
assert_code 2 "relative find_links"
assert_err "badlinks.lua:1: pip_requirements[$R]"
assert_err "must be an absolute directory"
cat >"$T/badlinks2.lua" <<LUA
pip_requirements "$R" { virtualenv = "$V", find_links = "--pre" }
LUA
apply "$T/badlinks2.lua"
assert_code 2 "option as find_links"

# --- pip runs as the virtualenv's owner -------------------------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	UV="$T/uv"
	cat >"$T/user.lua" <<LUA
python_virtualenv "$UV" { python = "$PY", user = "nobody" }
pip_requirements "$R" { virtualenv = "$UV", no_index = true, find_links = "$W" }
LUA
	apply "$T/user.lua"
	assert_code 0 "user's virtualenv"
	f=$(ls -d "$UV"/lib/python3*/site-packages/ccgreet 2>/dev/null)
	assert_eq "$(stat -c %U "$f" 2>/dev/null)" nobody "owner of the installed package"
	apply "$T/user.lua"
	assert_summary 0 0
fi

finish
