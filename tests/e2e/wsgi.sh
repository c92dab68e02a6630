#!/bin/bash
# mod_wsgi for real: Debian's apache2 + libapache2-mod-wsgi-py3 in a private
# instance (tests/e2e/lib/apache.sh), recipe apache2::wsgi and an
# apache2_wsgi_site serving a WSGI application from `current` with the
# release's virtualenv as python-home (a package only that virtualenv has).
# First converge answers release r1; second run 0 updated, Apache neither
# reloaded nor restarted; why-run of a switch changes nothing; moving
# `current` reloads Apache gracefully (same master PID) and r2 answers with
# its own virtualenv; values that would land in the config are refused.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/wsgi.sh"
chmod 755 "$T" # Apache's daemon processes (www-data) read the application

make_wheel ccgreet 1.0 "$T/wheels"
make_wheel ccgreet 2.0 "$T/wheels"
A="$T/app"
for r in r1 r2; do
	mkdir -p "$A/releases/$r"
	v=${r#r}.0
	echo "ccgreet==$v" >"$A/releases/$r/requirements.txt"
	cat >"$A/releases/$r/app.wsgi" <<PYEOF
import sys, ccgreet
def application(environ, start_response):
    body = ("release $r ccgreet %s prefix %s\n" % (ccgreet.VERSION, sys.prefix)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
PYEOF
done

cat >"$T/attrs.json" <<JSON
{"apache2": {"instance": "$INST", "listen": ["127.0.0.1:$PORT"], "default_site": false}}
JSON
recipe() { # RELEASE
	cat >"$T/wsgi.lua" <<LUA
include_recipe "apache2::wsgi"
local service = "service[apache2-$INST]"
for _, r in ipairs({ "r1", "r2" }) do
  local rel = "$A/releases/" .. r
  python_virtualenv(rel .. "/venv") { python = "$PY" }
  pip_requirements(rel .. "/requirements.txt") {
    virtualenv = rel .. "/venv", no_index = true, find_links = "$T/wheels",
  }
end
link "$A/current" { to = "$A/releases/$1", notifies = { { "reload", service } } }
apache2_wsgi_site "ccapp" {
  conf_dir = "$CONF", service = "apache2-$INST",
  port = $PORT, server_name = "localhost",
  app_dir = "$A/current", processes = 1, threads = 4,
}
LUA
}
converge() { apply -k "$SRC" -j "$T/attrs.json" "$@" "$T/wsgi.lua"; }

# --- first converge ------------------------------------------------------------
recipe r1
converge
assert_code 0 "first converge"
assert_out "updated      apache_site[ccapp]"
assert_http / 200 -
check; printf '%s' "$BODY" | grep -q "^release r1 ccgreet 1.0 prefix $A/current/venv" ||
	fail "r1 through its virtualenv: got '$BODY'"
check; grep -q "WSGIDaemonProcess ccapp user=www-data group=www-data processes=1 threads=4 python-home=$A/current/venv home=$A/current" \
	"$CONF/sites-available/ccapp.conf" || fail "WSGIDaemonProcess line"

# --- second converge: nothing, and Apache left alone -----------------------------
pid=$(apache_pid)
reloads=$(apache_reloads)
converge
assert_code 0 "second converge"
assert_summary 0 0
assert_eq "$(apache_pid)" "$pid" "apache pid after second run"
assert_eq "$(apache_reloads)" "$reloads" "reloads after second run"

# --- an instance set up before mod_wsgi was installed lacks its files -----------
rm -f "$CONF"/mods-available/wsgi.* "$CONF"/mods-enabled/wsgi.*
converge
assert_code 0 "module files put back"
assert_out "updated      file[$CONF/mods-available/wsgi.load]"
assert_out "updated      apache_module[wsgi]"
assert_file "$CONF/mods-enabled/wsgi.load"
assert_http / 200 -
check; printf '%s' "$BODY" | grep -q "^release r1 ccgreet 1.0" || fail "r1 after the module came back: got '$BODY'"
pid=$(apache_pid)
reloads=$(apache_reloads)
converge
assert_summary 0 0

# --- why-run of a switch: shown, nothing moves ------------------------------------
recipe r2
converge -n
assert_code 0 "why-run switch"
assert_out "would-update link[$A/current]"
assert_out "would notify service[apache2-$INST] to reload"
assert_eq "$(readlink "$A/current")" "$A/releases/r1" "current after why-run"
assert_eq "$(apache_reloads)" "$reloads" "reloads after why-run"
assert_http / 200 -
check; printf '%s' "$BODY" | grep -q "^release r1 ccgreet 1.0" || fail "r1 after why-run: got '$BODY'"

# --- the switch: a graceful reload, r2 answers with its own virtualenv -----------
converge
assert_code 0 "switch to r2"
assert_out "updated      link[$A/current]"
assert_eq "$(readlink "$A/current")" "$A/releases/r2" "current after the switch"
assert_eq "$(apache_pid)" "$pid" "apache master pid after a graceful reload"
check; [ "$(apache_reloads)" -gt "$reloads" ] || fail "no reload after the switch"
assert_http / 200 -
check; printf '%s' "$BODY" | grep -q "^release r2 ccgreet 2.0 prefix $A/current/venv" ||
	fail "r2 through its virtualenv: got '$BODY'"
converge
assert_summary 0 0

# --- values that would land in the config ------------------------------------------
bad_site() { # PROPERTY-LINE WANTED-MESSAGE
	cat >"$T/bad.lua" <<LUA
apache2_wsgi_site "bad" {
  conf_dir = "$CONF", service = "apache2-$INST", port = $PORT, app_dir = "$A/current",
  $1
}
LUA
	cp "$CONF/sites-available/ccapp.conf" "$T/ccapp.before"
	apply -k "$SRC" "$T/bad.lua"
	assert_code 2 "bad value: $1"
	assert_err "$2"
	assert_no_file "$CONF/sites-available/bad.conf"
}
bad_site 'python_home = "/srv/x\nWSGIImportScript /tmp/evil.py",' "python_home"
bad_site 'script = "../../etc/passwd",' "must be a path inside app_dir"
bad_site 'user = "www-data group=root",' "must be a name of letters"
bad_site 'mount = "/a b",' "must be \"/\" or a URL path"
bad_site 'threads = 0,' "must be 1-256"
bad_site 'server_name = "x\nInclude /etc/shadow",' "server_name"
assert_http / 200 -

finish
