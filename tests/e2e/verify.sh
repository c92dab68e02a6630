#!/bin/bash
# verify on file and template (Chef's verify, Ansible's validate): the
# command sees the candidate at %{path} (quoted), a failure leaves the live
# file as it was and fails the resource with the command's output; why-run
# runs the check too; an unchanged file is not checked again.
. "$(dirname "$0")/lib/common.sh"

mkdir -p "$T/dir with space" "$T/templates"
printf 'good\n' >"$T/live"
printf 'key={{ v }}\n' >"$T/templates/k.tmpl"

# A checker that logs what it saw and accepts only content starting "ok".
cat >"$T/check.sh" <<SH2
#!/bin/sh
echo "checked \$1" >>"$T/log"
head -c 2 "\$1" | grep -q '^ok' && exit 0
echo "bad content in \$(basename "\$1"): \$(cat "\$1")"
exit 3
SH2
chmod +x "$T/check.sh"

cat >"$T/good.lua" <<LUA
file "$T/live" { content = "ok 1\n", verify = "$T/check.sh %{path}" }
file "$T/dir with space/x's.conf" { content = "ok 2\n", verify = "$T/check.sh %{path}" }
template "$T/t.conf" { source = "k.tmpl", vars = { v = "ok" }, verify = "grep -q '^key=ok$' %{path}" }
LUA
apply "$T/good.lua"
assert_code 0
assert_summary 3 0
assert_content "$T/live" "ok 1"
assert_content "$T/dir with space/x's.conf" "ok 2"
assert_content "$T/t.conf" "key=ok"
# The candidate is a private copy named like the target, not the live file.
check; grep -q "checked .*/live$" "$T/log" || fail "candidate not named like the target: $(cat "$T/log")"
check; ! grep -q "checked $T/live" "$T/log" || fail "the live path was checked instead of a candidate"
check; grep -q "checked .*/x's.conf$" "$T/log" || fail "quoted path with space and quote not passed whole"
# Candidates are removed after the check.
check; for f in $(sed 's/^checked //' "$T/log"); do [ ! -e "$f" ] || fail "candidate left behind: $f"; done

# Unchanged: no check runs.
: >"$T/log"
apply "$T/good.lua"
assert_summary 0 0
check; [ ! -s "$T/log" ] || fail "verify ran for an unchanged file"

# A failing check: not written, resource fails with the command's output.
cat >"$T/bad.lua" <<LUA
file "$T/live" { content = "broken\n", verify = "$T/check.sh %{path}" }
file "$T/after" { content = "after\n" }
LUA
apply "$T/bad.lua"
assert_code 1
assert_content "$T/live" "ok 1"
assert_no_file "$T/after"
assert_out "verify command"
assert_out "failed (exit 3); the file was not written"
assert_out "bad content in live: broken"

# Why-run runs the check on the candidate and reports the failure; writes nothing.
apply -n "$T/bad.lua"
assert_code 1 "why-run"
assert_out "bad content in live: broken"
assert_content "$T/live" "ok 1"

# Template whose render fails the check.
cat >"$T/badt.lua" <<LUA
template "$T/t.conf" { source = "k.tmpl", vars = { v = "no" }, verify = "grep -q '^key=ok$' %{path}" }
LUA
apply "$T/badt.lua"
assert_code 1
assert_content "$T/t.conf" "key=ok"

# A new file that fails the check is not created.
cat >"$T/new.lua" <<LUA
file "$T/new" { content = "nope\n", verify = "$T/check.sh %{path}" }
LUA
apply "$T/new.lua"
assert_code 1
assert_no_file "$T/new"

# A large source (streamed copy) is checked as well.
head -c 400000 /dev/zero | tr '\0' 'o' >"$T/big"
printf 'k\n' >>"$T/big"
cat >"$T/big.lua" <<LUA
file "$T/bigcopy" { source = "$T/big", verify = "test \$(wc -c <%{path}) -eq 400002" }
LUA
apply "$T/big.lua"
assert_code 0
check; cmp -s "$T/big" "$T/bigcopy" || fail "large source not copied"

# sensitive: the output of the check is not shown.
cat >"$T/sens.lua" <<LUA
file "$T/live" { content = "secret-value\n", sensitive = true, verify = "$T/check.sh %{path}" }
LUA
apply "$T/sens.lua"
assert_code 1
assert_not_out "secret-value"
assert_content "$T/live" "ok 1"

# Why-run when an earlier resource would install the verifier (haproxy
# before its config): the verdict is unknown until that change is made, not
# a failure; the real run installs it first and the check passes.
cat >"$T/later.lua" <<LUA
file "$T/bin/checker" { content = "#!/bin/sh\\ngrep -q ^ok \\"\$1\\"\\n", mode = "0755" }
file "$T/checked" { content = "ok 3\\n", verify = "$T/bin/checker %{path}" }
LUA
mkdir -p "$T/bin"
apply -n "$T/later.lua"
assert_code 0 "why-run with the verifier not there yet"
assert_out "unknown until the changes before it are made"
assert_no_file "$T/bin/checker"
assert_no_file "$T/checked"
apply "$T/later.lua"
assert_code 0 "the real run installs the verifier, then the checked file"
assert_content "$T/checked" "ok 3"

# verify must be a string.
cat >"$T/type.lua" <<LUA
file "$T/live" { content = "x", verify = 3 }
LUA
apply "$T/type.lua"
assert_code 2

finish
