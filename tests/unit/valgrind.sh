#!/bin/bash
# tests/unit/valgrind.sh PROGRAM ARGS...: a unit test under valgrind. Memory
# errors and definite or indirect leaks fail it; so does the test itself.
# For bindings that can raise halfway through C work (archive.pack with a
# bad field): a raise must leave nothing behind.
set -u
if ! command -v valgrind >/dev/null; then
	echo "valgrind is not installed (tools/install-deps test installs it)" >&2
	exit 1
fi
log=$(mktemp /tmp/ccchef-vg-unit.XXXXXX)
trap 'rm -f "$log"' EXIT
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99 --log-file="$log" "$@"
code=$?
if [ "$code" -ne 0 ] || ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
	grep -v "unhandled amd64-linux syscall\|You may be able\|README_MISSING\|Nevertheless we\|valgrind.org/support" "$log" >&2
	echo "FAIL: $* under valgrind (exit $code)" >&2
	exit 1
fi
grep "definitely lost\|indirectly lost\|ERROR SUMMARY" "$log"
echo "valgrind: no errors, no leaks"
