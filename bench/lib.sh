# bench/lib.sh -- what the rdmsd benchmarks (wsman_bench.sh, soak.sh, events.sh, ntlm.sh) share:
# a temporary PAM account in a temporary admin group, a fixture of sessions,
# free loopback ports, stopping the rdmsd they started, and clean-up of
# exactly what they made.  Sourced, not run.  The caller sets ROOT, BUSER,
# BGROUP, PAM_FILE, TMP and PID, and defines die().

MADE_USER=0
MADE_GROUP=0
MADE_PAM=0

# bench_raise_nofile N: the open-file limit up to N (one fd per connection
# on both sides; the client and rdmsd inherit it).
bench_raise_nofile() {
	local hard
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt "$1" ]; then
		ulimit -Hn "$1" || die "cannot raise the open-file limit to $1"
	fi
	ulimit -Sn "$1" || die "cannot raise the open-file limit to $1"
}

# Stops the rdmsd this script started (by PID): TERM, up to 15 s, then KILL.
bench_stop_rdmsd() {
	[ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null || return 0
	kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$PID" 2>/dev/null && kill -KILL "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
}

# Removes the account, group and PAM file this script made, and TMP.
bench_remove_made() {
	[ "$MADE_USER" = 1 ] && userdel "$BUSER" >/dev/null 2>&1
	[ "$MADE_GROUP" = 1 ] && groupdel "$BGROUP" >/dev/null 2>&1
	[ "$MADE_PAM" = 1 ] && rm -f "$PAM_FILE"
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# Creates BUSER (random password) in BGROUP and the PAM service file; sets
# PASS and AUTH (the Basic header value).
bench_make_account() {
	id "$BUSER" >/dev/null 2>&1 && die "user $BUSER exists already (left by an earlier run? userdel $BUSER)"
	if ! getent group "$BGROUP" >/dev/null; then
		groupadd "$BGROUP" || die "groupadd $BGROUP"
		MADE_GROUP=1
	fi
	useradd -M -s /usr/sbin/nologin -G "$BGROUP" "$BUSER" || die "useradd $BUSER"
	MADE_USER=1
	PASS="B-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
	echo "$BUSER:$PASS" | chpasswd || die "chpasswd"
	if [ ! -e "$PAM_FILE" ]; then
		cp "$ROOT/dist/pam.d/rdms" "$PAM_FILE" || die "cannot write $PAM_FILE"
		MADE_PAM=1
	fi
	AUTH="Basic $(printf '%s:%s' "$BUSER" "$PASS" | base64 -w0)"
}

# bench_fixture N FILE: N sessions of BUSER, three in four connected.
bench_fixture() {
	awk -v n="$1" -v u="$BUSER" 'BEGIN { for (i = 1; i <= n; i++)
		if (i % 4) printf "%d %s 0 client-%d\n", i, u, i; else printf "%d %s 4 -\n", i, u }' >"$2"
}

# bench_config FILE HTTP_PORT CIM_PORT: the rdmsd.conf both benchmarks
# start from -- the fixture back-end on $FIXTURE, WS-Man on HTTP_PORT and
# CIM-XML on CIM_PORT (0: none) on loopback, no HTTPS, the socket and the
# audit database in TMP, PAM and the admin group of the account made
# above; sets SOCK.  The caller appends what it needs besides.
bench_config() {
	SOCK=$TMP/run/rdmsd.sock
	cat >"$1" <<EOF
backends = fixture
fixture_file = $FIXTURE
vm_host_name = $VMHOST
admin_group = $BGROUP
pam_service = $PAM_SERVICE
listen_address = 127.0.0.1
http_port = $2
https_port = 0
cimxml_http_port = $3
cimxml_https_port = 0
socket_path = $SOCK
audit_db = $TMP/state/audit.db
EOF
}

# bench_many_config SESSIONS CONNS: the account, a fixture of SESSIONS
# ($FIXTURE), a free port ($HTTP_PORT) and the config $TMP/rdmsd.conf,
# letting CONNS connections in from one address (max_connections and
# max_connections_per_ip: a load generator's all come from 127.0.0.1).
bench_many_config() {
	bench_make_account
	FIXTURE=$TMP/sessions.txt
	bench_fixture "$1" "$FIXTURE"
	HTTP_PORT=$(free_port)
	bench_config "$TMP/rdmsd.conf" "$HTTP_PORT" 0
	printf 'max_connections = %d\nmax_connections_per_ip = %d\n' $(( $2 + 64 )) $(( $2 + 64 )) \
		>>"$TMP/rdmsd.conf"
}

# ws_header ACTION [MessageID [MaxEnvelopeSize]]: a WS-Man request's start,
# up to its last header (the caller closes s:Header): To names 127.0.0.1 on
# $HTTP_PORT, ResourceURI is $URI; the MessageID defaults to @@ID@@ (the
# clients put a fresh one there per request), MaxEnvelopeSize to 153600.
ws_header() {
	printf '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header><wsa:Action s:mustUnderstand="true">%s</wsa:Action><wsa:To s:mustUnderstand="true">http://127.0.0.1:%s/wsman</wsa:To><wsman:ResourceURI s:mustUnderstand="true">%s</wsman:ResourceURI><wsa:MessageID s:mustUnderstand="true">%s</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo><wsman:MaxEnvelopeSize s:mustUnderstand="true">%s</wsman:MaxEnvelopeSize>' \
		"$1" "$HTTP_PORT" "$URI" "${2:-@@ID@@}" "${3:-153600}"
}
# bench_selectors KEY: the SelectorSet of session KEY on $VMHOST.
bench_selectors() {
	printf '<wsman:SelectorSet><wsman:Selector Name="VMHostName">%s</wsman:Selector><wsman:Selector Name="SessionId">%s</wsman:Selector></wsman:SelectorSet>' \
		"$VMHOST" "$1"
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
	else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# col NAME C: the median of column C of $TMP/NAME.runs (one line per run)
col() { awk -v c="$2" '{ print $c }' "$TMP/$1.runs" | median; }

# ratio A B: A / B with two decimals (0 when B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# A TCP port nobody listens on, held for this benchmark until it ends: the
# tests' picker (tests/e2e/e2e_common.py), below the kernel's ephemeral
# range and claimed, so that a test running meanwhile never gets it.
free_port() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/e2e_common.py" free-port $$ ||
		die "no free port"
}

# rdmsd's processes: the one started (the root "priv" process) and its
# children (the unprivileged network process that parses and answers).
rdmsd_pids() { echo "$PID" $(net_pids); }

# The processes rdmsd started (the network process): rdmsd_pids but $PID.
net_pids() { cat /proc/"$PID"/task/*/children 2>/dev/null; }

# proc_sum FILE KEY: KEY's figure in /proc/PID/FILE (kB for status's VmRSS
# and VmHWM, smaps_rollup's Pss), summed over rdmsd's processes.  VmRSS
# counts the libraries both processes share in full for each; PSS splits
# a shared page among its users.
proc_sum() {
	local p m=0
	for p in $(rdmsd_pids); do
		m=$((m + $(awk -v k="$2:" '$1 == k { print $2 }' "/proc/$p/$1" 2>/dev/null || echo 0)))
	done
	echo "$m"
}

# smaps_by_file PID: the process's resident KiB per mapped file ("[anon]"
# for anonymous memory), largest first, after a line naming the process.
smaps_by_file() {
	echo "== $1 $(cat "/proc/$1/comm" 2>/dev/null)"
	awk '/^[0-9a-f]+-[0-9a-f]+ / { f = (NF >= 6 ? $6 : "[anon]") }
	     $1 == "Rss:" { kb[f] += $2 }
	     END { for (f in kb) if (kb[f] > 0) printf "%8d %s\n", kb[f], f }' \
		"/proc/$1/smaps" 2>/dev/null | sort -rn
}

# cpu_ticks_of PID: one process's CPU time (user + system) in clock ticks.
cpu_ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# switches_sum PID...: "VOLUNTARY INVOLUNTARY" context switches of the live
# threads of the processes PID..., summed (a thread that ended is not counted).
switches_sum() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^voluntary_ctxt_switches:/ { v += $2 } /^nonvoluntary_ctxt_switches:/ { n += $2 }
		END { print v + 0, n + 0 }'
}

# rdmsd's CPU time (user + system) in clock ticks, all its processes.
cpu_ticks() {
	local p t=0
	for p in $(rdmsd_pids); do
		t=$((t + $(cpu_ticks_of "$p")))
	done
	echo "$t"
}
