# tests/e2e/lib/sshd.sh: real OpenSSH sshd "nodes" on 127.0.0.1 for the remote
# tests. Source after common.sh. Every node is this machine: each gets its own
# sshd on its own port, and (through sshd's SetEnv) its own state and runner
# cache directories and machine-wide lock (CCCHEF_MACHINE_LOCK, docs/cli.md),
# so nodes do not share a lock, a last-run.json or a cached runner. Recipes put their files under node.root (an attribute).
#
#   ssh_setup                 user key, ssh config, empty known_hosts
#   start_node NAME [USER]    start sshd for NAME; sets PORT_NAME; adds
#                             NAME to the ssh config (HostName, Port, User);
#                             $NODE_ENV: more VAR=VALUE for its sessions;
#                             $NODE_LISTEN: its address (default 127.0.0.1);
#                             $NODE_LOGLEVEL: sshd's LogLevel (default ERROR)
#   trust_node NAME           put NAME's host key into known_hosts
SSHD=${SSHD:-/usr/sbin/sshd}
[ -x "$SSHD" ] || { echo "sshd.sh: $SSHD missing (tools/install-deps test)" >&2; exit 1; }
unset SSH_AUTH_SOCK

ssh_setup() {
	mkdir -p "$T/ssh" /run/sshd
	chmod 700 "$T/ssh"
	ssh-keygen -q -t ed25519 -N '' -C ccchef-test -f "$T/ssh/id_ed25519" || exit 1
	cp "$T/ssh/id_ed25519.pub" "$T/ssh/authorized_keys"
	: >"$T/ssh/known_hosts"
	build_ssh_config
}

start_node() {
	local name=$1 user=${2:-root} dir="$T/nodes/$1" port attempt
	mkdir -p "$dir/root" "$dir/state" "$dir/cache"
	[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519" || exit 1
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		write_sshd_config "$dir" "$port"
		run_sshd "$name" "$port" && break
		[ "$attempt" = 5 ] && { echo "sshd for $name did not start: $(cat "$dir/sshd.log")" >&2; exit 1; }
	done
	eval "ADDR_$name=${NODE_LISTEN:-127.0.0.1}"
	printf 'Host %s\n  HostName %s\n  Port %s\n  User %s\n' "$name" "${NODE_LISTEN:-127.0.0.1}" "$port" "$user" >"$T/ssh/config.$name"
	build_ssh_config
}

# run_sshd NAME PORT: start it and wait until it listens; false if it
# died (the port was taken). sshd writes its PidFile once it has bound the
# port, so the file with its PID, not a connection that any process could
# answer, says it is ready.
run_sshd() {
	local name=$1 port=$2 dir="$T/nodes/$1" pid i=0
	rm -f "$dir/sshd.pid"
	"$SSHD" -D -e -f "$dir/sshd_config" 2>>"$dir/sshd.log" &
	pid=$!
	track_pid $pid
	eval "PORT_$name=$port"
	eval "SSHD_PID_$name=$pid"
	until [ "$(cat "$dir/sshd.pid" 2>/dev/null)" = "$pid" ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.02
	done
}

write_sshd_config() {
	local dir=$1 port=$2
	cat >"$dir/sshd_config" <<EOF
Port $port
ListenAddress ${NODE_LISTEN:-127.0.0.1}
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $T/ssh/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel ${NODE_LOGLEVEL:-ERROR}
SetEnv CCCHEF_STATE_DIR=$dir/state CCCHEF_CACHE_DIR=$dir/cache CCCHEF_MACHINE_LOCK=$dir/state/machine.lock ${NODE_ENV:-}
EOF
}

# Host blocks first (ssh takes the first value it finds), then Host *.
build_ssh_config() {
	{
		cat "$T/ssh"/config.* 2>/dev/null
		printf 'Host *\n  IdentityFile %s\n  UserKnownHostsFile %s\n' "$T/ssh/id_ed25519" "$T/ssh/known_hosts"
	} >"$T/ssh/config"
}

stop_node() {
	local pid
	eval "pid=\$SSHD_PID_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

trust_node() {
	local port addr
	eval "port=\$PORT_$1 addr=\$ADDR_$1"
	echo "[$addr]:$port $(cut -d' ' -f1-2 "$T/nodes/$1/host_ed25519.pub")" >>"$T/ssh/known_hosts"
}

# remote ARGS...: `ccchef remote` with the test's ssh config; sets OUT, ERR, CODE
remote() {
	"$CCCHEF" remote -F "$T/ssh/config" --runner "$RUNNER" --no-color "$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

status_cmd() {
	"$CCCHEF" status -F "$T/ssh/config" "$@" >"$T/.out" 2>"$T/.err"
	CODE=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# restart_node NAME newkey: the same node (port, config) with a new host key,
# as after a reinstall, or a man in the middle.
restart_node() {
	local name=$1 dir="$T/nodes/$1" port
	eval "port=\$PORT_$name"
	stop_node "$name"
	if [ "${2:-}" = newkey ]; then
		rm -f "$dir/host_ed25519" "$dir/host_ed25519.pub"
		ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519" || exit 1
	fi
	run_sshd "$name" "$port" || { echo "sshd for $name did not restart: $(cat "$dir/sshd.log")" >&2; exit 1; }
}
