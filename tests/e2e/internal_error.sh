#!/bin/bash
# internal_error: a bug inside ccchef's own code (a Lua error that is not
# an input or converge error) is an internal error: exit 70 with a
# traceback, the run stops there, ignore_failure does not hide it, and the
# notifications pending are saved for the next run. Errors of user code run
# by the same unit (a lazy value) and the world's refusals stay ordinary
# resource failures (exit 1, hidden by ignore_failure). The buggy unit is
# the test-only CCCHEF_TEST_UNIT hook (docs/architecture.md "Errors").
. "$(dirname "$0")/lib/common.sh"

cat >"$T/buggy_unit.lua" <<'LUA'
local errors = require("ccchef.errors")
local M = { name = "buggy", default_action = "run", actions = { "run" },
  properties = { how = { type = "string", default = "bug" }, value = { type = "string" } } }
function M.load(p) return { value = p.value } end
function M.plan(p, cur)
  if p.how == "bug" then
    local missing = nil
    return missing.steps -- the deliberate bug
  elseif p.how == "refused" then
    errors.converge("the world said no")
  end
  return {}
end
function M.apply() end
return M
LUA
export CCCHEF_TEST_UNIT="$T/buggy_unit.lua"
export CCCHEF_MACHINE_LOCK="$T/machine.lock"

cat >"$T/bug.lua" <<LUA
file "$T/a" { content = "a\n", notifies = { "run", "execute[mark]", "delayed" } }
buggy "one" { ignore_failure = true }
file "$T/after" { content = "never\n" }
execute "mark" { command = "echo fired >> $T/marks", action = "nothing" }
LUA

apply "$T/bug.lua"
assert_code 70 "a bug in a unit"
assert_err "internal error"
assert_err "attempt to index a nil value"
assert_err "stack traceback:"
assert_err "buggy_unit.lua:8: in field 'plan'"
assert_out "buggy[one]"
assert_no_file "$T/after"
assert_no_file "$T/marks"
assert_content "$T/a" "a"
# The change to $T/a notified execute[mark]: saved, fired by the next run.
assert_out "execute[mark]"
cat >"$T/good.lua" <<LUA
file "$T/a" { content = "a\n", notifies = { "run", "execute[mark]", "delayed" } }
execute "mark" { command = "echo fired >> $T/marks", action = "nothing" }
LUA
apply "$T/good.lua"
assert_code 0 "the next run"
assert_content "$T/marks" "fired"

# Why-run meets the same bug the same way.
apply -n "$T/bug.lua"
assert_code 70 "why-run"
assert_err "stack traceback:"

# JSON: the resource event says it failed before the exit.
apply --format json "$T/bug.lua"
assert_code 70 "json"
assert_out '"status":"failed"'
assert_err "stack traceback:"

# The user's errors in the same unit stay ordinary failures.
cat >"$T/lazy.lua" <<LUA
buggy "lazy" { how = "fine", value = function() error("user boom") end }
LUA
apply "$T/lazy.lua"
assert_code 1 "a lazy value that raises"
assert_err "user boom"
check; ! printf '%s' "$ERR" | grep -q "stack traceback" || fail "a user error has no traceback"

cat >"$T/lazy_ignored.lua" <<LUA
buggy "lazy" { how = "fine", value = function() error("user boom") end, ignore_failure = true }
buggy "refused" { how = "refused", ignore_failure = true }
file "$T/after2" { content = "ran\n" }
LUA
apply "$T/lazy_ignored.lua"
assert_code 0 "ignore_failure hides the user's and the world's errors"
assert_content "$T/after2" "ran"

cat >"$T/refused.lua" <<LUA
buggy "refused" { how = "refused" }
LUA
apply "$T/refused.lua"
assert_code 1 "a converge error"
assert_err "the world said no"

# Inside a custom resource (a nested run): still ccchef's bug, exit 70,
# though the custom resource has ignore_failure; the user's own error in
# its action stays a resource failure that ignore_failure hides.
K="$T/k"
mkdir -p "$K/cookbooks/site/resources"
cat >"$K/cookbooks/site/resources/wrap.lua" <<'LUA'
return {
  properties = { how = { type = "string", default = "bug" } },
  default_action = "run",
  actions = {
    run = function(r)
      if r.how == "user" then error("the action's own mistake") end
      buggy(r.name) { how = r.how }
    end,
  },
}
LUA
cat >"$K/nested.lua" <<LUA
site_wrap "inner" { ignore_failure = true }
file "$T/after3" { content = "never\n" }
LUA
(cd "$K" && apply nested.lua
assert_code 70 "a bug in a nested run"
assert_err "stack traceback:"
assert_err "buggy_unit.lua:8: in field 'plan'"
assert_no_file "$T/after3"
cat >"$K/nested_user.lua" <<LUA
site_wrap "inner" { how = "user", ignore_failure = true }
file "$T/after4" { content = "ran\n" }
LUA
apply nested_user.lua
assert_code 0 "the action's own error, ignored"
assert_content "$T/after4" "ran"
[ "$FAILS" = 0 ]) || FAILS=$((FAILS + 1))

finish
