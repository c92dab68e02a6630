#!/bin/bash
# git_repo against real local repositories made here (branches, an annotated
# tag, a submodule): clone, second run 0 updated, why-run changes nothing,
# upstream commit -> sync moves (submodule too), branch -> tag -> commit id,
# a commit id already checked out needs no access to the repository,
# depth = 1, action checkout does not move, local modifications refused
# then discarded with force = true, bad revisions, ownership by a user,
# delete.
. "$(dirname "$0")/lib/common.sh"

command -v git >/dev/null || { echo "git is not installed (tools/install-deps test)" >&2; exit 77; }

export HOME="$T/home"
mkdir -p "$HOME"
export GIT_AUTHOR_NAME="ccchef test" GIT_AUTHOR_EMAIL="test@ccchef.invalid"
export GIT_COMMITTER_NAME="ccchef test" GIT_COMMITTER_EMAIL="test@ccchef.invalid"
# git >= 2.38.1 refuses file:// submodules unless told; real deployments use
# https or ssh. GIT_CONFIG_* reach every git ccchef starts (and their children).
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=protocol.file.allow GIT_CONFIG_VALUE_0=always

g() { git -C "$@" >/dev/null 2>&1 || { echo "setup failed: git -C $*" >&2; exit 1; }; }
head_of() { git -C "$1" rev-parse HEAD 2>/dev/null; }
short() { printf '%s' "$1" | cut -c1-7; }

# lib.git: the submodule. app.git: main (2 commits), tag v1 (annotated), dev.
mkdir -p "$T/src"
git init -q -b main "$T/src/lib"
echo "lib one" >"$T/src/lib/lib.txt"
g "$T/src/lib" add lib.txt
g "$T/src/lib" commit -qm "lib one"
git clone -q --bare "$T/src/lib" "$T/lib.git"
g "$T/src/lib" remote add origin "file://$T/lib.git"

git init -q -b main "$T/src/app"
echo "readme one" >"$T/src/app/README"
g "$T/src/app" add README
g "$T/src/app" commit -qm one
g "$T/src/app" tag -a v1 -m "version 1"
g "$T/src/app" submodule add -q "file://$T/lib.git" lib
echo "readme two" >"$T/src/app/README"
g "$T/src/app" commit -qam two
g "$T/src/app" checkout -qb dev
echo dev >"$T/src/app/dev.txt"
g "$T/src/app" add dev.txt
g "$T/src/app" commit -qm dev
g "$T/src/app" checkout -q main
git init -q --bare -b main "$T/app.git"
g "$T/src/app" push -q "file://$T/app.git" main dev v1
R="file://$T/app.git"
MAIN1=$(git -C "$T/src/app" rev-parse main)
DEV=$(git -C "$T/src/app" rev-parse dev)
V1=$(git -C "$T/src/app" rev-parse 'v1^{commit}')

recipe() { # recipe FILE DEST PROPS...
	f=$1 d=$2
	shift 2
	printf 'git_repo "%s" { repository = "%s", %s }\n' "$d" "$R" "$*" >"$T/$f"
}

D="$T/co/app"
mkdir -p "$T/co"
recipe sync.lua "$D" 'revision = "main", enable_submodules = true'

# Why-run on a missing checkout: says it would clone, creates nothing.
apply -n "$T/sync.lua"
assert_code 0 "why-run clone"
assert_out "would-update"
assert_out "clone $R at main ($(short "$MAIN1"))"
assert_no_file "$D"

apply "$T/sync.lua"
assert_code 0 "clone"
assert_summary 1 0
assert_eq "$(head_of "$D")" "$MAIN1" "cloned HEAD"
assert_eq "$(git -C "$D" symbolic-ref -q HEAD)" "refs/heads/main" "on branch main"
assert_eq "$(git -C "$D" config branch.main.remote)" "origin" "main tracks origin"
assert_content "$D/lib/lib.txt" "lib one"

apply "$T/sync.lua"
assert_code 0 "second run"
assert_summary 0 0

# Upstream moves (and bumps the submodule): why-run reports, sync moves.
echo "lib two" >"$T/src/lib/lib.txt"
g "$T/src/lib" commit -qam "lib two"
g "$T/src/lib" push -q origin main
g "$T/src/app/lib" pull -q origin main
echo "readme three" >"$T/src/app/README"
g "$T/src/app" commit -qam three
g "$T/src/app" push -q "$R" main
MAIN2=$(git -C "$T/src/app" rev-parse main)
apply -n "$T/sync.lua"
assert_code 0 "why-run move"
assert_out "move $(short "$MAIN1") -> $(short "$MAIN2") (branch main)"
assert_eq "$(head_of "$D")" "$MAIN1" "why-run did not move"
assert_content "$D/README" "readme two"
apply "$T/sync.lua"
assert_summary 1 0
assert_eq "$(head_of "$D")" "$MAIN2" "synced HEAD"
assert_content "$D/README" "readme three"
assert_content "$D/lib/lib.txt" "lib two"
apply "$T/sync.lua"
assert_summary 0 0

# Branch -> annotated tag -> commit id.
recipe tag.lua "$D" 'revision = "v1"'
apply "$T/tag.lua"
assert_code 0 "to tag"
assert_out "(tag v1)"
assert_eq "$(head_of "$D")" "$V1" "at the tag's commit"
check; ! git -C "$D" symbolic-ref -q HEAD >/dev/null || fail "a tag checkout should be detached"
apply "$T/tag.lua"
assert_summary 0 0
recipe sha.lua "$D" "revision = \"$DEV\""
apply "$T/sha.lua"
assert_code 0 "to commit"
assert_out "move $(short "$V1") -> $(short "$DEV") (commit $DEV)"
assert_eq "$(head_of "$D")" "$DEV" "at the commit"
# Checked out at a full commit id: no look-up, so the repository may be gone.
mv "$T/app.git" "$T/app.git.away"
apply "$T/sha.lua"
assert_code 0 "commit id, repository away"
assert_summary 0 0
apply "$T/tag.lua"
assert_code 1 "tag, repository away"
assert_out "cannot read repository $R"
mv "$T/app.git.away" "$T/app.git"

# Local modifications stop a move; force = true discards them.
recipe sync2.lua "$D" 'revision = "main"'
echo "hand edit" >"$D/README"
apply "$T/sync2.lua"
assert_code 1 "modified checkout"
assert_out "has local modifications (README)"
assert_out "set force = true"
assert_eq "$(head_of "$D")" "$DEV" "refused move left HEAD"
assert_content "$D/README" "hand edit"
recipe force.lua "$D" 'revision = "main", force = true'
apply -n "$T/force.lua"
assert_out "discard local modifications (1 file)"
assert_content "$D/README" "hand edit"
apply "$T/force.lua"
assert_code 0 "force"
assert_eq "$(head_of "$D")" "$MAIN2" "forced move"
assert_content "$D/README" "readme three"
apply "$T/force.lua"
assert_summary 0 0

# action checkout: clones when missing, never moves an existing checkout.
echo "readme four" >"$T/src/app/README"
g "$T/src/app" commit -qam four
g "$T/src/app" push -q "$R" main
recipe co.lua "$D" 'revision = "main", action = "checkout"'
apply "$T/co.lua"
assert_summary 0 0
assert_eq "$(head_of "$D")" "$MAIN2" "checkout did not move"

# depth = 1
S="$T/co/shallow"
recipe shallow.lua "$S" 'revision = "dev", depth = 1'
apply "$T/shallow.lua"
assert_code 0 "shallow clone"
assert_eq "$(head_of "$S")" "$DEV" "shallow HEAD"
assert_eq "$(git -C "$S" rev-list --count HEAD)" "1" "history depth"
assert_file "$S/.git/shallow"
apply "$T/shallow.lua"
assert_summary 0 0

# Revisions that do not exist: converge errors naming revision and repository.
recipe nobranch.lua "$T/co/x" 'revision = "no-such-branch"'
apply "$T/nobranch.lua"
assert_code 1 "unknown branch"
assert_out "nobranch.lua:1"
assert_out "revision 'no-such-branch' not found in repository $R"
assert_no_file "$T/co/x"
recipe nosha.lua "$D" 'revision = "1111111111111111111111111111111111111111"'
apply "$T/nosha.lua"
assert_code 1 "unknown commit"
assert_out "revision '1111111111111111111111111111111111111111' (1111111) could not be fetched from repository $R"
assert_eq "$(head_of "$D")" "$MAIN2" "failed fetch left HEAD"
# Malformed input: compile-time errors (exit 2).
recipe badrev.lua "$T/co/y" 'revision = "a b"'
apply "$T/badrev.lua"
assert_code 2 "malformed revision"
assert_err "badrev.lua:1: git_repo[$T/co/y]: revision \"a b\": must not contain spaces"
printf 'git_repo "%s" { repository = "%s", depth = 1 }\n' "$T/co/z" "$T/app.git" >"$T/baddepth.lua"
apply "$T/baddepth.lua"
assert_code 2 "depth with a local path"
assert_err "depth needs a URL"

# Ownership: the checkout belongs to (and git runs as) a user.
if [ "$(id -u)" = 0 ]; then
	U="ccct_git$$"
	EXTRA_CLEANUP='userdel "$U" 2>/dev/null; groupdel "$U" 2>/dev/null'
	chmod 0755 "$T" # the user must read the repositories
	# git's upload-pack refuses a repository owned by someone else (and
	# GIT_CONFIG_* does not reach it), so the repositories become the user's,
	# like a mirror kept by a deploy user.
	useradd -M "$U"
	chown -R "$U" "$T/app.git" "$T/lib.git"
	O="$T/co/owned"
	cat >"$T/owned.lua" <<LUA
git_repo "$O" { repository = "$R", revision = "main", user = "$U", enable_submodules = true }
LUA
	apply "$T/owned.lua"
	assert_code 0 "owned clone"
	assert_summary 1 0
	assert_eq "$(stat -c %U "$O")" "$U" "checkout owner"
	assert_eq "$(stat -c %U "$O/README")" "$U" "file owner"
	assert_eq "$(stat -c %U "$O/lib/lib.txt")" "$U" "submodule file owner"
	check; [ -z "$(find "$O" ! -user "$U" | head -1)" ] || fail "files not owned by $U: $(find "$O" ! -user "$U" | head -3)"
	apply "$T/owned.lua"
	assert_summary 0 0
	chown -R root:root "$O"
	apply "$T/owned.lua"
	assert_summary 1 0
	assert_out "(chown -R)"
	check; [ -z "$(find "$O" ! -user "$U" | head -1)" ] || fail "chown -R left files"
	apply "$T/owned.lua"
	assert_summary 0 0
	# Without `user`, git works in the user's checkout as its owner (git
	# would refuse root there: "dubious ownership"), and moves it.
	echo "readme five" >"$T/src/app/README"
	g "$T/src/app" commit -qam five
	chown -R root "$T/app.git" # root pushes, then it is the user's again
	g "$T/src/app" push -q "$R" main
	chown -R "$U" "$T/app.git"
	cat >"$T/owned2.lua" <<LUA
git_repo "$O" { repository = "$R", revision = "main", enable_submodules = true }
LUA
	apply "$T/owned2.lua"
	assert_code 0 "no user, owned checkout"
	assert_summary 1 0
	assert_content "$O/README" "readme five"
	check; [ -z "$(find "$O" ! -user "$U" | head -1)" ] || fail "files not owned by $U after a run without user"
	apply "$T/owned2.lua"
	assert_summary 0 0
else
	echo "not root: ownership checks skipped" >&2
fi

# delete: refused while there are local modifications, then forced.
recipe del.lua "$S" 'action = "delete"'
echo "hand edit" >"$S/dev.txt"
apply "$T/del.lua"
assert_code 1 "delete modified"
assert_out "has local modifications (dev.txt); set force = true to delete it anyway"
assert_file "$S/dev.txt"
recipe del.lua "$S" 'action = "delete", force = true'
apply "$T/del.lua"
assert_code 0 "delete"
assert_no_file "$S"
apply "$T/del.lua"
assert_summary 0 0

finish
