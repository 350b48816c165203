#!/bin/bash
# x2go_lab.sh -- a real X2Go 4.1 server on this machine for rdms's
# end-to-end test: x2goserver behind its own sshd, driven by the real
# pyhoca-cli client (python3-x2go) drawing on a private Xvfb.
#
#   x2go_lab.sh install          apt-get the packages when missing (exit 3
#                                when they cannot be installed at all)
#   x2go_lab.sh start            users, key, sshd -D on a free loopback
#                                port, Xvfb (client screen), x2gocleansessions
#   x2go_lab.sh new NAME USER    pyhoca-cli -N: a new twm desktop for USER
#   x2go_lab.sh resume NAME USER SESSION
#                                pyhoca-cli -R: resume SESSION
#   x2go_lab.sh suspend NAME USER SESSION
#   x2go_lab.sh terminate NAME USER SESSION
#                                pyhoca-cli -S / -T: suspend or terminate
#                                SESSION (the client exits when done)
#   x2go_lab.sh stop             terminate the lab users' sessions as their
#                                users, then stop what start/new/resume
#                                started, by PID
#   x2go_lab.sh env              shell assignments for other scripts (eval)
#
# Everything lives under $RDMS_X2GO_DIR (default /tmp/rdms-e2e/x2go): the
# sshd config and host key in etc/, logs in log/, PID files in run/ (a
# client's exit status goes to run/client-NAME.rc), the client user's home
# in client/.  Outside it the lab uses what X2Go itself uses: the session
# database /var/lib/x2go/x2go_sessions, /tmp/.x2go-<user>, /tmp/.X11-unix,
# the test users' homes, /run/sshd.  Processes are only ever signalled by
# the PIDs recorded here (or the agent PID of a lab user's session), never
# by name or process group.
#
# Session users are rdmsx2go1 and rdmsx2go2 (key login); pyhoca-cli runs as
# the client user rdmsx2goc (python3-x2go keeps its state in ~).
set -u

LAB=${RDMS_X2GO_DIR:-/tmp/rdms-e2e/x2go}
RUN=$LAB/run
LOGD=$LAB/log
ETC=$LAB/etc
CH=$LAB/client
USERS="rdmsx2go1 rdmsx2go2"
UC=rdmsx2goc
DB=/var/lib/x2go/x2go_sessions
PACKAGES="x2goserver x2goserver-xsession openssh-server openssh-client pyhoca-cli python3-x2go
	nxproxy xvfb twm x11-utils xauth xdotool sqlite3"

die() { echo "x2go_lab.sh: $*" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lab_lib.sh"
setting() { sed -n "s/^$1=//p" "$LAB/env" 2>/dev/null; }


missing_packages() {
	local p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

do_install() {
	local m
	m=$(missing_packages)
	[ -z "$m" ] && return 0
	echo "installing:" $m
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $m; } > /tmp/x2go_lab-apt.log 2>&1
	[ -z "$(missing_packages)" ] && return 0
	tail -5 /tmp/x2go_lab-apt.log >&2
	exit 3
}

# held for this script until sshd listens on it (e2e_common.free_port)
free_port() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/e2e_common.py" free-port $$
}
free_display() {
	local n
	for n in 98 97 96 95 94 93 92 91 90; do
		[ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { echo ":$n"; return; }
	done
	die "no free display among :90..:98"
}
listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p {f=1} END {exit !f}' /proc/net/tcp
}

setup_users() {
	local u
	mkdir -p "$CH/.ssh" && chmod 700 "$CH/.ssh"
	[ -f "$CH/.ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C rdms-x2go-lab -f "$CH/.ssh/id_ed25519" ||
		die "ssh-keygen"
	for u in $USERS; do
		id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u" || die "useradd $u"
		# twm must not place windows interactively: it grabs the server
		printf 'RandomPlacement\nNoGrabServer\nUsePPosition "on"\n' > "/home/$u/.twmrc"
		install -d -m 700 -o "$u" -g "$u" "/home/$u/.ssh"
		install -m 600 -o "$u" -g "$u" "$CH/.ssh/id_ed25519.pub" "/home/$u/.ssh/authorized_keys"
		chown "$u:" "/home/$u/.twmrc"
	done
	id "$UC" >/dev/null 2>&1 || useradd -M -d "$CH" -s /bin/sh "$UC" || die "useradd $UC"
	chown -R "$UC:" "$CH"
}

do_start() {
	local port disp
	[ "$(hostname)" = localhost ] && die "hostname is 'localhost': X2Go refuses to list sessions"
	mkdir -p "$RUN" "$LOGD" "$ETC" || die "cannot create $LAB"
	chmod 755 "$LAB"
	if alive "$(pid_of sshd)"; then
		echo "x2go lab already running in $LAB"
		return 0
	fi
	[ -z "$(missing_packages)" ] || die "packages missing: $(missing_packages | tr '\n' ' ')"
	setup_users
	port=$(free_port)
	[ -f "$ETC/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$ETC/ssh_host_ed25519_key"
	cat > "$ETC/sshd_config" <<-EOF
	Port $port
	ListenAddress 127.0.0.1
	HostKey $ETC/ssh_host_ed25519_key
	PidFile none
	UsePAM yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PubkeyAuthentication yes
	AllowUsers $USERS
	AllowTcpForwarding yes
	X11Forwarding no
	PrintMotd no
	Subsystem sftp /usr/lib/openssh/sftp-server
	EOF
	mkdir -p /run/sshd && chmod 755 /run/sshd
	/usr/sbin/sshd -t -f "$ETC/sshd_config" || die "sshd config invalid"
	rm -f "$RUN"/*.pid "$RUN"/*.rc
	disp=$(free_display)
	printf 'SSH_PORT=%s\nCLIENT_DISPLAY=%s\n' "$port" "$disp" > "$LAB/env"
	spawn xvfb Xvfb "$disp" -screen 0 1280x1024x24 -nolisten tcp
	wait_for 10 test -S "/tmp/.X11-unix/X${disp#:}" || die "Xvfb $disp did not start"
	spawn sshd /usr/sbin/sshd -D -e -f "$ETC/sshd_config"
	wait_for 10 listening "$port" || die "sshd did not listen on 127.0.0.1:$port (see $LOGD/sshd.log)"
	# X2Go's housekeeping daemon, as x2goserver.service runs it (foreground here)
	spawn clean /usr/sbin/x2gocleansessions --debug
	echo "x2go lab started in $LAB (sshd $(pid_of sshd) on 127.0.0.1:$port, Xvfb $disp," \
		"x2gocleansessions $(pid_of clean))"
}

# pyhoca NAME USER ARGS...: pyhoca-cli as the client user; it stays in the
# foreground while its session is connected
pyhoca() {
	local name=$1 u=$2; shift 2
	alive "$(pid_of sshd)" || die "the x2go lab is not running"
	spawn "client-$name" setpriv --reuid="$UC" --regid="$UC" --init-groups \
		env HOME="$CH" USER="$UC" LOGNAME="$UC" DISPLAY="$(setting CLIENT_DISPLAY)" \
		pyhoca-cli --server 127.0.0.1 -p "$(setting SSH_PORT)" -l "$u" -i "$CH/.ssh/id_ed25519" \
		--add-to-known-hosts --sound none -g 800x600 "$@"
	pid_of "client-$name"
}

lab_rows() {   # agent_pid|session_id|uname of the lab users' unfinished sessions
	local users
	users=$(echo $USERS | sed "s/ /','/g")
	sqlite3 -readonly -separator '|' "$DB" "select ifnull(agent_pid,''), session_id, uname from sessions
		where uname in ('$users') and status != 'F'" 2>/dev/null
}

do_stop() {
	local a s u f p m
	[ -d "$RUN" ] || { echo "no x2go lab in $LAB"; return 0; }
	# 1. log off the lab users' sessions as their users (X2Go's own way)
	lab_rows | while IFS='|' read -r a s u; do
		setpriv --reuid="$u" --regid="$u" --init-groups env HOME="/home/$u" USER="$u" LOGNAME="$u" \
			x2goterminate-session "$s" >/dev/null 2>&1
		[ -n "$a" ] && { wait_for 10 eval '! alive '"$a" || stop_pid "$a"; }
	done
	# 2. clients, then the daemons: sshd's per-connection children first
	for f in "$RUN"/client-*.pid; do [ -e "$f" ] && stop_pid "$(cat "$f")"; done
	stop_pid "$(pid_of clean)"
	m=$(pid_of sshd)
	if alive "$m"; then
		for p in $(children "$m"); do stop_pid "$p"; done
		stop_pid "$m"
	fi
	stop_pid "$(pid_of xvfb)"
	# 3. finished rows (status F) of the lab users: X2Go's own purge
	x2golistsessions_root >/dev/null 2>&1
	# session directories outlive their sessions (state TERMINATED): drop
	# the lab users' ones once none of their agents runs
	for u in $USERS; do
		[ -n "$(pgrep -u "$u" -x x2goagent)" ] || rm -rf -- "/tmp/.x2go-$u"
	done
	# PID files are spent: a later stop must not signal a reused PID
	rm -f "$RUN"/*.pid
	echo "x2go lab stopped"
}

do_env() {
	echo "X2GO_LAB=$LAB X2GO_RUN=$RUN X2GO_LOGD=$LOGD $(tr '\n' ' ' < "$LAB/env" 2>/dev/null)"
}

[ "$(id -u)" = 0 ] || die "needs root (creates users, runs sshd)"
case "${1:-}" in
	install) do_install ;;
	start) do_start ;;
	stop) do_stop ;;
	new) [ $# -eq 3 ] || die "usage: x2go_lab.sh new NAME USER"
		pyhoca "$2" "$3" -c twm -t desktop -N ;;
	resume) [ $# -eq 4 ] || die "usage: x2go_lab.sh resume NAME USER SESSION"
		pyhoca "$2" "$3" -R "$4" ;;
	suspend|terminate) [ $# -eq 4 ] || die "usage: x2go_lab.sh $1 NAME USER SESSION"
		if [ "$1" = suspend ]; then pyhoca "$2" "$3" -S "$4"; else pyhoca "$2" "$3" -T "$4"; fi ;;
	env) do_env ;;
	*) echo "usage: x2go_lab.sh install|start|stop|env|new NAME USER|resume|suspend|terminate" \
		"NAME USER SESSION" >&2
	   exit 2 ;;
esac
