#!/bin/bash
# svn_repo against a real repository made here with `svnadmin create`
# (file:// URL), with svn:externals from a second one: why-run of a
# checkout, checkout at a revision, second run 0 updated, why-run of an
# update, update to a revision and to HEAD (externals brought by svn),
# export, bad input (unknown revision, missing repository, compile-time
# errors, a directory that is not a working copy). Then deploy with
# scm = "svn": releases r<N>, current, second run 0 updated with no svn.
. "$(dirname "$0")/lib/common.sh"

command -v svn >/dev/null && command -v svnadmin >/dev/null ||
	{ echo "subversion is not installed (tools/install-deps test)"; exit 77; }
export HOME="$T/home"
mkdir -p "$HOME"

s() { svn --non-interactive -q "$@" >/dev/null 2>&1 || { echo "setup failed: svn $*" >&2; exit 1; }; }
svnadmin create "$T/repo" && svnadmin create "$T/librepo" || { echo "setup failed: svnadmin" >&2; exit 1; }
R="file://$T/repo"
s checkout "file://$T/librepo" "$T/libwc"
echo "lib" >"$T/libwc/lib.txt"
s add "$T/libwc/lib.txt"
s commit -m lib "$T/libwc"
s checkout "$R" "$T/wc"
for i in 1 2; do
	echo "version $i" >"$T/wc/index.html"
	[ "$i" = 1 ] && s add "$T/wc/index.html"
	s commit -m "v$i" "$T/wc"
done
echo "version 3" >"$T/wc/index.html"
s update "$T/wc"
s propset svn:externals "lib file://$T/librepo" "$T/wc"
s commit -m "v3 with lib as an external" "$T/wc"

wc_rev() { svn info --show-item revision "$1" 2>/dev/null; }
recipe() { # recipe FILE DEST REVISION [ACTION]
	printf 'svn_repo "%s" { repository = "%s", revision = %s%s }\n' "$2" "$R" "$3" \
		"${4:+, action = \"$4\"}" >"$T/$1"
}
CO="$T/co/site"
mkdir -p "$T/co"

recipe r1.lua "$CO" 1
apply -n "$T/r1.lua"
assert_code 0 "why-run checkout"
assert_out "would-update"
assert_out "checkout $R at r1"
assert_no_file "$CO"

apply "$T/r1.lua"
assert_code 0 "checkout r1"
assert_summary 1 0
assert_eq "$(wc_rev "$CO")" 1 "working copy at r1"
assert_content "$CO/index.html" "version 1"
apply "$T/r1.lua"
assert_code 0 "second run"
assert_summary 0 0

recipe r2.lua "$CO" '"2"'
apply -n "$T/r2.lua"
assert_code 0 "why-run update"
assert_out "update r1 -> r2"
assert_eq "$(wc_rev "$CO")" 1 "why-run leaves r1"
apply "$T/r2.lua"
assert_code 0 "update to r2"
assert_summary 1 0
assert_content "$CO/index.html" "version 2"
apply "$T/r2.lua"
assert_summary 0 0

recipe head.lua "$CO" '"HEAD"'
apply "$T/head.lua"
assert_code 0 "update to HEAD"
assert_out "update r2 -> r3"
assert_content "$CO/index.html" "version 3"
assert_content "$CO/lib/lib.txt" "lib"
apply "$T/head.lua"
assert_code 0 "HEAD second run"
assert_summary 0 0

# Export: a clean tree, made once.
EX="$T/co/export"
recipe export.lua "$EX" 2 export
apply -n "$T/export.lua"
assert_out "export $R at r2"
assert_no_file "$EX"
apply "$T/export.lua"
assert_code 0 "export"
assert_content "$EX/index.html" "version 2"
assert_no_file "$EX/.svn"
apply "$T/export.lua"
assert_summary 0 0

# Bad input: clear errors, nothing changed.
recipe r99.lua "$CO" 99
apply "$T/r99.lua"
assert_code 1 "unknown revision"
assert_err "revision 99 not found in repository $R"
assert_eq "$(wc_rev "$CO")" 3 "unknown revision leaves the working copy"
printf 'svn_repo "%s" { repository = "file://%s/missing", revision = 1 }\n' "$T/co/other" "$T" >"$T/missing.lua"
apply "$T/missing.lua"
assert_code 1 "missing repository"
assert_err "cannot read repository file://$T/missing"
assert_no_file "$T/co/other"
mkdir -p "$T/co/plain" && echo x >"$T/co/plain/x"
recipe plain.lua "$T/co/plain" 1
apply "$T/plain.lua"
assert_code 1 "not a working copy"
assert_err "$T/co/plain exists and is not an svn working copy"
recipe badrev.lua "$CO" '"trunk"'
apply "$T/badrev.lua"
assert_code 2 "revision not a number"
assert_err "revision \"trunk\": an svn revision is a number or HEAD"
printf 'svn_repo "%s" { repository = "repo" }\n' "$CO" >"$T/badurl.lua"
apply "$T/badurl.lua"
assert_code 2 "repository not a URL"
assert_err "repository \"repo\" is not a URL"

# deploy with scm = "svn": each revision an export in releases/r<N>.
D="$T/app"
dep() { # dep FILE REVISION
	printf 'deploy "%s" { scm = "svn", repository = "%s", revision = %s, build = "echo $REVISION > rev.txt" }\n' \
		"$D" "$R" "$2" >"$T/$1"
}
dep d2.lua 2
apply "$T/d2.lua"
assert_code 0 "svn deploy r2"
assert_out "new release r2 (revision 2)"
assert_eq "$(readlink "$D/current")" "releases/r2" "current at r2"
assert_content "$D/current/index.html" "version 2"
assert_content "$D/current/rev.txt" "2"
assert_no_file "$D/current/.svn"
# A numeric revision already deployed reads nothing: the repository may be away.
mv "$T/repo" "$T/repo.away"
apply "$T/d2.lua"
assert_code 0 "svn deploy second run"
assert_summary 0 0
mv "$T/repo.away" "$T/repo"
dep dhead.lua '"HEAD"'
apply "$T/dhead.lua"
assert_code 0 "svn deploy HEAD"
assert_out "current r2 -> r3"
assert_content "$D/current/lib/lib.txt" "lib"
apply "$T/dhead.lua"
assert_summary 0 0
dep d99.lua 99
apply "$T/d99.lua"
assert_code 1 "svn deploy of an unknown revision"
assert_err "No such revision 99"
assert_eq "$(readlink "$D/current")" "releases/r3" "unknown revision leaves current"
assert_no_file "$D/releases/r99"

finish
