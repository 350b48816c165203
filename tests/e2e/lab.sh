#!/bin/bash
# lab.sh -- a real xrdp 0.9 server on this machine, for rdms's end-to-end
# tests, its benchmark and `make run`.
#
#   lab.sh start                 users, lab configs, Xvfb (client screen),
#                                xrdp-sesman and xrdp in the foreground
#   lab.sh connect NAME USER [xfreerdp args...]
#                                an xfreerdp client drawing on the lab's Xvfb;
#                                its PID goes to $RUN/client-NAME.pid and its
#                                exit status, once it ends, to client-NAME.rc
#   lab.sh sessions              sessions of the lab's sesman, from /proc
#   lab.sh status                what runs, and the sessions
#   lab.sh restart-sesman        stop sesman and start it again; its sessions
#                                live on as PID 1's children (P8), and their
#                                pids are kept in $RUN/orphans for `stop`
#   lab.sh stop                  log every session off (backends.md P8), then
#                                stop what `start`/`connect` started, by PID
#   lab.sh env                   shell assignments for other scripts (eval)
#
# Everything lives under $RDMS_E2E_DIR (default /tmp/rdms-e2e): configs in
# etc/, logs in log/, PID files in run/ (mode 1777: session processes run as
# the test users, P15) and the rdms config, rdms.conf, that points rdms at the
# lab's xrdp log.  Outside it the lab uses what xrdp itself uses:
# /run/xrdp/sockdir, /tmp/.X11-unix, the test users' homes, ports 3350/3389
# on loopback.  Processes are only ever signalled by the PIDs recorded here,
# never by name or process group (P7).
#
# Test users are rdmstest1..rdmstestN (N = $RDMS_E2E_USERS, default 2; the
# prefix is $RDMS_LAB_USER_PREFIX, rdmsdemo for scripts/demo-lab.sh).  Each
# start gives them fresh random passwords, kept in etc/passwords (root only;
# `lab.sh password USER` prints one), and no login shell (xrdp needs none);
# `stop` removes the accounts again (or, if one still runs a process, locks
# it), so no lab account with a known password outlives the lab.
set -u

LAB=${RDMS_E2E_DIR:-/tmp/rdms-e2e}
RUN=$LAB/run
LOGD=$LAB/log
ETC=$LAB/etc
CLIENT_DISPLAY=${RDMS_E2E_CLIENT_DISPLAY:-:99}
NUSERS=${RDMS_E2E_USERS:-2}
PREFIX=${RDMS_LAB_USER_PREFIX:-rdmstest}
PASSWORDS=$ETC/passwords
SOCKDIR=/run/xrdp/sockdir

die() { echo "lab.sh: $*" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lab_lib.sh"

password() { awk -v u="$1" '$1 == u { print $2; f = 1 } END { exit !f }' "$PASSWORDS" 2>/dev/null; }
lab_users() { local i; for i in $(seq 1 "$NUSERS"); do echo "$PREFIX$i"; done; }

setup_users() {
	local u pw
	( umask 077; : > "$PASSWORDS" ) || die "cannot write $PASSWORDS"
	for u in $(lab_users); do
		id "$u" >/dev/null 2>&1 ||
			useradd -m -s /usr/sbin/nologin -c "rdms lab user (lab.sh stop removes it)" "$u" ||
			die "useradd $u"
		# an account left by an older lab may still have a shell
		usermod -s /usr/sbin/nologin "$u" || die "usermod $u"
		pw=L-$(head -c 15 /dev/urandom | base64 | tr '+/' '-_')
		echo "$u:$pw" | chpasswd || die "chpasswd $u"
		echo "$u $pw" >> "$PASSWORDS"
		# the session lives as long as this exec'd WM (sesman waits for it)
		cat > "/home/$u/startwm.sh" <<-'EOF'
		#!/bin/sh
		xsetroot -solid '#336699' 2>/dev/null
		exec twm
		EOF
		# twm must not place windows interactively: it grabs the server (P2)
		printf 'RandomPlacement\nNoGrabServer\nUsePPosition "on"\n' > "/home/$u/.twmrc"
		chmod 755 "/home/$u/startwm.sh"
		chown "$u:" "/home/$u/startwm.sh" "/home/$u/.twmrc"
	done
}

setup_configs() {
	# loopback only; xrdp_configs: lab_lib.sh
	xrdp_configs "$ETC" "$LOGD" 'tcp://.:3389' || die "cannot write the xrdp configs in $ETC"
	cat > "$LAB/rdms.conf" <<-EOF
	# rdms configuration for the end-to-end lab (written by lab.sh)
	vm_name = e2e-vm
	vm_host_name = e2e-host
	collection_id = e2e-collection
	domain_name = E2EDOM
	xrdp_log = $LOGD/xrdp.log
	xrdp_sockdir = $SOCKDIR
	logoff_grace_ms = 2000
	message_timeout_s = 60
	EOF
}

do_start() {
	mkdir -p "$RUN" "$LOGD" "$ETC" || die "cannot create $LAB"
	chmod 1777 "$RUN"
	if alive "$(pid_of sesman)" && alive "$(pid_of xrdp)"; then
		echo "lab already running in $LAB"
		return 0
	fi
	xrdp_listening && die "ports 3350/3389 are already in use by another xrdp; not starting"
	setup_users
	setup_configs
	mkdir -p "$SOCKDIR" && chmod 3777 "$SOCKDIR"
	: > "$LOGD/xrdp.log"; : > "$LOGD/xrdp-sesman.log"
	rm -f "$RUN"/*.pid "$RUN"/*.rc "$RUN/orphans"

	if ! alive "$(pid_of xvfb)"; then
		[ -e "/tmp/.X11-unix/X${CLIENT_DISPLAY#:}" ] &&
			die "display $CLIENT_DISPLAY is in use (set RDMS_E2E_CLIENT_DISPLAY)"
		spawn xvfb Xvfb "$CLIENT_DISPLAY" -screen 0 1280x1024x24 -nolisten tcp
		wait_for 10 test -S "/tmp/.X11-unix/X${CLIENT_DISPLAY#:}" || die "Xvfb did not start"
	fi
	spawn sesman xrdp-sesman --nodaemon --config "$ETC/sesman.ini"
	spawn xrdp xrdp --nodaemon --config "$ETC/xrdp.ini"
	wait_for 10 xrdp_listening || die "xrdp/sesman did not start listening (see $LOGD)"
	echo "lab started in $LAB (sesman $(pid_of sesman), xrdp $(pid_of xrdp), Xvfb $CLIENT_DISPLAY)"
}

# connect NAME USER [xfreerdp args...]
do_connect() {
	local name=$1 u=$2; shift 2
	alive "$(pid_of xrdp)" || die "the lab is not running"
	password "$u" > /dev/null || die "no lab user $u"
	# the password reaches xfreerdp through the environment (readable by
	# root only), never a command line `ps` shows; xfreerdp masks its own
	( export LAB_PASSWORD; LAB_PASSWORD=$(password "$u")
	  spawn "client-$name" env DISPLAY="$CLIENT_DISPLAY" sh -c \
		'exec xfreerdp "$@" /p:"$LAB_PASSWORD"' xfreerdp /v:127.0.0.1:3389 \
		/u:"$u" /cert:ignore /log-level:WARN "$@" )
	# back once the session is there (so `rdms list` shows it next), or
	# with the client's status if it gave up
	wait_for 30 eval 'has_session "$u" || ! alive "$(pid_of "client-$name")"'
	alive "$(pid_of "client-$name")" ||
		die "xfreerdp ended (status $(cat "$RUN/client-$name.rc" 2>/dev/null)); see $LOGD/client-$name.log"
	has_session "$u" || echo "lab.sh: no session of $u after 30 s (see $LOGD)" >&2
	pid_of "client-$name"
}

# The sesman session processes: children of the main sesman named xrdp-sesman.
session_pids() {
	local m p
	m=$(pid_of sesman)
	alive "$m" || return 0
	for p in $(children "$m"); do
		[ "$(comm_of "$p")" = xrdp-sesman ] && alive "$p" && echo "$p"
	done
}
# The sessions a sesman restart left behind (recorded by restart-sesman),
# while they still are session processes.
orphan_pids() {
	local p
	[ -f "$RUN/orphans" ] || return 0
	for p in $(sort -u "$RUN/orphans"); do
		[ "$(comm_of "$p")" = xrdp-sesman ] && alive "$p" && echo "$p"
	done
}
# x_server_of SID: the Xorg/Xvnc child of a session process
x_server_of() {
	local p
	for p in $(children "$1"); do
		case $(comm_of "$p") in Xorg|Xvnc) echo "$p"; return;; esac
	done
}

# has_session USER: USER has a session whose window manager runs (so xrdp
# is attached to its X server)
has_session() {
	local s x c
	for s in $(session_pids); do
		x=$(x_server_of "$s")
		[ -n "$x" ] && [ "$(stat -c %U "/proc/$x" 2>/dev/null)" = "$1" ] || continue
		for c in $(children "$s"); do
			case $(comm_of "$c") in Xorg|Xvnc|xrdp-chansrv) ;; *) return 0 ;; esac
		done
	done
	return 1
}

do_sessions() {
	local s x
	printf '%-8s %-11s %-5s %-8s %s\n' SID USER KIND XSERVER DISPLAY
	for s in $(session_pids) $(orphan_pids); do
		x=$(x_server_of "$s")
		[ -n "$x" ] || continue
		printf '%-8s %-11s %-5s %-8s %s\n' "$s" "$(stat -c %U "/proc/$x")" "$(comm_of "$x")" "$x" \
			"$(tr '\0' ' ' < "/proc/$x/cmdline" | awk '{print $2}')"
	done
}

do_status() {
	local p
	for p in xvfb sesman xrdp; do
		if alive "$(pid_of $p)"; then echo "$p: running ($(pid_of $p))"; else echo "$p: stopped"; fi
	done
	do_sessions
}

do_stop() {
	local s x p f m
	[ -d "$RUN" ] || { echo "no lab in $LAB"; return 0; }
	# 1. log off every session (sesman leaves them running when it stops, P8):
	#    SIGTERM the X server, never the session process or a group (P6, P7)
	for s in $(session_pids) $(orphan_pids); do
		x=$(x_server_of "$s")
		[ -n "$x" ] && kill -TERM "$x" 2>/dev/null
	done
	for s in $(session_pids) $(orphan_pids); do
		wait_for 10 eval '! alive '"$s" || {
			x=$(x_server_of "$s"); echo "  session $s did not end; SIGKILL its X server $x"
			[ -n "$x" ] && kill -KILL "$x" 2>/dev/null
		}
	done
	# 2. the clients and whatever else was spawned by name
	for f in "$RUN"/client-*.pid "$RUN"/extra-*.pid; do
		[ -e "$f" ] && stop_pid "$(cat "$f")"
	done
	# 3. xrdp: per-connection children first, then the listener
	m=$(pid_of xrdp)
	if alive "$m"; then
		for p in $(children "$m"); do [ "$(comm_of "$p")" = xrdp ] && stop_pid "$p"; done
		stop_pid "$m"
	fi
	stop_pid "$(pid_of sesman)"
	stop_pid "$(pid_of xvfb)"
	remove_users
	echo "lab stopped"
}

do_restart_sesman() {
	local s
	alive "$(pid_of sesman)" || die "sesman is not running"
	for s in $(session_pids); do echo "$s" >> "$RUN/orphans"; done
	stop_pid "$(pid_of sesman)"
	spawn sesman xrdp-sesman --nodaemon --config "$ETC/sesman.ini"
	wait_for 10 xrdp_listening || die "sesman did not listen again (see $LOGD)"
	echo "sesman restarted ($(pid_of sesman)); sessions left behind: $(orphan_pids | tr '\n' ' ')"
}

# The lab's accounts go with it; one still running a process is locked
# (no password, expired) instead, and named.
remove_users() {
	local u
	for u in $(lab_users); do
		id "$u" >/dev/null 2>&1 || continue
		userdel -r "$u" >/dev/null 2>&1 && continue
		usermod -L -e 1 -s /usr/sbin/nologin "$u" >/dev/null 2>&1
		echo "  $u still runs processes: account locked, not removed"
	done
	rm -f "$PASSWORDS"
}

do_env() {
	echo "LAB=$LAB RUN=$RUN LOGD=$LOGD CLIENT_DISPLAY=$CLIENT_DISPLAY RDMS_CONF=$LAB/rdms.conf"
	echo "SESMAN_PID=$(pid_of sesman) XRDP_PID=$(pid_of xrdp)"
}

[ "$(id -u)" = 0 ] || die "needs root (creates users, runs xrdp)"
case "${1:-}" in
	start) do_start ;;
	stop) do_stop ;;
	status) do_status ;;
	sessions) do_sessions ;;
	restart-sesman) do_restart_sesman ;;
	connect) [ $# -ge 3 ] || die "usage: lab.sh connect NAME USER [xfreerdp args...]"
		shift; do_connect "$@" ;;
	password) [ $# -eq 2 ] || die "usage: lab.sh password USER"
		password "$2" || die "no lab user $2 (is the lab running?)" ;;
	env) do_env ;;
	*) echo "usage: lab.sh start|stop|status|sessions|restart-sesman|connect NAME USER [args]|password USER|env" >&2
	   exit 2 ;;
esac
