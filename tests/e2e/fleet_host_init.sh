#!/bin/bash
# fleet_host_init.sh HOSTDIR RDMSD -- PID 1 of one real xrdp "machine" of
# the fleet lab (fleet_lab.py; spec/fleet.md 4.4), started in the host's
# network namespace as
#     ip netns exec hv-xrdp-1 unshare --mount --pid --fork --mount-proc \
#         fleet_host_init.sh HOSTDIR RDMSD
# Its mount namespace gets its own tmpfs on /tmp (X sockets and lock files)
# and on /run/xrdp (xrdp's socket directory and PID files); its PID
# namespace's /proc shows only its own processes, so the xrdp back-end of
# its rdmsd sees this machine's sessions and no other's.  It runs
# xrdp-sesman and xrdp (HOSTDIR/etc/{sesman,xrdp}.ini, written by
# fleet_lab.py with lab_lib.sh's xrdp_configs) and RDMSD
# (HOSTDIR/rdmsd.conf), PID files in HOSTDIR/run (PIDs of this namespace),
# logs in HOSTDIR/log.
#
# SIGTERM stops rdmsd, xrdp and sesman by PID and ends this init; the
# kernel then ends whatever else ran here (the sessions): the machine is
# off.  SIGKILL from outside is the same without the goodbyes.
set -u
H=$1 RDMSD=$2
RUN=$H/run LOGD=$H/log
die() { echo "fleet_host_init: $*" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lab_lib.sh"

[ $$ = 1 ] || die "must run as PID 1 of its own PID namespace (unshare --pid --fork)"
mkdir -p "$RUN" "$LOGD" || die "cannot create $RUN, $LOGD"
mount -t tmpfs -o mode=1777,size=64m fleet-tmp /tmp || die "tmpfs on /tmp"
mkdir -m 1777 /tmp/.X11-unix || die "/tmp/.X11-unix"
mkdir -p /run/xrdp || die "/run/xrdp"
mount -t tmpfs -o mode=755,size=8m fleet-xrdp /run/xrdp || die "tmpfs on /run/xrdp"
mkdir -m 3777 /run/xrdp/sockdir || die "/run/xrdp/sockdir"

sleeper=
off() {
	local p
	for p in rdmsd xrdp sesman; do stop_pid "$(pid_of $p)"; done
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	exit 0
}
trap off TERM INT

spawn sesman xrdp-sesman --nodaemon --config "$H/etc/sesman.ini"
spawn xrdp xrdp --nodaemon --config "$H/etc/xrdp.ini"
wait_for 10 xrdp_listening || die "xrdp/sesman did not start listening (see $LOGD)"
spawn rdmsd "$RDMSD" --foreground --config "$H/rdmsd.conf"
echo "machine up: sesman $(pid_of sesman), xrdp $(pid_of xrdp), rdmsd $(pid_of rdmsd)"

# PID 1 reaps whatever the sessions orphan; a trapped signal interrupts wait
while :; do
	sleep infinity &
	sleeper=$!
	wait "$sleeper"
done
