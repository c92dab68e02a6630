#!/bin/bash
# cc_check.sh BASE_URL EXPECTATIONS_FILE DOCROOT
#
# Asks a running Apache about every behaviour listed in EXPECTATIONS_FILE
# (tests/e2e/lib/cc_expectations.tsv) and reports each mismatch. One request per
# line, redirects are never followed: what is checked is what this server
# answers itself.
#
# Expectations file: one behaviour per line, 6 tab-separated fields
#   PATH  HOST  STATUS  LOCATION|-  FILE-or-SUBSTRING|-  REASON
# Blank lines and lines starting with '#' are ignored.
#   - PATH is sent as is (with its query string, if any); keep it URL-safe.
#   - LOCATION may contain the tokens ${proto}, ${host} and ${port}; they are
#     replaced by $CC_PROTO (default https), $CC_HOST (default
#     creativecommons.org) and $CC_PORT (default: the port of BASE_URL).
#     When that port is the default one for CC_PROTO (443/80) Apache leaves
#     it out of the URLs it builds, so ":${port}" is dropped as well.
#   - FILE-or-SUBSTRING: when DOCROOT/VALUE is a regular file the body must
#     equal it byte for byte; otherwise the body must contain VALUE.
#
# Prints one line per mismatch and a final count; exits 1 on any mismatch
# (or when no behaviour was checked at all), 2 on bad usage.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 BASE_URL EXPECTATIONS_FILE DOCROOT" >&2
	exit 2
fi
base=${1%/}
expectations=$2
docroot=$3
[ -r "$expectations" ] || { echo "cc_check: cannot read $expectations" >&2; exit 2; }
[ -d "$docroot" ] || { echo "cc_check: no such docroot $docroot" >&2; exit 2; }

proto=${CC_PROTO:-https}
host=${CC_HOST:-creativecommons.org}
if [ -z "${CC_PORT:-}" ]; then
	# scheme://name:port/... ; without an explicit port, the scheme's default
	CC_PORT=$(printf '%s\n' "$base" | sed -nE 's|^[A-Za-z]+://[^/]*:([0-9]+)(/.*)?$|\1|p')
	if [ -z "$CC_PORT" ]; then
		case $base in https://*) CC_PORT=443 ;; *) CC_PORT=80 ;; esac
	fi
fi
port=$CC_PORT
default_port=
case $proto in https) default_port=443 ;; http) default_port=80 ;; esac

W=$(mktemp -d /tmp/cc_check.XXXXXX)
trap 'rm -rf "$W"' EXIT

# expand LOCATION: substitute the three placeholder tokens
expand() {
	local s=$1
	if [ "$port" = "$default_port" ]; then s=${s//:\$\{port\}/}; fi
	s=${s//\$\{proto\}/$proto}
	s=${s//\$\{host\}/$host}
	s=${s//\$\{port\}/$port}
	printf '%s' "$s"
}

total=0
failed=0
lineno=0
line_failed=0
mismatch() {
	[ "$line_failed" = 1 ] || failed=$((failed + 1))
	line_failed=1
	printf 'MISMATCH line %d: %s (Host: %s): %s  [%s]\n' "$lineno" "$path" "$vhost" "$1" "$reason"
}

while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case $line in '' | '#'*) continue ;; esac
	IFS=$'\t' read -r -a f <<<"$line"
	total=$((total + 1))
	line_failed=0
	path=${f[0]:-} vhost=${f[1]:-} reason=${f[5]:-}
	if [ "${#f[@]}" -ne 6 ]; then
		mismatch "malformed line: ${#f[@]} tab-separated fields, want 6"
		continue
	fi
	want_status=${f[2]}
	want_loc=${f[3]}
	want_body=${f[4]}

	rm -f "$W/body" "$W/headers"
	curl -sk --path-as-is -o "$W/body" -D "$W/headers" --max-time 5 \
		-H "Host: $vhost" "$base$path"
	rc=$?
	if [ "$rc" -ne 0 ] && [ ! -s "$W/headers" ]; then
		mismatch "curl failed (exit $rc)"
		continue
	fi
	got_status=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$W/headers")
	got_loc=$(sed -n 's/^[Ll][Oo][Cc][Aa][Tt][Ii][Oo][Nn]: *//p' "$W/headers" | tr -d '\r')
	[ -n "$got_loc" ] || got_loc=-

	if [ "$got_status" != "$want_status" ]; then
		mismatch "status: want $want_status, got $got_status"
	fi
	want_loc=$(expand "$want_loc")
	if [ "$got_loc" != "$want_loc" ]; then
		mismatch "Location: want $want_loc, got $got_loc"
	fi
	if [ "$want_body" != - ]; then
		if [ -f "$docroot/$want_body" ]; then
			cmp -s "$docroot/$want_body" "$W/body" ||
				mismatch "body differs from $docroot/$want_body ($(wc -c <"$W/body") bytes)"
		elif ! grep -qF -- "$want_body" "$W/body"; then
			mismatch "body lacks '$want_body' (not a file under DOCROOT, checked as a substring)"
		fi
	fi
done <"$expectations"

if [ "$total" -eq 0 ]; then
	echo "cc_check: no behaviours in $expectations" >&2
	exit 1
fi
echo "cc_check: $total behaviours checked, $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
