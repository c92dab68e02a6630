#!/bin/bash
# cc_rewrites_manual.sh: check tests/e2e/cc_expectations.tsv against a real
# Apache serving the creativecommons.org fixture. NOT part of `make check`
# (the integrated test deploys the site with ccchef); this is how the
# expectations were verified, and how to re-verify them by hand:
#     tests/e2e/cc_rewrites_manual.sh            # from the project root
# Environment: SHARED (default ../shared relative to the project root),
# CC_TRACE=1 (log every mod_rewrite step, error log shown at the end),
# CC_KEEP=1 (keep the temporary directory for inspection),
# CC_EXPECTATIONS=FILE (check another expectations file).
#
# It runs Debian's apache2 binary as a PRIVATE instance: its own config file,
# pid file, logs and runtime dir under a temporary directory, listening on
# 127.0.0.1:<free high port>. It never reads or changes /etc/apache2 and never
# touches the system apache2 service. Apache is stopped by PID on exit, even
# when something fails.
#
# The fixture config is a template. The copy this script deploys differs
# from it in exactly these visible ways (a ccchef cookbook must do the same):
#   1. placeholders substituted: ${host}=creativecommons.org, ${proto}=https,
#      ${port}=<the test port>, ${dir}=$T/site, ${logdir}=$T/logs;
#   2. every php_flag / php_value line is wrapped in
#      <IfModule php_module> ... </IfModule>: Debian 12 has no mod_php5 and
#      the test node has no mod_php at all; without mod_php the directives are
#      unknown and Apache refuses the whole config. Kept, not deleted: they
#      apply again wherever mod_php is loaded;
#   3. SSLCertificateFile / SSLCertificateKeyFile point at a self-signed
#      certificate generated here for ${host} (the originals live in
#      /etc/ssl/private, which a test node does not have), and
#      SSLCACertificateFile (RapidSSL_CA_bundle.pem, absent) points at that
#      same certificate.
# Nothing else is changed: all RewriteRules, Aliases and Location blocks are
# deployed as published.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$root/../shared}
FIX=$SHARED/fixtures/creativecommons.org
HOST=creativecommons.org
PROTO=https

[ -r "$FIX/apache.conf" ] || { echo "no fixture at $FIX" >&2; exit 2; }

need=
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || need="$need apache2"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
if [ -n "$need" ]; then
	echo "installing:$need"
	# apache2's postinst starts the system service; this script leaves that
	# service alone either way and uses its own instance on its own port.
	# shellcheck disable=SC2086 # $need is a word list on purpose
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q $need >/dev/null ||
		{ echo "apt-get install$need failed" >&2; exit 2; }
fi
APACHE2=$(command -v apache2 || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules

T=$(mktemp -d /tmp/cc-rewrites.XXXXXX)
chmod 755 "$T" # the workers run as www-data when we are root
APACHE_PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$APACHE_PID" ] && kill -0 "$APACHE_PID" 2>/dev/null; then
		kill -TERM "$APACHE_PID"
		# wait for the parent, which stops its own children first
		for _ in $(seq 100); do kill -0 "$APACHE_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$APACHE_PID" 2>/dev/null && kill -KILL "$APACHE_PID"
	fi
	if [ "${CC_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$T/site" "$T/logs" "$T/run" "$T/ssl"
cp -R "$FIX/docroot" "$T/site/docroot"
chmod -R u+w,a+rX "$T/site"

# a free high port on 127.0.0.1: nothing answers a connect on it
PORT=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { echo "no free port found" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$HOST" -addext "basicConstraints=critical,CA:FALSE" \
	-keyout "$T/ssl/$HOST.key" -out "$T/ssl/$HOST.crt" >/dev/null 2>&1 ||
	{ echo "openssl failed" >&2; exit 1; }

# The site: the fixture template with the transformations listed above.
sed -e "s|\${port}|$PORT|g" -e "s|\${host}|$HOST|g" -e "s|\${proto}|$PROTO|g" \
	-e "s|\${dir}|$T/site|g" -e "s|\${logdir}|$T/logs|g" \
	-E -e 's#^([[:space:]]*)(php_(flag|value)[[:space:]].*)$#\1<IfModule php_module>\n\1    \2\n\1</IfModule>#' \
	-e "s#^([[:space:]]*SSLCertificateFile)[[:space:]].*#\1 $T/ssl/$HOST.crt#" \
	-e "s#^([[:space:]]*SSLCertificateKeyFile)[[:space:]].*#\1 $T/ssl/$HOST.key#" \
	-e "s#^([[:space:]]*SSLCACertificateFile)[[:space:]].*#\1 $T/ssl/$HOST.crt#" \
	"$FIX/apache.conf" >"$T/site.conf"
# shellcheck disable=SC2016 # a literal ${ is what is looked for
if grep -q '\${' "$T/site.conf"; then
	echo "unsubstituted placeholder left in site.conf:" >&2
	grep -n '\${' "$T/site.conf" >&2
	exit 1
fi

loglevel=warn
[ "${CC_TRACE:-0}" = 1 ] && loglevel="warn rewrite:trace2"
user=
[ "$(id -u)" = 0 ] && user="User www-data
Group www-data"

# The server: Debian's default module set (what a stock apache2 install
# enables) plus rewrite, headers and ssl, which the site needs; Debian's
# apache2.conf defaults for / and the log formats.
{
	cat <<EOF
ServerRoot $T
PidFile $T/run/apache2.pid
DefaultRuntimeDir $T/run
Mutex file:$T/run default
ErrorLog $T/logs/server-error.log
LogLevel $loglevel
ServerName $HOST
Listen 127.0.0.1:$PORT
$user
EOF
	for m in mpm_event access_compat alias auth_basic authn_core authn_file \
		authz_core authz_host authz_user autoindex deflate dir env filter mime \
		negotiation reqtimeout setenvif socache_shmcb ssl rewrite headers; do
		echo "LoadModule ${m}_module $MODS/mod_$m.so"
	done
	cat <<EOF
TypesConfig /etc/mime.types
DirectoryIndex index.html
<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
<FilesMatch "^\.ht">
	Require all denied
</FilesMatch>
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
Include $T/site.conf
EOF
} >"$T/httpd.conf"

if ! "$APACHE2" -f "$T/httpd.conf" -t >"$T/configtest.log" 2>&1; then
	echo "apache2 configtest failed:" >&2
	cat "$T/configtest.log" >&2
	exit 1
fi
sed 's/^/configtest: /' "$T/configtest.log"

"$APACHE2" -f "$T/httpd.conf" -DFOREGROUND >"$T/logs/stdout.log" 2>&1 &
APACHE_PID=$!

BASE=https://127.0.0.1:$PORT
up=0
for _ in $(seq 100); do
	if curl -sk -o /dev/null --max-time 2 "$BASE/" 2>/dev/null; then up=1; break; fi
	kill -0 "$APACHE_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" != 1 ]; then
	echo "apache2 did not come up on $BASE" >&2
	cat "$T/logs/stdout.log" "$T/logs/server-error.log" "$T/logs/error.log" 2>/dev/null >&2
	exit 1
fi
echo "apache2 (pid $APACHE_PID) serving the fixture on $BASE"

"$here/cc_check.sh" "$BASE" "${CC_EXPECTATIONS:-$here/cc_expectations.tsv}" "$T/site/docroot"
rc=$?
if [ "${CC_TRACE:-0}" = 1 ]; then
	cat "$T/logs/error.log"
fi
exit "$rc"
