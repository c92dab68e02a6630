# tests/e2e/symlink_attack.sh: a local user who owns a managed directory
# attacks the root run with symbolic links (issue 9, security items 1, 2,
# 3, 4, 5 and 7). The attacker is the unprivileged user nobody (setpriv);
# root-only sentinel files outside the managed tree are checked before and
# after every case by content, mode, owner, times and existence. Races are
# driven deterministically by the test hook (CCCHEF_TEST_HOOK, see
# docs/safety.md): ccchef runs the given command, which makes the
# attacker's move, at a named point between two of its steps.
. "$(dirname "$0")/lib/common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (the attack is a user against a root run)"
	exit 77
fi

ATT_UID=$(id -u nobody) || { echo "skipped: no user nobody"; exit 77; }
ATT_GID=$(id -g nobody)
# as_attacker CMD...: run CMD as the unprivileged user.
as_attacker() { setpriv --reuid="$ATT_UID" --regid="$ATT_GID" --clear-groups "$@"; }

chmod 755 "$T"
OUTSIDE="$T/outside"
mkdir -m 755 "$OUTSIDE" "$OUTSIDE/dir"
printf 'TOPSECRET\n' >"$OUTSIDE/secret"
chmod 600 "$OUTSIDE/secret"
for i in 1 2 3 4 5; do printf 'keep %s\n' "$i" >"$OUTSIDE/dir/keep$i"; done
chmod 640 "$OUTSIDE"/dir/keep*
printf 'x = 1\n' >"$OUTSIDE/app.conf"
touch -d '2001-01-01 00:00:00' "$OUTSIDE/secret" "$OUTSIDE/app.conf"

# The state of everything outside: name, type, mode, owner, size, mtime, hash.
snapshot() {
	find "$OUTSIDE" -printf '%p %y %m %u %g %s %T@\n' | sort
	find "$OUTSIDE" -type f -exec sha256sum {} + | sort
}
BEFORE=$(snapshot)
assert_outside_intact() {
	check
	local now
	now=$(snapshot)
	[ "$now" = "$BEFORE" ] || fail "$1: something outside the managed tree changed:
$(diff <(printf '%s\n' "$BEFORE") <(printf '%s\n' "$now"))"
}
assert_no_secret() {
	check
	! printf '%s%s' "$OUT" "$ERR" | grep -q TOPSECRET || fail "$1: the secret was shown"
	if [ -d "$WWW" ]; then
		check
		! grep -rqs TOPSECRET "$WWW" || fail "$1: the secret was copied into the managed tree"
	fi
}

WWW="$T/www"
# A fresh managed directory owned by the attacker for each case.
fresh_www() {
	rm -rf "$WWW"
	mkdir -m 755 "$WWW"
	chown "$ATT_UID:$ATT_GID" "$WWW"
}

# hook POINT MATCH SCRIPT: run SCRIPT (as the attacker) when ccchef reaches
# POINT for the path MATCH; exported for the next apply only.
hook_apply() {
	local point=$1 match=$2 script=$3
	cat >"$T/hook.sh" <<EOF
#!/bin/sh
[ "\$2" = "$match" ] || exit 0
exec setpriv --reuid=$ATT_UID --regid=$ATT_GID --clear-groups sh -c '$script'
EOF
	chmod 755 "$T/hook.sh"
	shift 3
	CCCHEF_TEST_HOOK=$point CCCHEF_TEST_HOOK_CMD="$T/hook.sh \"\$@\"" apply "$@"
}

# ---- item 1: remote_directory and a link planted in the destination ----
fresh_www
mkdir -p "$T/src/site/css"
printf 'index\n' >"$T/src/site/index.html"
printf 'body{}\n' >"$T/src/site/css/site.css"
as_attacker ln -s "$OUTSIDE/dir" "$WWW/uploads"
as_attacker ln -s "$OUTSIDE/secret" "$WWW/index.html"
cat >"$T/rd.lua" <<EOF
remote_directory "$WWW" { source = "$T/src/site", purge = true, files_mode = "0644", owner = "nobody" }
EOF
apply "$T/rd.lua"
assert_code 0 "remote_directory with planted links"
assert_outside_intact "1 remote_directory purge"
check; [ ! -L "$WWW/uploads" ] && [ ! -e "$WWW/uploads" ] || fail "1: the planted link uploads was not purged"
check; [ -f "$WWW/index.html" ] && [ ! -L "$WWW/index.html" ] || fail "1: index.html is not a regular file"
assert_content "$WWW/index.html" "index"
assert_content "$WWW/css/site.css" "body{}"
apply "$T/rd.lua"
assert_summary 0 0

# A link where the source has a directory: refused, nothing written through it.
fresh_www
as_attacker ln -s "$OUTSIDE/dir" "$WWW/css"
apply "$T/rd.lua"
assert_code 1 "remote_directory through a linked subdirectory"
assert_out "$WWW/css exists and is not a directory"
assert_outside_intact "1 remote_directory write through link"
check; [ ! -e "$OUTSIDE/dir/site.css" ] || fail "1: site.css written through the link"

# ---- item 2: mode/owner correction, a link swapped in between load and apply ----
fresh_www
printf 'conf\n' >"$WWW/app.conf"
chmod 600 "$WWW/app.conf"
chown "$ATT_UID:$ATT_GID" "$WWW/app.conf"
cat >"$T/mode.lua" <<EOF
file "$WWW/app.conf" { content = "conf\n", mode = "0644", owner = "root" }
EOF
hook_apply apply "$WWW/app.conf" "rm -f $WWW/app.conf && ln -s $OUTSIDE/secret $WWW/app.conf" "$T/mode.lua"
assert_code 1 "mode correction on a swapped link"
assert_out "is a symbolic link"
assert_outside_intact "2 chmod through a swapped link"
# The same for a directory's mode.
fresh_www
as_attacker mkdir -m 755 "$WWW/sub"
cat >"$T/dmode.lua" <<EOF
directory "$WWW/sub" { mode = "0700", owner = "root" }
EOF
hook_apply apply "$WWW/sub" "mv $WWW/sub $WWW/old && ln -s $OUTSIDE/dir $WWW/sub" "$T/dmode.lua"
assert_code 1 "directory mode on a swapped link"
assert_outside_intact "2 directory chmod through a swapped link"
# Without the swap the same correction works, on the file itself.
fresh_www
printf 'conf\n' >"$WWW/app.conf"
chmod 600 "$WWW/app.conf"
apply "$T/mode.lua"
assert_code 0 "mode correction"
assert_mode "$WWW/app.conf" 644
apply "$T/mode.lua"
assert_summary 0 0
# A hard link to a root file (made while fs.protected_hardlinks allowed
# it, or by root by mistake) is not chmod-ed: it is that other file.
fresh_www
ln "$OUTSIDE/app.conf" "$WWW/app.conf" 2>/dev/null || cp "$OUTSIDE/app.conf" "$WWW/app.conf"
if [ "$(stat -c %h "$WWW/app.conf")" = 2 ]; then
	BEFORE=$(snapshot)
	cat >"$T/hard.lua" <<EOF
file "$WWW/app.conf" { mode = "0666" }
EOF
	apply "$T/hard.lua"
	assert_code 1 "chmod of a hard-linked file"
	assert_out "hard links"
	assert_outside_intact "2 chmod of a hard link"
	rm -f "$WWW/app.conf"
	BEFORE=$(snapshot)
fi

# ---- item 3: touch / file without content never reads through a link ----
fresh_www
as_attacker ln -s "$OUTSIDE/secret" "$WWW/touched"
cat >"$T/touch.lua" <<EOF
file "$WWW/touched" { action = "touch", owner = "nobody" }
EOF
apply "$T/touch.lua"
assert_code 1 "touch of a link"
assert_out "is a symbolic link"
assert_no_secret "3 touch of a link"
assert_outside_intact "3 touch of a link"
check; [ -L "$WWW/touched" ] || fail "3: the link was replaced by a copy"
# The race: a regular file at load, a link at apply.
fresh_www
as_attacker sh -c "printf 'mine\n' >$WWW/touched"
hook_apply apply "$WWW/touched" "rm -f $WWW/touched && ln -s $OUTSIDE/secret $WWW/touched" "$T/touch.lua"
assert_code 1 "touch of a swapped link"
assert_no_secret "3 touch race"
assert_outside_intact "3 touch race"
# touch of a plain file keeps its content and inode and sets its time.
fresh_www
printf 'mine\n' >"$WWW/touched"
chown "$ATT_UID:$ATT_GID" "$WWW/touched"
touch -d '2001-01-01' "$WWW/touched"
INO=$(stat -c %i "$WWW/touched")
apply "$T/touch.lua"
assert_code 0 "touch"
assert_content "$WWW/touched" "mine"
assert_eq "$(stat -c %i "$WWW/touched")" "$INO" "inode after touch (not rewritten)"
check; [ "$(stat -c %Y "$WWW/touched")" -gt 1000000000 ] || fail "3: touch did not set the time"
check; [ "$(stat -c %Y "$WWW/touched")" -gt "$(date -d 2020-01-01 +%s)" ] || fail "3: mtime not updated"

# ---- item 4: recursive delete redirected mid-walk ----
fresh_www
as_attacker sh -c "mkdir -p $WWW/tree/sub/deeper && for i in 1 2 3; do echo \$i >$WWW/tree/sub/f\$i; done && echo x >$WWW/tree/sub/deeper/y"
cat >"$T/rm.lua" <<EOF
directory "$WWW/tree" { action = "delete", recursive = true }
EOF
# Between listing tree and entering sub, sub becomes a link to outside.
hook_apply remove_tree "$WWW/tree/sub" "mv $WWW/tree/sub $WWW/moved && ln -s $OUTSIDE/dir $WWW/tree/sub" "$T/rm.lua"
assert_code 0 "recursive delete with a swapped subdirectory"
assert_outside_intact "4 rm -rf redirected"
assert_no_file "$WWW/tree"
check; [ -f "$WWW/moved/f1" ] || fail "4: the attacker's moved directory should be untouched"
# A planted link inside the tree is removed, not followed.
fresh_www
as_attacker sh -c "mkdir -p $WWW/tree && ln -s $OUTSIDE/dir $WWW/tree/link && ln -s $OUTSIDE/secret $WWW/tree/s"
apply "$T/rm.lua"
assert_code 0 "recursive delete with planted links"
assert_outside_intact "4 rm -rf with links"
assert_no_file "$WWW/tree"

# ---- item 5: a link in a parent component ----
fresh_www
as_attacker ln -s "$OUTSIDE" "$WWW/conf"
for res in \
	"file \"$WWW/conf/secret\" { content = \"pwned\\n\", mode = \"0644\", owner = \"nobody\" }" \
	"file \"$WWW/conf/app.conf\" { action = \"delete\" }" \
	"directory \"$WWW/conf/dir\" { mode = \"0777\" }" \
	"directory \"$WWW/conf/dir\" { action = \"delete\", recursive = true }" \
	"link \"$WWW/conf/secret\" { to = \"/dev/null\", force = true }" \
	"template \"$WWW/conf/app.conf\" { source = \"$T/t.tmpl\", mode = \"0666\" }" \
	"remote_directory \"$WWW/conf/dir\" { source = \"$T/src/site\", purge = true }"; do
	printf 'pwned\n' >"$T/t.tmpl"
	printf '%s\n' "$res" >"$T/parent.lua"
	apply "$T/parent.lua"
	assert_code 1 "through a parent link: $res"
	assert_out "refusing to follow the symbolic link $WWW/conf -> $OUTSIDE"
	assert_outside_intact "5 $res"
done
# A deeper link: www/a is a real directory, www/a/b the link.
as_attacker sh -c "mkdir $WWW/a && ln -s $OUTSIDE $WWW/a/b"
printf 'file "%s" { content = "pwned" }\n' "$WWW/a/b/dir/keep1" >"$T/parent.lua"
apply "$T/parent.lua"
assert_code 1 "through a deeper parent link"
assert_out "refusing to follow the symbolic link $WWW/a/b"
assert_outside_intact "5 deeper"
# Trusted: a link root owns in a directory only root can change.
mkdir -m 755 "$T/real"
ln -s real "$T/trusted"
printf 'file "%s" { content = "ok\\n" }\n' "$T/trusted/f" >"$T/trusted.lua"
apply "$T/trusted.lua"
assert_code 0 "through a trusted link"
assert_content "$T/real/f" "ok"
apply "$T/trusted.lua"
assert_summary 0 0

# ---- item 7: the diff never shows what a link points to ----
fresh_www
as_attacker sh -c "printf 'old page\n' >$WWW/page"
cat >"$T/page.lua" <<EOF
file "$WWW/page" { content = "new page\n" }
EOF
# Swapped after the comparison, before the diff is made.
# The diff shows the bytes compared; the backup of "the old file" then finds
# a link where the file was and the resource fails, changing nothing.
hook_apply loaded "$WWW/page" "rm -f $WWW/page && ln -s $OUTSIDE/secret $WWW/page" "$T/page.lua" -l info
assert_no_secret "7 diff race (human)"
assert_out "-old page"
assert_code 1 "7: a link swapped in before the backup"
assert_out "is a symbolic link"
assert_outside_intact "7 diff race"
check; [ -L "$WWW/page" ] || fail "7: the link should be left as it is"
fresh_www
as_attacker sh -c "printf 'old page\n' >$WWW/page"
hook_apply loaded "$WWW/page" "rm -f $WWW/page && ln -s $OUTSIDE/secret $WWW/page" "$T/page.lua" --format json -n
assert_no_secret "7 diff race (json, why-run)"
assert_outside_intact "7 diff race json"
# A link from the start: refused, in every output format.
fresh_www
as_attacker ln -s "$OUTSIDE/secret" "$WWW/page"
for args in "-l info" "--format json" "-n"; do
	# shellcheck disable=SC2086
	apply "$T/page.lua" $args
	assert_code 1 "diff of a link ($args)"
	assert_no_secret "7 link ($args)"
	assert_outside_intact "7 link ($args)"
done

# ---- the link resource's temporary is not predictable ----
fresh_www
cat >"$T/link.lua" <<EOF
link "$WWW/l" { to = "target" }
EOF
# A user pre-planting every PID-named temporary gains nothing.
as_attacker sh -c "for p in \$(seq 1 50); do ln -s $OUTSIDE/secret $WWW/l.ccchef-\$p; done"
apply "$T/link.lua"
assert_code 0 "link with planted temporaries"
assert_eq "$(readlink "$WWW/l")" "target" "link target"
assert_outside_intact "link temporaries"

# ---- a kill between writing the temporary and the rename ----
fresh_www
cat >"$T/kill.lua" <<EOF
file "$WWW/sensitive" { content = "new secret\n", mode = "0600", sensitive = true }
EOF
# The hook's sh -c is ccchef's child: $PPID is ccchef.
CCCHEF_TEST_HOOK=replace CCCHEF_TEST_HOOK_CMD='kill -9 $PPID' apply "$T/kill.lua"
check; [ "$CODE" = 137 ] || [ "$CODE" -gt 128 ] || fail "kill: ccchef was not killed (exit $CODE)"
check; ls -A "$WWW" | grep -q '^\.sensitive\.ccchef-......$' || fail "kill: no temporary left to recover (ls: $(ls -A "$WWW"))"
# The next run, even one that changes nothing else, removes it.
printf 'new secret\n' >"$WWW/sensitive"
chmod 600 "$WWW/sensitive"
apply "$T/kill.lua"
assert_code 0 "recovery run"
assert_summary 0 0
check; ! ls -A "$WWW" | grep -q 'ccchef-' || fail "recovery: temporary left: $(ls -A "$WWW")"
check; [ ! -e "$STATE/inflight" ] || fail "recovery: the in-flight record is left after a normal run"
# A file the attacker names like a temporary elsewhere is not touched.
as_attacker sh -c "printf 'mine\n' >$WWW/.other.ccchef-Xy"
apply "$T/kill.lua"
assert_file "$WWW/.other.ccchef-Xy"

assert_outside_intact "end"
finish
