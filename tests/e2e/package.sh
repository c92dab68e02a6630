#!/bin/bash
# package resource against the real apt-get and dpkg: tiny .deb packages
# built here (ccchef-test-a 1.0 and 2.0, ccchef-test-b, later ccchef-test-c)
# are indexed as a local file: repository. apt is pointed at it through the
# resource's apt_config: a test-only sources list, and test-only lists,
# cache and log directories, so the machine's apt configuration and package
# lists are never touched. dpkg's database is the real one (packages really
# get installed); the cleanup trap purges every ccchef-test-* package.
. "$(dirname "$0")/lib/common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "package.sh needs root (it installs packages with dpkg)"
	exit 77
fi
for tool in dpkg-deb dpkg-scanpackages apt-get strace; do
	command -v "$tool" >/dev/null || { echo "missing $tool (tools/install-deps test)" >&2; exit 1; }
done

REPO="$T/repo"
APT="$T/apt"
mkdir -p "$REPO" "$APT/state/lists/partial" "$APT/cache/archives/partial" "$APT/log"
printf 'deb [trusted=yes] file:%s ./\n' "$REPO" >"$T/sources.list"

purge_test_packages() {
	local pkgs
	pkgs=$(dpkg-query -W -f '${Package}\n' 'ccchef-test-*' 2>/dev/null)
	[ -n "$pkgs" ] || return 0
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 \
		-o Dir::Etc::SourceList="$T/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State="$APT/state" -o Dir::Cache="$APT/cache" -o Dir::Log="$APT/log" \
		purge $pkgs >/dev/null 2>&1 || dpkg --purge $pkgs >/dev/null 2>&1
}
EXTRA_CLEANUP=purge_test_packages
purge_test_packages # leftovers of an earlier, killed run

# mkdeb NAME VERSION: a package holding /usr/share/ccchef-test/NAME (its
# version) and a conffile /etc/NAME.conf, so remove and purge differ.
mkdeb() {
	local d="$T/build/$1_$2"
	mkdir -p "$d/DEBIAN" "$d/usr/share/ccchef-test" "$d/etc"
	cat >"$d/DEBIAN/control" <<EOF
Package: $1
Version: $2
Architecture: all
Maintainer: ccchef tests <root@localhost>
Description: ccchef test package $1
EOF
	echo "/etc/$1.conf" >"$d/DEBIAN/conffiles"
	echo "$2" >"$d/usr/share/ccchef-test/$1"
	echo "setting = $1" >"$d/etc/$1.conf"
	dpkg-deb --root-owner-group --build "$d" "$REPO/$1_$2_all.deb" >/dev/null
}
index_repo() {
	(cd "$REPO" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages &&
		gzip -kf Packages)
}
mkdeb ccchef-test-a 1.0
mkdeb ccchef-test-a 2.0
mkdeb ccchef-test-b 1.0
index_repo

# The apt_config every recipe here uses.
cat >"$T/apt.lua" <<LUA
APT = {
  ["Dir::Etc::SourceList"] = "$T/sources.list",
  ["Dir::Etc::SourceParts"] = "/dev/null",
  ["Dir::State"] = "$APT/state",
  ["Dir::Cache"] = "$APT/cache",
  ["Dir::Log"] = "$APT/log",
}
LUA
# recipe FILE BODY: a recipe that starts with the apt_config table.
recipe() { { cat "$T/apt.lua"; printf '%s\n' "$2"; } >"$T/$1"; }

version_of() { dpkg-query -W -f '${db:Status-Status} ${Version}' "$1" 2>/dev/null; }
installs_logged() { grep -c '^Commandline: .* install' "$APT/log/history.log" 2>/dev/null || echo 0; }
STAMP="$APT/state/periodic/update-success-stamp"

# --- why-run first: nothing installed, no package lists yet (stale).
recipe two.lua 'package { "ccchef-test-a", "ccchef-test-b" } { apt_config = APT, version = { "1.0", "1.0" } }'
apply -n "$T/two.lua"
assert_code 0 "why-run with no package lists"
assert_out "would-update"
assert_out "package[ccchef-test-a, ccchef-test-b]"
assert_out "install ccchef-test-a 1.0"
assert_eq "$(version_of ccchef-test-a)" "" "why-run installed nothing"
check; [ ! -e "$STAMP" ] || fail "why-run ran apt-get update"

# --- two packages in one resource: one apt-get install call.
apply "$T/two.lua"
assert_code 0 "install two"
assert_summary 1 0
assert_eq "$(version_of ccchef-test-a)" "installed 1.0" "a installed"
assert_eq "$(version_of ccchef-test-b)" "installed 1.0" "b installed"
assert_eq "$(installs_logged)" 1 "one apt-get install for both packages"
assert_file "$STAMP"
apply "$T/two.lua"
assert_code 0 "second run"
assert_summary 0 0

# --- why-run after install: up to date, and with drift shows versions.
recipe up.lua 'package "ccchef-test-a" { apt_config = APT, action = "upgrade" }'
apply -n "$T/up.lua"
assert_code 0 "why-run upgrade"
assert_out "upgrade ccchef-test-a 1.0 -> 2.0"
assert_eq "$(version_of ccchef-test-a)" "installed 1.0" "why-run did not upgrade"

# --- fresh lists: installing does not run apt-get update.
touch -d '-1 hour' "$STAMP"
before=$(stat -c %Y "$STAMP")
apply "$T/up.lua"
assert_code 0 "upgrade"
assert_summary 1 0
assert_eq "$(version_of ccchef-test-a)" "installed 2.0" "upgraded to 2.0"
assert_eq "$(stat -c %Y "$STAMP")" "$before" "no apt-get update with fresh lists"
apply "$T/up.lua"
assert_summary 0 0

# --- explicit pin back to 1.0: a downgrade (--allow-downgrades).
recipe pin.lua 'package "ccchef-test-a" { apt_config = APT, version = "1.0" }'
apply -n "$T/pin.lua"
assert_out "install ccchef-test-a 2.0 -> 1.0"
apply "$T/pin.lua"
assert_code 0 "pin back to 1.0"
assert_eq "$(version_of ccchef-test-a)" "installed 1.0" "downgraded to the pin"
apply "$T/pin.lua"
assert_summary 0 0

# --- a pinned version apt does not have -> converge error (exit 1).
recipe pin3.lua 'package "ccchef-test-a" { apt_config = APT, version = "3.0" }'
apply "$T/pin3.lua"
assert_code 1 "unavailable version"
assert_out "pin3.lua:8"
assert_out "version 3.0 of package ccchef-test-a is not available (apt knows: 1.0, 2.0)"
assert_eq "$(version_of ccchef-test-a)" "installed 1.0" "failed pin changed nothing"

# --- stale lists: the next install refreshes them first. A package added
# to the repository after the last refresh is found by update-and-retry.
mkdeb ccchef-test-c 1.0
index_repo
recipe c.lua 'package "ccchef-test-c" { apt_config = APT }'
apply -n "$T/c.lua"
assert_code 0 "why-run, package not in the lists yet"
assert_out "install ccchef-test-c (not in the package lists yet: apt-get update first)"
assert_eq "$(version_of ccchef-test-c)" "" "why-run installed nothing"
touch -d '-1 hour' "$STAMP"
before=$(stat -c %Y "$STAMP")
apply "$T/c.lua"
assert_code 0 "not in lists: update and retry"
assert_eq "$(version_of ccchef-test-c)" "installed 1.0" "c installed after update"
check; [ "$(stat -c %Y "$STAMP")" -gt "$before" ] || fail "no apt-get update before retry"
# Stale by cache_max_age: lists an hour old, max age one minute.
recipe stale.lua 'package "ccchef-test-a" { apt_config = APT, version = "2.0", cache_max_age = 60 }'
touch -d '-1 hour' "$STAMP" "$APT/state/lists"
before=$(stat -c %Y "$STAMP")
apply "$T/stale.lua"
assert_code 0 "stale lists"
check; [ "$(stat -c %Y "$STAMP")" -gt "$before" ] || fail "stale lists were not refreshed"
assert_eq "$(version_of ccchef-test-a)" "installed 2.0" "a at 2.0"

# --- the batched state read is dropped after a change: the second resource
# must see the removal made by the first, not the state read before it.
recipe flip.lua 'package "ccchef-test-b" { apt_config = APT, action = "remove" }
package "ccchef-test-b" { apt_config = APT }'
apply "$T/flip.lua"
assert_code 0 "remove then install"
assert_summary 2 0
assert_eq "$(version_of ccchef-test-b)" "installed 1.0" "b installed again"

# --- consecutive resources: one dpkg-query for all; the no-op runs one
# program (dpkg-query, no shell). Only successful execve calls count: an
# argv is looked up along PATH, one failed execve per directory before it.
recipe many.lua 'package "ccchef-test-a" { apt_config = APT }
package "ccchef-test-b" { apt_config = APT }
package "ccchef-test-c" { apt_config = APT }
package { "bash", "coreutils", "dpkg", "apt" }'
strace -f -qq -e trace=execve -o "$T/strace" "$CCCHEF" apply --state-dir "$STATE" --no-color \
	"$T/many.lua" >"$T/.out" 2>"$T/.err"
CODE=$?
OUT=$(cat "$T/.out")
ERR=$(cat "$T/.err")
assert_code 0 "no-op under strace"
assert_summary 0 0
n=$(grep -c 'execve(.* = 0$' "$T/strace")
echo "no-op of 7 packages: $((n - 1)) programs run: $(grep 'execve(.* = 0$' "$T/strace" | grep -o "execve(\"[^\"]*\"" | tail -n +2 | tr "\n" " ")"
# The first execve is ccchef itself.
check; [ "$n" -le 2 ] || { fail "no-op of 7 packages ran $((n - 1)) programs, want <= 1"; cat "$T/strace" >&2; }
check; [ "$(grep -c 'execve("/usr/bin/dpkg-query"' "$T/strace")" = 1 ] || fail "want exactly one dpkg-query"

# --- remove keeps the conffile (config-files state), purge removes it.
recipe rm.lua 'package { "ccchef-test-a", "ccchef-test-c" } { apt_config = APT, action = "remove" }'
apply "$T/rm.lua"
assert_code 0 "remove"
assert_summary 1 0
assert_eq "$(version_of ccchef-test-a)" "config-files 2.0" "a removed, conffile kept"
assert_file /etc/ccchef-test-a.conf
apply "$T/rm.lua"
assert_summary 0 0
recipe purge.lua 'package { "ccchef-test-a", "ccchef-test-b" } { apt_config = APT, action = "purge" }'
apply -n "$T/purge.lua"
assert_out "purge ccchef-test-a (configuration files)"
assert_out "purge ccchef-test-b 1.0"
assert_file /etc/ccchef-test-a.conf
apply "$T/purge.lua"
assert_code 0 "purge"
assert_no_file /etc/ccchef-test-a.conf
assert_no_file /etc/ccchef-test-b.conf
assert_eq "$(version_of ccchef-test-b)" "" "b purged"
apply "$T/purge.lua"
assert_summary 0 0

# --- unknown package: converge error naming it (exit 1).
recipe unknown.lua 'package "ccchef-test-nope" { apt_config = APT }'
apply "$T/unknown.lua"
assert_code 1 "unknown package"
assert_out "unknown.lua:8"
assert_out "package[ccchef-test-nope]"
assert_out "package ccchef-test-nope is not available"

# --- bad input at compile time (exit 2, file and line, nothing changed).
recipe badver.lua 'package "ccchef-test-b" { apt_config = APT }
package "ccchef-test-a" { apt_config = APT, version = "v1.0_beta" }'
apply "$T/badver.lua"
assert_code 2 "bad version string"
assert_err "badver.lua:9: package[ccchef-test-a]: version \"v1.0_beta\" of ccchef-test-a is not a valid Debian version"
assert_eq "$(version_of ccchef-test-b)" "" "nothing installed before a compile error"
recipe badname.lua 'package { "ccchef-test-b", "Bad_Name" } { apt_config = APT }'
apply "$T/badname.lua"
assert_code 2 "bad package name"
assert_err "badname.lua:8: package[ccchef-test-b, Bad_Name]: \"Bad_Name\" is not a valid Debian package name"
recipe badlist.lua 'package { "ccchef-test-b", action = "remove" }'
apply "$T/badlist.lua"
assert_code 2 "properties inside a list name"
assert_err "badlist.lua:8"

finish
