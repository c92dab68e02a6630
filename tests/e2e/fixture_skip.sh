#!/bin/bash
# A fresh clone has no ../shared: the parts of a test that need a fixture
# are skipped with the line "skipped: fixture not present" and the test
# exits 77 (meson's SKIP), unless a check failed (then 1: a failure is never
# hidden behind a skip). Checked on common.sh's have_fixture/finish, then on
# the real user of a fixture, e2e-apache, with SHARED pointing nowhere.
. "$(dirname "$0")/lib/common.sh"
LIB="$(cd "$(dirname "$0")/lib" && pwd)/common.sh"

# mini NAME BODY: a test script that sources common.sh, run; sets OUT, ERR, CODE.
mini() {
	printf '. "%s"\n%s\n' "$LIB" "$2" >"$T/$1.sh"
	run_cmd bash "$T/$1.sh"
}

mini absent 'check; have_fixture /nonexistent/ccchef-fixture || finish; fail "went on past a missing fixture"; finish'
assert_code 77 "a missing fixture"
assert_out "skipped: fixture not present (/nonexistent/ccchef-fixture)"
assert_out "all 1 checks passed"

mini failed 'check; fail "an earlier check"; have_fixture /nonexistent/ccchef-fixture || finish; finish'
assert_code 1 "a failure and a missing fixture"

mini present "check; have_fixture \"$T\" || finish; check; finish"
assert_code 0 "a fixture that is there"
assert_not_out "skipped"

if [ "$(id -u)" = 0 ] && command -v apache2ctl >/dev/null; then
	SHARED="$T/no-shared" run_cmd bash "$(dirname "$0")/apache.sh"
	assert_code 77 "e2e-apache without ../shared"
	assert_out "skipped: fixture not present ($T/no-shared/fixtures/creativecommons.org/apache.conf)"
	assert_not_out "FAIL"
else
	echo "apache2 part not run (needs root and apache2)"
fi

finish
