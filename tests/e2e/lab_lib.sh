# lab_lib.sh -- what the e2e labs (lab.sh: xrdp; x2go_lab.sh: X2Go
# behind sshd; fleet_host_init.sh: an xrdp machine of the fleet lab) share:
# polling, /proc readers, starting and stopping their own processes by PID
# (never by name or process group) and xrdp's configs.  Sourced, not run;
# the caller sets RUN (PID files) and LOGD (logs).

# wait_for SECONDS CMD...: poll every 0.1 s until CMD succeeds
wait_for() {
	local limit=$(( $1 * 10 )) i=0; shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -ge $limit ] && return 1; sleep 0.1
	done
}
# alive PID: running and not a zombie (P11)
alive() {
	[ -n "${1:-}" ] && [ -r "/proc/$1/status" ] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
pid_of() { cat "$RUN/$1.pid" 2>/dev/null; }
# children PID: direct children of PID, from /proc (no pgrep: no name matching)
children() {
	local t
	for t in /proc/"$1"/task/*/children; do cat "$t" 2>/dev/null; done | tr ' ' '\n' | grep .
}
comm_of() { cat "/proc/$1/comm" 2>/dev/null; }

# spawn NAME CMD...: start CMD in the background in its own session, record
# its PID in $RUN/NAME.pid and, when it ends, its status in $RUN/NAME.rc
spawn() {
	local name=$1; shift
	rm -f "$RUN/$name.pid" "$RUN/$name.rc"
	setsid bash -c '"$@" & echo $! > "'"$RUN/$name"'.pid"; wait $!; echo $? > "'"$RUN/$name"'.rc"' \
		_ "$@" > "$LOGD/$name.log" 2>&1 < /dev/null &
	wait_for 5 test -s "$RUN/$name.pid" || die "could not start $name"
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL
stop_pid() {
	alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null
	wait_for 5 eval '! alive '"$1" || { echo "  $1 ($(comm_of "$1")) ignored SIGTERM: SIGKILL"; kill -KILL "$1" 2>/dev/null; }
}

# xrdp_listening: xrdp-sesman (3350) and xrdp (3389) listen, in this network namespace
xrdp_listening() {
	# sesman binds [::1]:3350 (or 127.0.0.1), xrdp 127.0.0.1:3389
	local t
	t=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null)
	# local port in hex after the colon, state 0A = LISTEN
	echo "$t" | awk '$4 == "0A" && $2 ~ /:0D16$/ {a=1} END {exit !a}' &&
		echo "$t" | awk '$4 == "0A" && $2 ~ /:0D3D$/ {a=1} END {exit !a}'
}

# xrdp_configs ETC LOGD PORT [DISPLAY_OFFSET]: xrdp.ini and sesman.ini in ETC,
# copies of /etc/xrdp's with xrdp listening on PORT (xrdp.ini's syntax), the
# logs in LOGD and no syslog (xrdp at its usual INFO level, which keeps the
# client names rdms reads; sesman at DEBUG) and, when given, the sessions'
# X displays numbered from DISPLAY_OFFSET.  xrdp reads the sesman port from
# /etc/xrdp/sesman.ini whatever --config says (P14), so 3350 stays.
xrdp_configs() {
	local etc=$1 logd=$2 port=$3 offset=${4:-}
	sed -e "s|^port=3389|port=$port|" \
	    -e "s|^LogFile=xrdp.log|LogFile=$logd/xrdp.log|" \
	    -e 's|^EnableSyslog=true|EnableSyslog=false|' \
	    /etc/xrdp/xrdp.ini > "$etc/xrdp.ini" || return 1
	sed -e "s|^LogFile=xrdp-sesman.log|LogFile=$logd/xrdp-sesman.log|" \
	    -e 's|^EnableSyslog=true|EnableSyslog=false|' \
	    -e 's|^LogLevel=INFO|LogLevel=DEBUG|' \
	    ${offset:+-e "s|^X11DisplayOffset=.*|X11DisplayOffset=$offset|"} \
	    /etc/xrdp/sesman.ini > "$etc/sesman.ini" || return 1
	if ! grep -q "^LogFile=$logd/xrdp.log" "$etc/xrdp.ini" ||
	   ! grep -q "^port=$port" "$etc/xrdp.ini"; then
		echo "could not set the xrdp log and port in $etc/xrdp.ini" >&2
		return 1
	fi
}
