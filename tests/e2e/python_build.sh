#!/bin/bash
# python_build, the build step that gives a deploy's release its own
# virtualenv: the function it returns run as the deploy runs a build step
# (tests/e2e/python_build.lua, real venv and pip, wheels built here, no
# network), and its options checked at the recipe's line.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/python.sh"
: "${TEST_LUA:?TEST_LUA must point at the test_lua runner}"
export PIP_INDEX_URL=http://127.0.0.1:9/simple
make_wheel ccgreet 1.0 "$T/wheels"
mkdir -p "$T/releases/r1" "$T/releases/r2/deploy" "$T/releases/bad"
echo "ccgreet==1.0" >"$T/releases/r1/requirements.txt"
echo "ccgreet" >"$T/releases/r2/deploy/req.txt"
printf 'ccgreet\nnosuchpkg\n' >"$T/releases/bad/requirements.txt"

export T PY
run_cmd "$TEST_LUA" "$(dirname "$0")/python_build.lua"
assert_code 0 "python_build.lua"
check; printf '%s\n' "$OUT" | grep -q "^FAIL" && fail "a python_build test failed"
assert_out "ok   a release gets its own virtualenv"
assert_out "ok   bad options are refused"

# In a recipe: a bad option is an input error naming the recipe's line.
cat >"$T/r.lua" <<LUA
local ok_step = python_build { find_links = "/srv/wheels", no_index = true }
local bad_step = python_build { venv = "../x" }
LUA
apply "$T/r.lua"
assert_code 2 "bad python_build option"
assert_err "r.lua:2: python_build: venv \"../x\" must be a path inside the release"

finish
