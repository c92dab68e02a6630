#!/bin/bash
# tests/e2e/lib/systemd-boot.sh CGROUP UNIT_DIR LOG: boot a private systemd for a
# test. systemd becomes PID 1 of new PID, mount, UTS, IPC, network and
# cgroup namespaces, so the test gets a real service manager on a machine
# whose PID 1 is not systemd, without touching the host:
#   - /run and /etc/systemd/system are private tmpfs mounts (units, enable
#     links and /run/systemd/system vanish with the namespace);
#   - SYSTEMD_UNIT_PATH holds only the test's units and generators are
#     off, so none of the host's units (tmpfiles, sysctl, journald, udev,
#     getty, its daemons) can be started: booting the host's sysinit.target
#     would, for one, empty /tmp;
#   - its console is the LOG file;
#   - its cgroups live under CGROUP (a cgroup2 directory this script moves
#     itself into first), which the test removes afterwards.
# Killing the namespace's PID 1 from outside ends everything in it.
set -eu

if [ "${1:-}" != --inside ]; then
	cg=$1
	mkdir "$cg"
	echo $$ >"$cg/cgroup.procs"
	exec unshare --pid --mount --uts --ipc --net --cgroup --fork --mount-proc \
		--propagation private "$0" --inside "$2" "$3"
fi

mount -t tmpfs -o mode=0755 ccchef-run /run
mount -t tmpfs -o mode=0755 ccchef-units /etc/systemd/system
cp -a "$2"/. /etc/systemd/system/
# PID 1 logs to /dev/console: here that is the LOG file, not the host's console.
mount --bind "$3" /dev/console
# Rooted at the namespace's cgroup: systemd cannot reach the host's.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir /run/ccchef-no-generators
export SYSTEMD_UNIT_PATH=/etc/systemd/system
export SYSTEMD_GENERATOR_PATH=/run/ccchef-no-generators
export SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/ccchef-no-generators
export container=ccchef-e2e
exec /lib/systemd/systemd --system --unit=ccchef-e2e.target --log-target=console --log-level=info
