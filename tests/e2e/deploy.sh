#!/bin/bash
# deploy from a real git repository made here, served by a private Apache
# (its own config, port and PID file) whose DocumentRoot is the deploy's
# `current`, asked with curl: why-run, first deploy (the release answers its
# revision), second run 0 updated with no fetch, shared/ links that survive
# releases, a new commit switched while a bounded request loop runs (no
# failed request), notifications only when current moved, a failing health
# check switched back, rollback, keep-N pruning, a failing build, bad input.
. "$(dirname "$0")/lib/common.sh"

command -v git >/dev/null || { echo "git is not installed (tools/install-deps test)"; exit 77; }
APACHE2=/usr/sbin/apache2
[ -x "$APACHE2" ] || { echo "apache2 is not installed (tools/install-deps test)"; exit 77; }
command -v curl >/dev/null || { echo "curl is not installed (tools/install-deps test)"; exit 77; }
chmod 755 "$T" # Apache's workers serve the releases from under it

export HOME="$T/home"
mkdir -p "$HOME"
export GIT_AUTHOR_NAME="ccchef test" GIT_AUTHOR_EMAIL="test@ccchef.invalid"
export GIT_COMMITTER_NAME="ccchef test" GIT_COMMITTER_EMAIL="test@ccchef.invalid"

# --- the application: static files; health.txt says "ok" when healthy.
git init -q -b main "$T/src"
commit() { # commit TEXT HEALTH: index.html and health.txt, pushed to app.git
	echo "$1" >"$T/src/index.html"
	echo "$2" >"$T/src/health.txt"
	git -C "$T/src" add -A && git -C "$T/src" commit -qm "$1" && git -C "$T/src" push -q "$T/app.git" main ||
		{ echo "setup failed: commit $1" >&2; exit 1; }
	git -C "$T/src" rev-parse HEAD
}
git init -q --bare -b main "$T/app.git"
mkdir -p "$T/src/config"
echo "default config" >"$T/src/config/local.ini"
C1=$(commit "version one" ok)
short() { printf '%s' "$1" | cut -c1-7; }

# --- a private Apache serving the deploy's current.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
A="$T/apache"
mkdir -p "$A"
M=/usr/lib/apache2/modules
cat >"$A/httpd.conf" <<CONF
ServerRoot "$A"
ServerName localhost
Listen 127.0.0.1:$PORT
PidFile "$A/httpd.pid"
ErrorLog "$A/error.log"
DefaultRuntimeDir "$A"
Mutex file:$A default
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule dir_module $M/mod_dir.so
LoadModule mime_module $M/mod_mime.so
LoadModule alias_module $M/mod_alias.so
TypesConfig /etc/mime.types
$( [ "$(id -u)" = 0 ] && printf 'User www-data\nGroup www-data\n')
# Apache checks a DocumentRoot when it starts; an Alias is looked up at
# each request, through the current link as it is then.
DocumentRoot "$A"
Alias / "$T/app/current/"
<Directory "$T/app">
    Options FollowSymLinks
    Require all granted
</Directory>
DirectoryIndex index.html
CONF
"$APACHE2" -f "$A/httpd.conf" -k start || { echo "setup failed: apache2 did not start" >&2; exit 1; }
for _ in $(seq 100); do [ -s "$A/httpd.pid" ] && break; sleep 0.05; done
track_pid "$(cat "$A/httpd.pid")"
URL="http://127.0.0.1:$PORT"
get() { curl -s --max-time 5 "$URL$1"; }

D="$T/app"
recipe() { # recipe FILE REVISION [PROPS]
	cat >"$T/$1" <<LUA
deploy "$D" {
  repository = "file://$T/app.git",
  revision = "$2",
  shared = { "config/local.ini", "uploads" },
  build = "echo \$REVISION > rev.txt",
  keep_releases = 3,
  notifies = { "run", "execute[moved]" },
  ${3:-}
}
execute "moved" { command = "echo moved >> $T/moved.log", action = "nothing" }
LUA
}
moves() { wc -l <"$T/moved.log" 2>/dev/null || echo 0; }
releases() { ls "$D/releases" 2>/dev/null | wc -l; }
current() { readlink "$D/current"; }

# Why-run on nothing: says what it would do, writes nothing.
recipe main.lua main
apply -n "$T/main.lua"
assert_code 0 "why-run first deploy"
assert_out "would-update"
assert_out "new release $(short "$C1") (branch main) from file://$T/app.git"
assert_out "current (none) -> $(short "$C1")"
assert_no_file "$D"

# First deploy: the release, current, the revision answering.
apply "$T/main.lua"
assert_code 0 "first deploy"
assert_summary 2 0
assert_eq "$(current)" "releases/$C1" "current after the first deploy"
assert_eq "$(get /rev.txt)" "$C1" "the release answers its revision"
assert_eq "$(get /)" "version one" "index"
assert_eq "$(moves)" 1 "notified once"
assert_eq "$(readlink "$D/releases/$C1/uploads")" "$D/shared/uploads" "uploads linked"
assert_content "$D/shared/config/local.ini" "default config"

# Second run: 0 updated, no new release, no notification.
apply "$T/main.lua"
assert_code 0 "second run"
assert_summary 0 0
assert_eq "$(releases)" 1 "one release"
assert_eq "$(moves)" 1 "no notification on the second run"
# At a full commit id already deployed, nothing reads the repository: it
# can even be gone.
recipe sha.lua "$C1"
mv "$T/app.git" "$T/away.git"
apply "$T/sha.lua"
assert_code 0 "commit id, repository away"
assert_summary 0 0
mv "$T/away.git" "$T/app.git"

# shared/ is the application's: what it writes there survives releases.
echo "uploaded" >"$D/current/uploads/u.txt"
echo "site config" >"$D/shared/config/local.ini"

# A new commit, switched while a bounded loop of requests runs: the hook
# at the switch starts the loop and lets the switch happen once half of it
# is done; none of its requests may fail.
C2=$(commit "version two" ok)
N=2000
cat >"$T/hook.sh" <<SH
urls=""
for i in \$(seq $N); do urls="\$urls $URL/rev.txt"; done
curl -sN --max-time 60 -w '\n%{http_code}\n' \$urls >"$T/loop.out" 2>&1 &
echo \$! >"$T/loop.pid"
while n=\$(grep -c '^200\$' "$T/loop.out" 2>/dev/null); [ "\${n:-0}" -lt $((N / 2)) ]; do sleep 0.01; done
SH
CCCHEF_TEST_HOOK=switch CCCHEF_TEST_HOOK_CMD="sh $T/hook.sh" apply "$T/main.lua"
assert_code 0 "deploy of a new commit"
assert_summary 2 0
while kill -0 "$(cat "$T/loop.pid")" 2>/dev/null; do sleep 0.05; done
ok=$(grep -c '^200$' "$T/loop.out")
old=$(grep -c "^$C1\$" "$T/loop.out")
new=$(grep -c "^$C2\$" "$T/loop.out")
echo "request loop during the switch: $N sent, $ok answered 200 ($old old, $new new revision)"
assert_eq "$ok" "$N" "requests answered 200 during the switch"
assert_eq "$((old + new))" "$N" "every answer is a whole revision"
check; [ "$old" -ge $((N / 2)) ] || fail "the loop did not run across the switch ($old old answers)"
assert_eq "$(current)" "releases/$C2" "current after the new commit"
assert_eq "$(get /rev.txt)" "$C2" "answers the new revision"
assert_eq "$(get /uploads/u.txt)" "uploaded" "uploads survive the release"
assert_content "$D/current/config/local.ini" "site config"
assert_eq "$(moves)" 2 "notified when current moved"
assert_eq "$(releases)" 2 "two releases"

# Why-run of a newer commit: says so, changes nothing.
C3=$(commit "version three" sick)
apply -n "$T/main.lua"
assert_code 0 "why-run new commit"
assert_out "new release $(short "$C3")"
assert_out "current $(short "$C2") -> $(short "$C3")"
assert_eq "$(current)" "releases/$C2" "why-run leaves current"
assert_eq "$(releases)" 2 "why-run makes no release"

# A commit whose health check fails: switched back, the old revision
# answers, the resource failed saying so, the bad release is gone.
HC="health_check = { url = \"$URL/health.txt\", body = \"ok\", attempts = 2, delay = 0.1 },"
recipe health.lua main "$HC"
apply "$T/health.lua"
assert_code 1 "failing health check"
assert_err "health check failed after switching to $(short "$C3"): GET $URL/health.txt: status 200, but the body lacks \"ok\" (2 attempts); switched back to $(short "$C2")"
assert_eq "$(current)" "releases/$C2" "switched back"
assert_eq "$(get /rev.txt)" "$C2" "the old revision keeps answering"
assert_no_file "$D/releases/$C3"

# Fixed: the health check passes and the release stays.
C4=$(commit "version four" ok)
apply "$T/health.lua"
assert_code 0 "passing health check"
assert_eq "$(current)" "releases/$C4" "current after a healthy deploy"
apply "$T/health.lua"
assert_summary 0 0

# Rollback: current back to the release before the newest; a second
# rollback has nothing to do; the revision answering is the older one.
recipe rollback.lua main 'action = "rollback",'
apply -n "$T/rollback.lua"
assert_out "current $(short "$C4") -> $(short "$C2") (rollback)"
assert_eq "$(current)" "releases/$C4" "why-run rollback changes nothing"
apply "$T/rollback.lua"
assert_code 0 "rollback"
assert_summary 2 0
assert_eq "$(current)" "releases/$C2" "rolled back"
assert_eq "$(get /rev.txt)" "$C2" "the rolled-back revision answers"
apply "$T/rollback.lua"
assert_code 0 "second rollback"
assert_summary 0 0
# Deploying the branch again moves forward to the release already there.
apply "$T/main.lua"
assert_out "current $(short "$C2") -> $(short "$C4")"
assert_not_out "new release"
assert_eq "$(current)" "releases/$C4" "forward again"

# keep_releases: the oldest go once there are more (never current).
C5=$(commit "version five" ok)
apply "$T/main.lua"
assert_code 0 "fourth release"
assert_out "remove old releases: $(short "$C1")"
assert_eq "$(releases)" 3 "three kept"
assert_no_file "$D/releases/$C1"
assert_eq "$(get /uploads/u.txt)" "uploaded" "uploads still there"

# A failing build: no release, current untouched, the build's message.
C6=$(commit "version six" ok)
recipe badbuild.lua main 'build = "echo compiling; exit 3",'
apply "$T/badbuild.lua"
assert_code 1 "failing build"
assert_err "build: \`echo compiling; exit 3\` exited 3: compiling"
assert_no_file "$D/releases/$C6"
assert_eq "$(current)" "releases/$C5" "current untouched by a failed build"
assert_eq "$(get /rev.txt)" "$C5" "still answering"
# A Lua build function gets the release and ctx.run.
cat >"$T/fnbuild.lua" <<LUA
deploy "$D" {
  repository = "file://$T/app.git", revision = "main", shared = { "config/local.ini", "uploads" },
  build = function(release, ctx)
    ctx.run({ "sh", "-c", "echo \"\$1\" > rev.txt", "-", ctx.revision })
    ctx.run({ "cp", "config/local.ini", "built-with.txt" })
    if release ~= ctx.release or ctx.previous ~= "$D/releases/$C5" then error("wrong ctx") end
  end,
}
LUA
apply "$T/fnbuild.lua"
assert_code 0 "Lua build function"
assert_eq "$(get /rev.txt)" "$C6" "built by the function"
assert_eq "$(get /built-with.txt)" "site config" "the build sees the shared config"
C7=$(commit "version seven" ok)
cat >"$T/fnfail.lua" <<LUA
deploy "$D" {
  repository = "file://$T/app.git", revision = "$C7",
  build = function(release, ctx) ctx.run({ "false" }) end,
}
LUA
apply "$T/fnfail.lua"
assert_code 1 "failing Lua build"
assert_err "build: \`false\` exited 1"
assert_eq "$(current)" "releases/$C6" "current untouched by a failed Lua build"
assert_no_file "$D/releases/$C7"

# A run killed in the middle of a build (kill -9 from the build itself):
# the release is recorded as unfinished, current has not moved, and the
# next run removes what was left and builds it again.
cat >"$T/killed.lua" <<LUA
deploy "$D" {
  repository = "file://$T/app.git", revision = "$C7",
  build = "echo half > half.txt; [ -e $T/killed ] || { touch $T/killed; kill -9 \$PPID; sleep 5; }; echo \$REVISION > rev.txt",
}
LUA
apply "$T/killed.lua"
assert_eq "$CODE" 137 "killed by its build"
assert_eq "$(current)" "releases/$C6" "a killed build leaves current"
assert_content "$D/releases/$C7/half.txt" "half"
check; grep -q "^$C7	building	" "$D/.ccchef-releases" || fail "the killed release is not recorded as building"
apply "$T/killed.lua"
assert_code 0 "the run after the kill"
assert_out "remove the unfinished release $(short "$C7"), new release $(short "$C7")"
assert_eq "$(get /rev.txt)" "$C7" "rebuilt and live"
check; grep -q "^$C7	ok	" "$D/.ccchef-releases" || fail "the rebuilt release is not recorded as ok"
C6=$C7 # what is live now, for the checks below

# Bad input found when the repository is read: clear errors, live release untouched.
recipe unknown.lua nope
apply "$T/unknown.lua"
assert_code 1 "unknown revision"
assert_err "revision 'nope' not found in repository file://$T/app.git"
recipe unknownsha.lua 0123456789012345678901234567890123456789
apply "$T/unknownsha.lua"
assert_code 1 "unknown commit id"
assert_err "revision '0123456789012345678901234567890123456789' (0123456) could not be fetched"
sed "s|file://$T/app.git|file://$T/missing.git|" "$T/main.lua" >"$T/missing.lua"
apply "$T/missing.lua"
assert_code 1 "missing repository"
assert_err "cannot read repository file://$T/missing.git"
assert_eq "$(current)" "releases/$C6" "bad input leaves current"
assert_eq "$(get /rev.txt)" "$C6" "bad input: still answering"

# user: the checkout and the build run as that user, who owns the release,
# the cache and what shared/ seeds; ccchef (root) keeps current and the
# layout's top directories.
if [ "$(id -u)" = 0 ]; then
	U="$T/app-user"
	# git refuses a repository someone else owns, also over file://: the
	# user reads its own copy (a real one is reached over https or ssh).
	cp -a "$T/app.git" "$T/user.git" && chown -R nobody "$T/user.git"
	cat >"$T/user.lua" <<LUA
deploy "$U" {
  repository = "file://$T/user.git", revision = "main", user = "nobody",
  shared = { "uploads", "config/local.ini" },
  build = "id -un > whoami.txt; touch uploads/by-build",
}
LUA
	apply "$T/user.lua"
	assert_code 0 "deploy as nobody"
	R="$U/releases/$(git -C "$T/src" rev-parse HEAD)"
	assert_content "$R/whoami.txt" "nobody"
	assert_eq "$(stat -c %U "$R" "$R/index.html" "$U/repo" "$U/shared/uploads" "$U/shared/uploads/by-build" \
		"$U/shared/config/local.ini" | sort -u)" "nobody" "owned by the deploy's user"
	assert_eq "$(stat -c %U "$U" "$U/releases" "$U/.ccchef-releases" | sort -u)" "root" "the layout stays root's"
	apply "$T/user.lua"
	assert_summary 0 0
	# Without the user again: the cache is handed back, the deploy goes on.
	commit "version eight" ok >/dev/null
	sed -i 's/ user = "nobody",//; s/user.git/app.git/' "$T/user.lua"
	apply "$T/user.lua"
	assert_code 0 "deploy as root after nobody"
	assert_eq "$(stat -c %U "$U/repo")" "root" "cache handed back"
	assert_content "$U/current/whoami.txt" "root"
	printf 'deploy "%s" { repository = "file://%s/app.git", user = "no-such-user-here" }\n' "$U" "$T" >"$T/nouser.lua"
	apply "$T/nouser.lua"
	assert_code 1 "missing user"
	assert_err "owner 'no-such-user-here' does not exist"
fi

# Bad input found at compile time: exit 2, nothing run.
bad() { # bad NAME PROPS MESSAGE
	printf 'deploy "%s" { repository = "file://%s/app.git", %s }\n' "$D" "$T" "$2" >"$T/bad.lua"
	apply "$T/bad.lua"
	assert_code 2 "$1"
	assert_err "$3"
}
bad "shared path with .." 'shared = { "../etc" }' "shared path \"../etc\" must not contain '.' or '..' components"
bad "absolute shared path" 'shared = { "/etc" }' "shared path \"/etc\" must be a relative path"
bad "https health check" 'health_check = { url = "https://127.0.0.1/" }' "only http:// URLs (https is not supported)"
bad "unknown health field" 'health_check = { url = "http://127.0.0.1/", staus = 200 }' "health_check: unknown field 'staus'"
bad "keep 0" 'keep_releases = 0' "keep_releases must be at least 1"
bad "revision option" 'revision = "--upload-pack=x"' "must not start with '-'"
bad "relative repository" 'repository = "app.git"' "is relative"
bad "svn revision" 'scm = "svn", repository = "file:///x", revision = "main"' "an svn revision is a number or HEAD"
bad "build type" 'build = 42' "expected a shell command (string) or a function"
assert_eq "$(current)" "releases/$C6" "compile errors leave current"

finish
