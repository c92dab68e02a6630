#!/bin/bash
# python_virtualenv with Debian's python3 -m venv, for real: why-run before
# anything exists, create, second run 0 updated, system_site_packages,
# another interpreter (a copy of python3 elsewhere) -> recreated, an
# interpreter that went away -> recreated, a missing interpreter and other
# bad input (clear errors, nothing made), ownership by a user, delete.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/python.sh"
chmod 755 "$T"

V="$T/venv"
recipe() { # PYTHON [EXTRA PROPERTIES]
	cat >"$T/v.lua" <<LUA
python_virtualenv "$V" { python = "$1", ${2:-} }
LUA
}
base_of() { "$1/bin/python" -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null; }
real_py=$(readlink -f "$PY")

# --- first converge ---------------------------------------------------------
recipe "$PY"
apply -n "$T/v.lua"
assert_code 0 "why-run before anything exists"
assert_out "would-update python_virtualenv[$V]: create virtualenv with $real_py"
assert_no_file "$V"

apply "$T/v.lua"
assert_code 0 "create"
assert_out "updated      python_virtualenv[$V]: create virtualenv with $real_py"
assert_file "$V/pyvenv.cfg"
assert_eq "$(base_of "$V")" "$real_py" "interpreter of the virtualenv"
check; "$V/bin/python" -m pip --version >/dev/null 2>&1 || fail "no pip in the virtualenv"

apply "$T/v.lua"
assert_code 0 "second run"
assert_summary 0 0

# --- system_site_packages ---------------------------------------------------
recipe "$PY" "system_site_packages = true"
cp "$V/pyvenv.cfg" "$T/cfg.before"
apply -n "$T/v.lua"
assert_code 0 "why-run system_site_packages"
assert_out "include-system-site-packages false -> true"
check; cmp -s "$V/pyvenv.cfg" "$T/cfg.before" || fail "why-run changed pyvenv.cfg"
apply "$T/v.lua"
assert_code 0 "system_site_packages"
check; grep -qx "include-system-site-packages = true" "$V/pyvenv.cfg" || fail "pyvenv.cfg not changed"
check; "$V/bin/python" -c 'import setuptools' 2>/dev/null || fail "system site-packages not visible"
apply "$T/v.lua"
assert_summary 0 0

# --- another interpreter: the virtualenv is made again -----------------------
# A copy of the interpreter at another path is another program for the
# virtualenv (its bin/python links to it), as python3.12 beside 3.11 is.
mkdir -p "$T/other/bin"
cp "$real_py" "$T/other/bin/python3"
recipe "$T/other/bin/python3"
touch "$V/marker"
apply -n "$T/v.lua"
assert_code 0 "why-run other interpreter"
assert_out "recreate virtualenv: interpreter $real_py"
assert_out "-> $T/other/bin/python3"
assert_file "$V/marker"
assert_eq "$(base_of "$V")" "$real_py" "interpreter after why-run"
apply "$T/v.lua"
assert_code 0 "other interpreter"
assert_out "updated      python_virtualenv[$V]: recreate virtualenv"
assert_no_file "$V/marker"
assert_eq "$(base_of "$V")" "$T/other/bin/python3" "interpreter after recreate"
apply "$T/v.lua"
assert_summary 0 0

# --- its interpreter went away: made again with the wanted one ---------------
rm "$T/other/bin/python3"
recipe "$PY"
apply "$T/v.lua"
assert_code 0 "broken virtualenv"
assert_out "recreate virtualenv (bin/python does not start"
assert_eq "$(base_of "$V")" "$real_py" "interpreter after repair"
apply "$T/v.lua"
assert_summary 0 0

# --- bad input ----------------------------------------------------------------
recipe "python9.99-none"
apply "$T/v.lua"
assert_code 1 "missing interpreter"
assert_err "python interpreter 'python9.99-none' not found"
cat >"$T/missing.lua" <<LUA
python_virtualenv "$T/nv" { python = "python9.99-none" }
LUA
apply "$T/missing.lua"
assert_code 1 "missing interpreter, new virtualenv"
assert_no_file "$T/nv"
# Why-run: the interpreter may come from a package an earlier resource
# installs; it says so, and makes nothing.
apply -n "$T/missing.lua"
assert_code 0 "why-run, missing interpreter"
assert_out "create virtualenv with python9.99-none (not installed yet)"
assert_no_file "$T/nv"

cat >"$T/bad.lua" <<LUA
python_virtualenv "$T/nv" { python = "-c" }
LUA
apply "$T/bad.lua"
assert_code 2 "option as interpreter"
assert_err "bad.lua:1: python_virtualenv[$T/nv]"
assert_err "give a command name"

mkdir -p "$T/notvenv"
echo keep >"$T/notvenv/data"
cat >"$T/notvenv.lua" <<LUA
python_virtualenv "$T/notvenv" { python = "$PY" }
LUA
apply "$T/notvenv.lua"
assert_code 1 "not a virtualenv"
assert_err "exists and is not a virtualenv (no pyvenv.cfg)"
assert_content "$T/notvenv/data" keep
check; [ ! -e "$T/notvenv/pyvenv.cfg" ] || fail "a virtualenv was made over a directory"

cat >"$T/noparent.lua" <<LUA
python_virtualenv "$T/no/such/venv" { python = "$PY" }
LUA
apply "$T/noparent.lua"
assert_code 1 "missing parent"
assert_err "parent directory $T/no/such does not exist"

ln -s "$V" "$T/link"
cat >"$T/link.lua" <<LUA
python_virtualenv "$T/link" { python = "$PY" }
LUA
apply "$T/link.lua"
assert_code 1 "symbolic link"
assert_err "is a symbolic link"

# --- owned by a user ----------------------------------------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cat >"$T/user.lua" <<LUA
python_virtualenv "$T/uv" { python = "$PY", user = "nobody" }
LUA
	apply "$T/user.lua"
	assert_code 0 "virtualenv of a user"
	assert_eq "$(stat -c %U "$T/uv/bin/python3")" nobody "owner of bin/python3"
	assert_eq "$(stat -c %U "$T/uv/pyvenv.cfg")" nobody "owner of pyvenv.cfg"
	apply "$T/user.lua"
	assert_summary 0 0
	# Without user: recreated (another interpreter) as its owner, and still
	# that user's.
	mkdir -p "$T/other2/bin"
	cp "$real_py" "$T/other2/bin/python3"
	cat >"$T/user2.lua" <<LUA
python_virtualenv "$T/uv" { python = "$T/other2/bin/python3" }
LUA
	apply "$T/user2.lua"
	assert_code 0 "recreate a user's virtualenv"
	assert_out "recreate virtualenv"
	assert_eq "$(stat -c %U "$T/uv/pyvenv.cfg")" nobody "owner after recreate"
	assert_eq "$(stat -c %U "$T/uv")" nobody "owner of the directory after recreate"
	assert_eq "$(base_of "$T/uv")" "$T/other2/bin/python3" "interpreter after recreate"
fi

# --- delete -------------------------------------------------------------------
cat >"$T/delete.lua" <<LUA
python_virtualenv "$V" { action = "delete" }
LUA
apply -n "$T/delete.lua"
assert_out "would-update python_virtualenv[$V] delete: delete virtualenv"
assert_file "$V/pyvenv.cfg"
apply "$T/delete.lua"
assert_code 0 "delete"
assert_no_file "$V"
apply "$T/delete.lua"
assert_summary 0 0

finish
