#!/usr/bin/env bash
# scripts/run.sh -- `make run`: rdmsd in the foreground, serving this
# host's remote-desktop sessions.
#
# What it serves: an xrdp (or X2Go) server already running here, as it is
# (rdmsd reads the client names from the log file xrdp's own config names).
# Only when none runs does it start the demonstration lab,
# scripts/demo-lab.sh: Xvfb, xrdp-sesman and xrdp on loopback and two
# accounts, rdmsdemo1 and rdmsdemo2, with random passwords and no login
# shell.  It says which it did.  The lab outlives rdmsd: Ctrl-C stops rdmsd
# alone, the sessions stay, and the next `make run` serves them again;
# `scripts/demo-lab.sh stop` logs them off, stops the lab and removes its
# accounts.
#
# Safe on a real host: HTTP and HTTPS on loopback only (RDMS_RUN_LISTEN=ADDR
# serves HTTPS on ADDR too); the config, audit database and certificate in
# $RDMS_RUN_DIR (default /run/rdms-run), never /var/lib/rdms.  Like `make
# install`, it creates the admin group rdms-admins and installs the PAM
# service /etc/pam.d/rdms when they are missing (and rdmsd creates its
# system user `rdms`).
#
# Environment: BUILD (default build); RDMS_CONFIG=FILE runs rdmsd with FILE
# as it is; RDMS_RUN_PORTS="HTTP HTTPS CIMXML-HTTP CIMXML-HTTPS" and
# RDMS_RUN_SOCKET=PATH replace the default ports and socket (tests).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
RUNDIR=${RDMS_RUN_DIR:-/run/rdms-run}
LAB="$ROOT/scripts/demo-lab.sh"
ADMIN_GROUP=rdms-admins

die() { echo "make run: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it binds the WS-Man ports and reads every session)"
[ -x "$BUILD/rdmsd" ] && [ -x "$BUILD/rdms" ] || die "$BUILD/rdmsd is not built (make build)"

# ---- this host's remote-desktop servers, from /proc ------------------------

# main_pids NAME: processes called NAME whose parent is not, and that hold
# no X server (the listener, not its per-connection or per-session children,
# nor a session a sesman restart left behind)
main_pids() {
	local f p pp c
	for f in /proc/[0-9]*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = "$1" ] || continue
		p=${f#/proc/}; p=${p%/comm}
		pp=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ "$(cat "/proc/$pp/comm" 2>/dev/null)" = "$1" ] && continue
		for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
			case $(cat "/proc/$c/comm" 2>/dev/null) in Xorg|Xvnc) continue 2 ;; esac
		done
		echo "$p"
	done
}

# xrdp_log PID: the log file of the xrdp listener PID, as xrdp finds it:
# LogFile in [Logging] of its --config (default /etc/xrdp/xrdp.ini), under
# /var/log unless absolute
xrdp_log() {
	local ini=/etc/xrdp/xrdp.ini prev="" a f
	while IFS= read -r -d '' a; do
		case $prev in -c|--config) ini=$a ;; esac
		case $a in --config=*) ini=${a#--config=} ;; esac
		prev=$a
	done < "/proc/$1/cmdline"
	f=$(awk -F= '/^\[/ { s = $0 } s == "[Logging]" && $1 == "LogFile" { print $2; exit }' \
		"$ini" 2>/dev/null)
	f=${f:-xrdp.log}
	case $f in /*) echo "$f" ;; *) echo "/var/log/$f" ;; esac
}

x2go_running() {
	local p
	for p in /proc/[0-9]*; do
		grep -qa x2gocleansessions "$p/cmdline" 2>/dev/null && return 0
	done
	[ -n "$(main_pids x2goagent)" ]
}

# ---- what to serve ---------------------------------------------------------

lab_running() { "$LAB" status 2>/dev/null | grep -q '^sesman: running'; }

# the lab and the state live here: root's own, no one else's link
mkdir -p -m 0755 "$RUNDIR" || die "cannot create $RUNDIR"
[ ! -L "$RUNDIR" ] && [ "$(stat -c %u "$RUNDIR")" = 0 ] || die "$RUNDIR is not root's own directory"

sesman=$(main_pids xrdp-sesman | head -1)
xrdp=$(main_pids xrdp | head -1)
x2go=no
x2go_running && x2go=yes
if lab_running; then
	mode=lab
	what="the demonstration lab, started by an earlier make run (its sessions carry on)"
elif [ -n "$sesman$xrdp" ] || [ $x2go = yes ]; then
	mode=host
	what="the remote-desktop server already running on this host:"
	[ -n "$sesman$xrdp" ] && what="$what xrdp (xrdp-sesman ${sesman:-not running}, xrdp ${xrdp:-not running})"
	[ $x2go = yes ] && what="$what X2Go"
else
	mode=lab
	what="the demonstration lab, started now: no xrdp or X2Go server was running here"
	RDMS_E2E_USERS=2 "$LAB" start || { "$LAB" stop; die "the demonstration lab did not start"; }
fi
[ $mode = lab ] && xrdp=$(cat "$RUNDIR/lab/run/xrdp.pid" 2>/dev/null)

# ---- what rdmsd relies on ----------------------------------------------------

getent group "$ADMIN_GROUP" >/dev/null || groupadd --system "$ADMIN_GROUP" ||
	die "could not create the group $ADMIN_GROUP"
[ -e /etc/pam.d/rdms ] || install -m 0644 dist/pam.d/rdms /etc/pam.d/rdms ||
	die "could not install /etc/pam.d/rdms"

mkdir -p -m 0700 "$RUNDIR/state" || die "cannot create $RUNDIR/state"
CONF=${RDMS_CONFIG:-$RUNDIR/rdmsd.conf}
if [ -z "${RDMS_CONFIG:-}" ]; then
	read -r http https cim_http cim_https <<< "${RDMS_RUN_PORTS:-5985 5986 5988 5989}"
	{
		echo "# rdmsd.conf(5) written by make run (scripts/run.sh)"
		if [ -n "$xrdp" ]; then echo "xrdp_log = $(xrdp_log "$xrdp")"; fi
		echo "listen_address = 127.0.0.1"
		echo "https_listen_address = ${RDMS_RUN_LISTEN:-127.0.0.1}"
		echo "http_port = $http"
		echo "https_port = $https"
		echo "cimxml_http_port = $cim_http"
		echo "cimxml_https_port = $cim_https"
		if [ -n "${RDMS_RUN_SOCKET:-}" ]; then echo "socket_path = $RDMS_RUN_SOCKET"; fi
		echo "audit_db = $RUNDIR/state/audit.db"
	} > "$CONF" || die "cannot write $CONF"
fi
https=$(awk -F' *= *' '$1 == "https_port" { print $2 }' "$CONF")
https=${https:-5986}
sock=$(awk -F' *= *' '$1 == "socket_path" { print $2 }' "$CONF")
sock=${sock:-/run/rdms/rdmsd.sock}

# ---- rdmsd ------------------------------------------------------------------

echo "make run: rdmsd serves $what"
"$BUILD/rdmsd" --foreground --config "$CONF" &
pid=$!
stopping=0
trap 'stopping=1; kill -TERM $pid 2>/dev/null' INT TERM
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done

RDMS="$ROOT/$BUILD/rdms --config $CONF"
if [ -S "$sock" ]; then
	cat <<-EOT
	make run: serving.  Config $CONF; HTTP on 127.0.0.1, HTTPS on ${RDMS_RUN_LISTEN:-127.0.0.1} only;
	audit trail and certificate in $RUNDIR/state.  Make NAME an admin (sees and acts
	on every session): usermod -aG $ADMIN_GROUP NAME.  Try, as root in another terminal:
	    \$ $RDMS list
	    \$ $RDMS query "SELECT SessionId, UserName FROM Win32_VirtualDesktopSession WHERE ConnectState = 0"
	EOT
	if [ $mode = lab ]; then
		lab=$LAB
		[ -n "${RDMS_RUN_DIR:-}" ] && lab="RDMS_RUN_DIR=$RUNDIR $LAB"
		pw="\$($lab password rdmsdemo1)"
		cat <<-EOT
		  a test session (xfreerdp on the lab's own screen), then the sessions again:
		    \$ $lab connect c1 rdmsdemo1 /client-hostname:PC1
		    \$ $RDMS list
		  over WS-Management, as the lab's account rdmsdemo1 (it sees its own session):
		    \$ RDMS_PASSWORD=$pw $ROOT/$BUILD/rdms --host https://127.0.0.1:$https/wsman -u rdmsdemo1 --insecure list
		  Ctrl-C stops rdmsd only: the lab and its sessions stay for the next make run.
		  Then end the lab (its sessions, its accounts rdmsdemo1 and rdmsdemo2):
		    \$ $lab stop
		EOT
	else
		echo "  Connect to this host with an RDP client as usual; README shows every client rdmsd serves."
	fi
fi
wait $pid
rc=$?
# Ctrl-C interrupts that wait; rdmsd's own status is the one to give
[ $stopping = 1 ] && { wait $pid; rc=$?; }
exit $rc
