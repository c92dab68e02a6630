#!/bin/bash
# Output guarantees: --format json is one valid JSON object per line with the
# documented events and fields; exit codes, plain and --detailed-exitcodes;
# --version and help; no colour codes unless stdout is a terminal (or
# --color); sensitive values never appear, in either format, under why-run
# or on failure.
. "$(dirname "$0")/lib/common.sh"


# events: validate $T/.out as JSON lines (every line one object with an
# "event") and print one flat line per event, fields sorted, for grepping:
#   resource action=create diff=yes duration=ok name=/x status=updated type=file
# A duration is "ok" when it is a number >= 0; a diff is "yes" when present;
# a "error" table in run_end is flattened as error.FIELD.
cat >"$T/events.py" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")  # JSON text must be UTF-8: this raises if not
lines = text.split("\n")
if lines[-1] != "":
    sys.exit("output does not end with a newline")
for n, line in enumerate(lines[:-1], 1):
    try:
        ev = json.loads(line)
    except ValueError as e:
        sys.exit("line %d is not JSON (%s): %r" % (n, e, line))
    if not isinstance(ev, dict) or "event" not in ev:
        sys.exit("line %d is not an event object: %r" % (n, line))
    fields = []
    for k in sorted(ev):
        v = ev[k]
        if k == "event":
            continue
        if k == "duration":
            v = "ok" if isinstance(v, (int, float)) and v >= 0 else "BAD:%r" % (v,)
        elif k == "diff":
            v = "yes"
        elif k == "error" and isinstance(v, dict):
            for ek in sorted(v):
                fields.append("error.%s=%s" % (ek, v[ek]))
            continue
        elif isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, dict)):
            v = json.dumps(v, sort_keys=True)
        elif isinstance(v, str):
            v = v.replace("\\", "\\\\").replace("\n", "\\n")
        fields.append("%s=%s" % (k, v))
    print(ev["event"], " ".join(fields))
PY
events() {
	check
	EV=$(python3 "$T/events.py" "$T/.out") || fail "json output is not valid JSON lines"
}
# ev_has WORDS...: some event line has every one of the words.
ev_has() {
	check
	local lines
	lines=$(printf '%s\n' "$EV")
	for w in "$@"; do lines=$(printf '%s\n' "$lines" | grep -F -- "$w"); done
	[ -n "$lines" ] || fail "no event with: $*
$EV"
}
ev_count() { printf '%s\n' "$EV" | grep -c "^$1 "; }

# json_field NAME FIELD: that field of the events about NAME, printed raw.
json_field() {
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("name") == sys.argv[2] and sys.argv[3] in e: print(e[sys.argv[3]])' "$T/.out" "$1" "$2"
}

mkdir -p "$T/templates" "$T/www"
printf 'port {{ port }}\n' >"$T/templates/site.tmpl"
cat >"$T/r.lua" <<LUA
directory "$T/www/conf" { mode = "0750" }
file "$T/www/index.html" { content = "hello\n", action = { "create", "create_if_missing" } }
template "$T/www/conf/site.conf" {
  source = "site.tmpl", vars = { port = 8080 },
  notifies = { "run", "execute[reload]" },
}
execute "reload" { command = "echo reloaded >> $T/www/reloads", action = "nothing" }
execute "guarded" { command = "touch $T/www/never", only_if = "test -e $T/www/nothing-here" }
link "$T/www/current" { to = "$T/www/conf" }
LUA

# First run, JSON: run_start, one event per resource action, run_end.
apply --format json "$T/r.lua"
assert_code 0 "json first run"
events
check; [ "$(printf '%s\n' "$EV" | head -1 | cut -d' ' -f1)" = run_start ] || fail "first event is not run_start"
check; [ "$(printf '%s\n' "$EV" | tail -1 | cut -d' ' -f1)" = run_end ] || fail "last event is not run_end"
ev_has run_start "node=$(hostname)" "resources=6" "why_run=false" "run_list="
ev_has resource "type=directory" "name=$T/www/conf" "action=create" "status=updated" "duration=ok"
ev_has resource "type=file" "name=$T/www/index.html" "action=create " "status=updated" "duration=ok"
ev_has resource "type=file" "name=$T/www/index.html" "action=create_if_missing" "status=up-to-date"
ev_has resource "type=template" "name=$T/www/conf/site.conf" "status=updated" 'notifications=[{"action": "run", "resource": "execute[reload]", "timing": "delayed"}]'
ev_has resource "type=execute" "name=guarded" "action=run" "status=skipped" "reason=only_if"
ev_has resource "type=link" "name=$T/www/current" "status=updated"
ev_has resource "type=execute" "name=reload" "action=run" "status=updated" "via=template[$T/www/conf/site.conf] (delayed)"
# 6 resources, 7 actions (index.html has two), 1 notification: 8 events
check; [ "$(ev_count resource)" = 8 ] || fail "want 8 resource events, got $(ev_count resource)"
ev_has run_end "resources=6" "updated=5" "failed=0" "skipped=1" "success=true" "why_run=false" "duration=ok"
assert_content "$T/www/reloads" "reloaded"

# Second run: everything up to date, nothing notified.
apply --format json "$T/r.lua"
events
ev_has run_end "updated=0" "failed=0"
check; [ "$(printf '%s\n' "$EV" | grep -c 'status=updated')" = 0 ] || fail "second run updated something"

# Why-run after drift: would-update with a diff, the notification that would
# fire, run_end says why_run, nothing written.
printf 'port 9999\n' >"$T/www/conf/site.conf"
apply -n --format json "$T/r.lua"
assert_code 0 "json why-run"
events
ev_has run_start "why_run=true"
ev_has resource "type=template" "status=would-update" "diff=yes" "changes=[\"content\"]" "notifications="
ev_has resource "name=reload" "status=would-update"
ev_has run_end "why_run=true" "updated=2"
D=$(json_field "$T/www/conf/site.conf" diff)
check; printf '%s\n' "$D" | grep -qx -- '-port 9999' || fail "diff lacks -port 9999"
check; printf '%s\n' "$D" | grep -qx -- '+port 8080' || fail "diff lacks +port 8080"
assert_content "$T/www/conf/site.conf" "port 9999"
assert_content "$T/www/reloads" "reloaded"

# Content that is not UTF-8 still gives valid JSON lines (U+FFFD for bad bytes).
printf 'caf\xe9\n' >"$T/latin1"
cat >"$T/latin1.lua" <<LUA
file "$T/latin1" { content = "caf\u{e9}\n" }
LUA
apply -n --format json "$T/latin1.lua"
events
ev_has resource "name=$T/latin1" "diff=yes"
D=$(json_field "$T/latin1" diff)
check; printf '%s\n' "$D" | grep -qx -- "-caf$(printf '\xef\xbf\xbd')" || fail "bad byte not replaced by U+FFFD"

# A recipe's print() is an event under JSON (stdout stays JSON), a plain
# line in human output.
cat >"$T/print.lua" <<LUA
print("hello from", "the recipe", 42)
execute "guard prints" { command = "true", only_if = function() print("in a guard") return true end }
LUA
apply --format json "$T/print.lua"
assert_code 0 "print in json"
events
ev_has message "level=print" "message=hello from	the recipe	42"
ev_has message "level=print" "message=in a guard"
apply "$T/print.lua"
assert_out "hello from	the recipe	42"
assert_out "in a guard"

# A failure in JSON: the failed event has the error and the location; run_end
# has success=false and the error; stderr has the one-line message.
cat >"$T/fail.lua" <<LUA
execute "broken" { command = "echo out-of-broken; exit 7" }
LUA
apply --format json "$T/fail.lua"
assert_code 1 "json failure"
events
ev_has resource "name=broken" "status=failed" "error=command exited 7 (expected 0)" "file=$T/fail.lua" "line=1" "output=out-of-broken\\n"
ev_has run_end "failed=1" "success=false" "error.resource=execute[broken]" "error.line=1"
assert_err "ccchef: error: $T/fail.lua:1: execute[broken]: command exited 7"

# Bad input in JSON: one error event with kind, file, line, resource.
cat >"$T/bad.lua" <<LUA
file "$T/x" {
  mode = 644 }
LUA
apply --format json "$T/bad.lua"
assert_code 2 "json bad input"
events
check; [ "$(printf '%s\n' "$EV" | wc -l)" = 1 ] || fail "bad input: want one event"
ev_has error "kind=input" "file=$T/bad.lua" "line=1" "resource=file[$T/x]" "message=property 'mode'"
printf 'file "%s/x" { content = "x" \n' "$T" >"$T/syntax.lua"
apply --format json "$T/syntax.lua"
events
ev_has error "kind=input" "file=$T/syntax.lua" "line=2" "message=syntax error:"

# A mistake in the options themselves still gives the JSON error event.
for bad in "--backups many" "--bogus"; do
	# shellcheck disable=SC2086
	apply --format json $bad "$T/r.lua"
	assert_code 2 "json option error $bad"
	events
	check; [ "$(printf '%s\n' "$EV" | wc -l)" = 1 ] || fail "$bad: want one event"
done
ev_has error "kind=input" "message=unknown option --bogus"
apply --format=json --bogus --detailed-exitcodes "$T/r.lua"
assert_code 1 "json option error, detailed"
events
ev_has error "kind=input" "message=unknown option --bogus"

# Human output: one line per changed resource, nothing for up-to-date ones,
# and the summary line.
printf 'port 1\n' >"$T/www/conf/site.conf"
apply "$T/r.lua"
assert_code 0 "human"
assert_out "  updated      template[$T/www/conf/site.conf]: content"
assert_out "notifies execute[reload] to run at the end of the run"
assert_out "  updated      execute[reload]: run"
assert_not_out "directory[$T/www/conf]"
assert_summary 2 0
assert_out "$(hostname): 6 resources, 2 updated, 0 failed, 1 skipped,"

###########################################################################
# Exit codes. Recipes: nothing to change, a change, a failure, a change
# and a failure, an ignored failure, bad input.
cat >"$T/nochange.lua" <<LUA
directory "$T/www" { }
LUA
cat >"$T/change.lua" <<LUA
file "$T/changing" { content = os.time() .. "\n" }
LUA
cat >"$T/failonly.lua" <<LUA
directory "$T/www" { }
execute "false" { }
LUA
cat >"$T/both.lua" <<LUA
file "$T/changing" { content = os.time() .. "-" .. os.clock() .. "\n" }
execute "false" { }
LUA
cat >"$T/ignored.lua" <<LUA
execute "false" { ignore_failure = true }
LUA

# exit_code WANT ARGS...: `ccchef apply ARGS` exits WANT.
exit_code() {
	want=$1
	shift
	rm -f "$T/changing"
	apply "$@"
	assert_code "$want" "apply $*"
}
exit_code 0 "$T/nochange.lua"
exit_code 0 "$T/change.lua"
exit_code 1 "$T/failonly.lua"
exit_code 1 "$T/both.lua"
exit_code 0 "$T/ignored.lua"
exit_code 2 "$T/bad.lua"
exit_code 0 -n "$T/change.lua"

exit_code 0 --detailed-exitcodes "$T/nochange.lua"
exit_code 2 --detailed-exitcodes "$T/change.lua"
exit_code 4 --detailed-exitcodes "$T/failonly.lua"
exit_code 6 --detailed-exitcodes "$T/both.lua"
exit_code 0 --detailed-exitcodes "$T/ignored.lua"
exit_code 1 --detailed-exitcodes "$T/bad.lua"
exit_code 1 --detailed-exitcodes "$T/missing.lua"
exit_code 1 --detailed-exitcodes --format xml "$T/change.lua"
# Why-run: "would change" counts as a change, so a drift check can use it.
exit_code 2 --detailed-exitcodes -n "$T/change.lua"
assert_no_file "$T/changing"
exit_code 2 --detailed-exitcodes --format json "$T/change.lua"

###########################################################################
# --version, --help, help COMMAND
run --version
assert_code 0 "--version"
check; printf '%s' "$OUT" | grep -qE '^ccchef [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version output"
run --help
assert_code 0 "--help"
for w in "usage: ccchef COMMAND" "apply [options] RUNLIST..." "facts" "help [COMMAND]"; do assert_out "$w"; done
run help
assert_code 0 "help"
assert_out "usage: ccchef COMMAND"
run help apply
assert_code 0 "help apply"
for opt in "-n, --why-run" "--format human|json" "-l, --log-level" "--detailed-exitcodes" \
	"--state-dir DIR" "--backup-dir DIR" "--backups N" "--lock-timeout S" \
	"--command-timeout S" "--color, --no-color"; do
	assert_out "$opt"
done
for c in facts attrs new remote status; do
	run help $c
	assert_code 0 "help $c"
	assert_out "usage: ccchef $c"
done
run help nosuch
assert_code 2 "help nosuch"
assert_err "no help for 'nosuch'"
# No command at all: usage on stderr, exit 2.
run
assert_code 2 "no command"
assert_err "usage: ccchef COMMAND"
assert_eq "$OUT" "" "stdout with no command"

###########################################################################
# Colour: never when stdout is not a terminal; on a terminal, yes (unless
# NO_COLOR); forced with --color.
ESC=$(printf '\033')
printf 'port 2\n' >"$T/www/conf/site.conf"
cat >"$T/colour.lua" <<LUA
template "$T/www/conf/site.conf" { source = "site.tmpl", vars = { port = 8080 } }
execute "false" { ignore_failure = true }
execute "false; echo failing" { }
LUA
"$CCCHEF" apply --state-dir "$STATE" "$T/colour.lua" >"$T/.out" 2>"$T/.err"
check; ! grep -q "$ESC" "$T/.out" "$T/.err" || fail "colour codes in piped output"
check; grep -q "updated      template" "$T/.out" || fail "piped run did not report the update"
printf 'port 3\n' >"$T/www/conf/site.conf"
"$CCCHEF" apply -n --state-dir "$STATE" --format json "$T/colour.lua" >"$T/.out" 2>"$T/.err"
check; ! grep -q "$ESC" "$T/.out" "$T/.err" || fail "colour codes in json output"
"$CCCHEF" apply -n --color --state-dir "$STATE" "$T/colour.lua" >"$T/.out" 2>"$T/.err"
check; grep -q "$ESC\[33mwould-update" "$T/.out" || fail "--color did not colour"
# A real terminal (script(1) gives the run a pty).
if command -v script >/dev/null; then
	env -u NO_COLOR TERM=xterm script -qec "$CCCHEF apply -n --state-dir $STATE $T/colour.lua" /dev/null >"$T/.out" 2>&1
	check; grep -q "$ESC\[33mwould-update" "$T/.out" || fail "no colour on a terminal"
	NO_COLOR=1 TERM=xterm script -qec "$CCCHEF apply -n --state-dir $STATE $T/colour.lua" /dev/null >"$T/.out" 2>&1
	check; ! grep -q "$ESC" "$T/.out" || fail "colour on a terminal with NO_COLOR set"
	# stdout on a terminal, stderr to a file: the warning in the file (a
	# notification left pending by the failure) has no colour codes.
	cat >"$T/warn.lua" <<LUA
file "$T/warn-target" { content = os.clock() .. "\n", notifies = { "run", "execute[later]" } }
execute "later" { command = "true", action = "nothing" }
execute "false" { }
LUA
	env -u NO_COLOR TERM=xterm script -qec "$CCCHEF apply --state-dir $T/warn-state $T/warn.lua 2>$T/warn.err" /dev/null >"$T/.out" 2>&1
	check; grep -q "$ESC\[31mfailed" "$T/.out" || fail "no colour for the report on a terminal"
	check; grep -q "warn: the run failed before execute\[later\] could run" "$T/warn.err" || fail "no pending warning: $(cat "$T/warn.err")"
	check; ! grep -q "$ESC" "$T/warn.err" || fail "colour codes in stderr redirected to a file"
fi

###########################################################################
# sensitive: the secret never appears in output, in either format, under
# why-run, at debug level, or when the resource fails.
SECRET="s3cr3t-$$-value"
cat >"$T/secret.lua" <<LUA
file "$T/secret.conf" { content = "password=$SECRET\n", mode = "0600", sensitive = true }
template "$T/secret.tmpl.out" { source = "site.tmpl", vars = { port = "$SECRET" }, sensitive = true }
execute "set password" {
  command = "echo setting $SECRET; echo $SECRET >&2",
  creates = "$T/pw-set", live_stream = true, sensitive = true,
}
LUA
no_secret() {
	check
	if grep -qF -- "$SECRET" "$T/.out" "$T/.err"; then
		fail "$1: the secret appears in the output"
	fi
}
for fmt in human json; do
	apply -n -l debug --format "$fmt" "$T/secret.lua"
	assert_code 0 "sensitive why-run $fmt"
	no_secret "why-run $fmt"
	assert_no_file "$T/secret.conf"
done
apply -l debug "$T/secret.lua"
assert_code 0 "sensitive apply"
no_secret "apply"
check; grep -qF "password=$SECRET" "$T/secret.conf" || fail "the secret file was not written"
# Drift: a diff would show the old and new secret.
printf 'password=old-%s\n' "$SECRET" >"$T/secret.conf"
printf 'port %s-old\n' "$SECRET" >"$T/secret.tmpl.out"
for fmt in human json; do
	apply -n -l debug --format "$fmt" "$T/secret.lua"
	no_secret "why-run after drift, $fmt"
	assert_code 0 "sensitive drift $fmt"
done
apply --format json "$T/secret.lua"
events
ev_has resource "name=$T/secret.conf" "status=updated" "sensitive=true"
no_secret "repair"
# Failure: the command's output (which holds the secret) is hidden.
cat >"$T/secret-fail.lua" <<LUA
execute "set password" {
  command = "echo failing with $SECRET; echo $SECRET >&2; exit 3",
  live_stream = true, sensitive = true,
}
LUA
for fmt in human json; do
	apply --format "$fmt" -l debug "$T/secret-fail.lua"
	assert_code 1 "sensitive failure $fmt"
	no_secret "failure $fmt"
	assert_err "execute[set password]: command exited 3"
done
assert_out "(sensitive output hidden)"
# The control: the same command without sensitive does show its output, so
# the checks above would catch a leak.
sed 's/sensitive = true/sensitive = false/' "$T/secret-fail.lua" >"$T/plain-fail.lua"
apply "$T/plain-fail.lua"
check; grep -qF -- "$SECRET" "$T/.out" || fail "control: output not shown without sensitive"

finish
