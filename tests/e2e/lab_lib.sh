# lab_lib.sh -- what the two e2e labs (lab.sh: xrdp; x2go_lab.sh: X2Go
# behind sshd) share: polling, /proc readers and starting and stopping
# their own processes by PID (never by name or process group).  Sourced,
# not run; the caller sets RUN (PID files) and LOGD (logs).

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
