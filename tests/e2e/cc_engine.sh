#!/bin/bash
# The cc_engine example end to end: its application (cookbooks/cc_engine/
# files/app) committed to a local git repository (tag v1.0, then a commit
# on main), its dependency built into a wheel with `pip wheel`, and the
# cookbook converged with -E live (the tag) and -E devel (main) into a
# private Apache + mod_wsgi instance, asked with curl. Covers the first
# deploy (release with its own virtualenv, the health check, the app
# answering its revision through the virtualenv's package), second run 0
# updated with Apache untouched, the environment switching the branch
# (a new release, a graceful reload, the new revision answering), and back.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/wsgi.sh"
command -v git >/dev/null || { echo "git is not installed (tools/install-deps test)"; exit 77; }
chmod 755 "$T" # Apache's daemon processes (www-data) read the releases

export HOME="$T/home"
mkdir -p "$HOME"
export GIT_AUTHOR_NAME="ccchef test" GIT_AUTHOR_EMAIL="test@ccchef.invalid"
export GIT_COMMITTER_NAME="ccchef test" GIT_COMMITTER_EMAIL="test@ccchef.invalid"
CB="$SRC/cookbooks/cc_engine"

# --- the dependency's wheel (built from a copy: pip writes beside its source)
cp -r "$CB/files/cc_engine_text" "$T/cc_engine_text"
"$PY" -m pip wheel -q --disable-pip-version-check --no-index --no-build-isolation --no-deps \
	-w "$T/wheels" "$T/cc_engine_text" >"$T/.wheel.log" 2>&1 || { cat "$T/.wheel.log"; echo "setup failed: pip wheel"; exit 1; }

# --- the application's repository: v1.0 (a tag), then 1.1 on main --------------
git init -q -b main "$T/src"
cp -r "$CB/files/app/." "$T/src/"
g() { git -C "$T/src" "$@" >/dev/null 2>&1 || { echo "setup failed: git $*" >&2; exit 1; }; }
g add -A
g commit -qm "cc_engine 1.0"
g tag -a v1.0 -m "release 1.0"
V1=$(git -C "$T/src" rev-parse HEAD)
sed -i 's/^VERSION = "1.0"/VERSION = "1.1"/' "$T/src/cc_engine/__init__.py"
g commit -qam "cc_engine 1.1"
MAIN=$(git -C "$T/src" rev-parse HEAD)
# Two branches that must never go live: requirements no wheel satisfies,
# and a release whose /health fails.
g checkout -q -b unresolvable
sed -i 's/^cc-engine-text==1.0/cc-engine-text==9.9/' "$T/src/requirements.txt"
g commit -qam "needs a dependency no wheel has"
g checkout -q main
g checkout -q -b unhealthy
sed -i 's|if path == "/health":|if path == "/health" and False:|' "$T/src/cc_engine/__init__.py"
g commit -qam "health fails"
g checkout -q main
git clone -q --bare "$T/src" "$T/engine.git"

# --- a kitchen: the two cookbooks, and the environments that choose the branch ---
K="$T/kitchen"
mkdir -p "$K/cookbooks" "$K/environments"
cp -r "$SRC/cookbooks/apache2" "$SRC/cookbooks/cc_engine" "$K/cookbooks/"
cat >"$K/environments/live.lua" <<'LUA'
return { attributes = { cc_engine = { revision = "v1.0" } } }
LUA
cat >"$K/environments/devel.lua" <<'LUA'
return { attributes = { cc_engine = { revision = "main" } } }
LUA
cat >"$T/attrs.json" <<JSON
{"apache2": {"instance": "$INST", "listen": ["127.0.0.1:$PORT"], "default_site": false},
 "cc_engine": {"deploy_to": "$T/engine", "repository": "file://$T/engine.git", "wheels": "$T/wheels",
   "port": $PORT, "processes": 1, "threads": 4}}
JSON
engine() { apply -k "$K" -j "$T/attrs.json" "$@" recipe:cc_engine; }
answers() { # WANTED: the page, through the release's virtualenv
	assert_http / 200 -
	check; [ "$BODY" = "$1" ] || fail "GET /: want '$1', got '$BODY'"
}

# --- live: the tag ------------------------------------------------------------------
engine -E live -n
assert_code 0 "why-run before anything exists"
assert_no_file "$T/engine"

engine -E live
assert_code 0 "first converge (live)"
assert_out "updated      deploy[$T/engine]"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"
check; [ -x "$T/engine/current/venv/bin/python" ] || fail "no virtualenv in the release"
check; [ -e "$T/engine/current/venv/lib/python3.11/site-packages/cc_engine_text/__init__.py" ] ||
	[ -n "$(ls -d "$T"/engine/current/venv/lib/python3*/site-packages/cc_engine_text 2>/dev/null)" ] ||
	fail "dependency not in the release's virtualenv"
assert_http /health 200 -

pid=$(apache_pid)
reloads=$(apache_reloads)
engine -E live
assert_code 0 "second converge (live)"
assert_summary 0 0
assert_eq "$(apache_pid)" "$pid" "apache pid after second run"
assert_eq "$(apache_reloads)" "$reloads" "reloads after second run"

# --- devel: main, a new release, a graceful reload ---------------------------------
engine -E devel -n
assert_code 0 "why-run devel"
assert_out "would-update deploy[$T/engine]"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"

engine -E devel
assert_code 0 "converge devel"
assert_out "updated      deploy[$T/engine]"
answers "cc_engine 1.1 at revision $MAIN (cc_engine_text 1.0)"
assert_eq "$(apache_pid)" "$pid" "apache master pid after the switch (graceful)"
check; [ "$(apache_reloads)" -gt "$reloads" ] || fail "no reload after the switch"
engine -E devel
assert_summary 0 0

# --- live again: back to the tag's release ------------------------------------------
engine -E live
assert_code 0 "back to live"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"
engine -E live
assert_summary 0 0

# --- requirements that do not resolve: the build fails, live untouched -------------
before=$(readlink "$T/engine/current")
engine -E live --attr cc_engine.revision=unresolvable
assert_code 1 "unresolvable requirements"
assert_err "No matching distribution found for cc-engine-text==9.9"
assert_eq "$(readlink "$T/engine/current")" "$before" "current after a failed build"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"

# --- a release whose health check fails: switched back ------------------------------
engine -E live --attr cc_engine.revision=unhealthy
assert_code 1 "unhealthy release"
assert_err "health check failed"
assert_eq "$(readlink "$T/engine/current")" "$before" "current after a failed health check"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"
engine -E live
assert_code 0 "live after the failures"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"

# --- a bad attribute is refused before anything changes ------------------------------
cat >"$T/bad.json" <<JSON
{"cc_engine": {"deploy_to": "$T/engine\nInclude /etc/shadow"}}
JSON
apply -k "$K" -j "$T/attrs.json" -j "$T/bad.json" -E live recipe:cc_engine
assert_code 2 "bad deploy_to"
assert_err "attribute cc_engine.deploy_to"
answers "cc_engine 1.0 at revision $V1 (cc_engine_text 1.0)"

finish
