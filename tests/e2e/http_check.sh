#!/bin/bash
# http_check resource against a real socket server (tests/unit/http_server.py:
# exact answers, a check that passes after N failures) and against nothing:
# a passing check is up to date (0 updated) on every run, why-run makes the
# same read-only request, a failing check fails the resource naming what was
# wanted and what came back, retries with a delay, bad input (a malformed
# URL, https://, a header with a newline) is exit 2 before anything runs.
. "$(dirname "$0")/lib/common.sh"

/usr/bin/python3 "$SRC/tests/unit/http_server.py" >"$T/port" 2>"$T/server.err" &
track_pid $!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
P=$(cat "$T/port")
[ -n "$P" ] || { echo "server did not start: $(cat "$T/server.err")" >&2; exit 1; }
URL="http://127.0.0.1:$P"

cat >"$T/ok.lua" <<LUA
file "$T/marker" { content = "x" }
http_check "$URL/cl" { expect_body = "hello", expect_header = { ["X-Twice"] = "a, b" } }
http_check "host header" {
  url = "$URL/echo", host = "site.example", headers = { ["X-Probe"] = "1" },
  expect_body = "Host: site.example",
}
http_check "$URL/redirect" { expect_status = 301, expect_header = { location = "http://example.org/new" } }
http_check "$URL/echo" { method = "HEAD" }
http_check "$URL/flaky/a/2" { retries = 3, retry_delay = 0.1, expect_body = "ready after" }
LUA

apply -n -l debug "$T/ok.lua"
assert_code 0 "why-run"
assert_out "would-update file[$T/marker]"
assert_out "up-to-date   http_check[$URL/cl]"
assert_summary 1 0
assert_no_file "$T/marker"

apply -l debug "$T/ok.lua"
assert_code 0 "first converge"
assert_summary 1 0
assert_out "up-to-date   http_check[host header]"
assert_out "up-to-date   http_check[$URL/flaky/a/2]"

apply "$T/ok.lua"
assert_code 0 "second converge"
assert_summary 0 0

# A failing check: the resource fails with what was wanted and what came back.
cat >"$T/bad.lua" <<LUA
http_check "$URL/cl" { expect_body = "goodbye" }
file "$T/after" { content = "not reached" }
LUA
apply "$T/bad.lua"
assert_code 1 "failing body"
assert_out "failed       http_check[$URL/cl]"
assert_out "GET $URL/cl: wanted status 200, body containing \"goodbye\"; got a body without it: \"hello\""
assert_no_file "$T/after"

cat >"$T/bad.lua" <<LUA
http_check "$URL/flaky/b/5" { retries = 2, retry_delay = 0.05 }
LUA
apply "$T/bad.lua"
assert_code 1 "still failing after the retries"
assert_out "wanted status 200; got status 503 (after 3 attempts, 0.05s apart)"
apply "$T/bad.lua"
assert_code 0 "passes on the third attempt of the second run (503 five times, then 200)"
assert_summary 0 0

cat >"$T/bad.lua" <<LUA
http_check "$URL/redirect" { expect_status = { 200, 204 } }
http_check "$URL/nothing" { ignore_failure = true }
LUA
apply "$T/bad.lua"
assert_code 1 "redirect not followed"
assert_out "wanted status 200 or 204; got status 301 (location: http://example.org/new)"

# Nothing listening / no answer in time: the resource fails, saying so.
cat >"$T/bad.lua" <<LUA
http_check "http://127.0.0.1:1/" { timeout = 2 }
LUA
apply "$T/bad.lua"
assert_code 1 "refused"
assert_out "no answer: http://127.0.0.1:1: Connection refused"
cat >"$T/bad.lua" <<LUA
http_check "$URL/hang" { timeout = 0.3 }
LUA
apply "$T/bad.lua"
assert_code 1 "timeout"
assert_out "no complete answer within the timeout"

# Why-run of a failing check after a resource that would change something:
# unknown until that change is made, not a failure.
cat >"$T/wr.lua" <<LUA
file "$T/new-content" { content = "v2" }
http_check "$URL/cl" { expect_body = "v2" }
LUA
apply -n "$T/wr.lua"
assert_code 0 "why-run: failure after a change is unknown, not failed"
assert_out "would-update http_check[$URL/cl] check: unknown until the changes before it are made"

# Bad input: exit 2 at compile time, nothing converged.
for bad in 'http_check "https://example.org/" {}|https is not supported' \
	'http_check "ftp://x/" {}|only http://' \
	'http_check "http://x y/" {}|space or a control character' \
	'http_check "http://x/" { headers = { ["X-A"] = "1\r\nX-B: 2" } }|control character' \
	'http_check "http://x/" { method = "POST" }|method' \
	'http_check "http://x/" { retries = -1 }|retries must be' \
	'http_check "http://x/" { expect_status = 42 }|is not an HTTP status'; do
	printf 'file "%s/bad-ran" { content = "x" }\n%s\n' "$T" "${bad%%|*}" >"$T/input.lua"
	apply "$T/input.lua"
	assert_code 2 "bad input: ${bad%%|*}"
	assert_err "${bad##*|}"
	assert_no_file "$T/bad-ran"
done

finish
