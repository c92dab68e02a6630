#!/bin/bash
# deploy through `ccchef remote` (DESIGN.md 4, "Remote is apply"): the same
# kitchen converged with `apply` here and with `remote` through a loopback
# sshd (tests/e2e/lib/parity.sh) gives the same releases, current, shared
# links, history file, events and exit codes: first deploy with a Lua build
# function, second run 0 updated, a new commit, rollback, why-run, and an
# unknown revision (same failure, current untouched on both).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/parity.sh"

command -v git >/dev/null || { echo "git is not installed (tools/install-deps test)"; exit 77; }
export GIT_AUTHOR_NAME="ccchef test" GIT_AUTHOR_EMAIL="test@ccchef.invalid"
export GIT_COMMITTER_NAME="ccchef test" GIT_COMMITTER_EMAIL="test@ccchef.invalid"

git init -q -b main "$T/src"
git init -q --bare -b main "$T/app.git"
commit() {
	echo "$1" >"$T/src/index.html"
	git -C "$T/src" add -A && git -C "$T/src" commit -qm "$1" && git -C "$T/src" push -q "$T/app.git" main ||
		{ echo "setup failed: commit $1" >&2; exit 1; }
	git -C "$T/src" rev-parse HEAD
}
C1=$(commit "version one")

parity_setup
mkdir -p "$K/cookbooks/app/recipes"
cat >"$K/cookbooks/app/recipes/default.lua" <<LUA
deploy(node.root .. "/app") {
  repository = "file://$T/app.git",
  revision = node.rev or "main",
  shared = { "uploads" },
  keep_releases = 2,
  action = node.deploy_action or "deploy",
  build = function(release, ctx)
    ctx.run({ "sh", "-c", "echo \"\$1\" > rev.txt", "-", ctx.revision })
  end,
  notifies = { "run", "execute[moved]" },
}
execute "moved" { command = "echo moved >> " .. node.root .. "/moved.log", action = "nothing" }
LUA
cd "$K" || exit 1
short() { printf '%s' "$1" | cut -c1-7; }

parity first recipe:app
assert_eq "$LCODE" 0 "first deploy"
parity_updated 2
assert_eq "$(readlink "$RROOT/app/current")" "releases/$C1" "remote current"
assert_content "$RROOT/app/current/rev.txt" "$C1"
assert_content "$RROOT/moved.log" "moved"

parity second recipe:app
assert_eq "$LCODE" 0 "second run"
parity_updated 0

C2=$(commit "version two")
parity whyrun -n recipe:app
assert_eq "$LCODE" 0 "why-run"
assert_out "current $(short "$C1") -> $(short "$C2")"
assert_eq "$(readlink "$RROOT/app/current")" "releases/$C1" "why-run leaves current"

parity new recipe:app
assert_eq "$LCODE" 0 "new commit"
parity_updated 2
assert_content "$RROOT/app/current/rev.txt" "$C2"

parity rollback --attr deploy_action=rollback recipe:app
assert_eq "$LCODE" 0 "rollback"
parity_updated 2
assert_eq "$(readlink "$RROOT/app/current")" "releases/$C1" "remote rolled back"
parity rollback2 --attr deploy_action=rollback recipe:app
parity_updated 0

parity unknown --attr rev=nope recipe:app
assert_eq "$LCODE" 1 "unknown revision"
assert_out "revision 'nope' not found in repository file://$T/app.git"
assert_eq "$(readlink "$RROOT/app/current")" "releases/$C1" "unknown revision leaves current"

finish
