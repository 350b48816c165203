#!/usr/bin/env bash
# bench/soak.sh -- rdmsd under a long mixed load on 1,000 keep-alive
# connections (issue 5 item 6).  A benchmark, not a test: it prints figures
# and the targets next to them (no errors, no growth, p99 <= 10 ms at 1,000
# connections); it fails only when rdmsd cannot be set up.  `make soak`
# runs it for 10 minutes; bench/run.sh does not run it.
#
# What it does, on loopback and inside a temporary directory:
#   - a fixture of $SOAK_SESSIONS (1,000) sessions, a config that lets
#     $SOAK_CONNECTIONS connections in (max_connections and
#     max_connections_per_ip: all of wrk's come from 127.0.0.1), and a
#     temporary PAM account in a temporary admin group, so every request
#     goes the realistic way: HTTP Basic, PAM (verified-credential cache),
#     the admin check;
#   - starts `rdmsd --foreground` with the open-file limit raised (one fd
#     per connection) and checks a Get;
#   - the soak: wrk -c$SOAK_CONNECTIONS -t$SOAK_THREADS -d$SOAK_SECONDS with
#     bench/soak.lua: 80% Get by key of a random session, 14.5% Enumerate
#     with a WQL filter selecting 5 sessions, 0.5% Enumerate of all
#     sessions, 5% Invoke SendMessage (audited: one fsync each), every
#     request with a fresh MessageID; every reply is checked.  The
#     connections together offer about $SOAK_RATE requests a second (each
#     waits between a reply and its next request): a latency target means
#     something only below saturation -- a closed loop of 1,000
#     connections measures the queue (latency = connections / throughput);
#   - the peak: $SOAK_PEAK_SECONDS more on the same number of connections,
#     closed loop (each sends again at once): the most requests/s;
#   - samples rdmsd's processes (the root "priv" one and the network one,
#     or the single one of a build without privilege separation) every
#     $SOAK_SAMPLE seconds: VmRSS, open fds, threads, CPU time;
#   - prints for each phase requests/s, p50/p90/p99/p99.9 latency, errors
#     (wrk's socket errors, non-200 answers, faults, wrong replies),
#     rdmsd's CPU time per request, audit rows against the successful
#     Invokes wrk counted (rows may exceed them by the Invokes in flight
#     when wrk stopped, at most one per connection); and per process
#     VmRSS/VmHWM, open fds and threads before the load, under it and
#     after the connections closed.
# The machine's load average is printed at the start and the end of each
# phase: other work on the machine shows up in the latency.
#
# Needs root (useradd, a PAM file, the open-file limit), wrk, curl and
# sqlite3 (`make soak` installs them: BENCH_DEPS).  Cleans up on any exit:
# stops the rdmsd it started (by PID), removes the account, the group, the
# PAM file it created and the temp dir.
#
# Environment: BUILD (build), RDMSD ($BUILD/rdmsd), SOAK_SECONDS (600),
# SOAK_CONNECTIONS (1000), SOAK_THREADS (2), SOAK_SESSIONS (1000),
# SOAK_MIX (get,enum,full,invoke fractions; 0.80,0.145,0.005,0.05),
# SOAK_RATE (requests/s offered in the soak, 1000; 0: closed loop, no peak
# phase), SOAK_PEAK_SECONDS (30; 0: none), SOAK_SAMPLE (10 s),
# SOAK_TIMEOUT (wrk's per-request time-out, 5s).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
RDMSD=${RDMSD:-$BUILD/rdmsd}
SECONDS_=${SOAK_SECONDS:-600}
CONNS=${SOAK_CONNECTIONS:-1000}
THREADS=${SOAK_THREADS:-2}
N=${SOAK_SESSIONS:-1000}
MIX=${SOAK_MIX:-0.80,0.145,0.005,0.05}
SAMPLE=${SOAK_SAMPLE:-10}
TIMEOUT=${SOAK_TIMEOUT:-5s}
RATE=${SOAK_RATE:-1000}
PEAK=${SOAK_PEAK_SECONDS:-30}
LUA=$ROOT/bench/soak.lua
NOFILE=$(( CONNS * 2 + 4096 ))

BUSER=rdmssoak
BGROUP=rdms-soak-admins
PAM_SERVICE=rdms-soak
PAM_FILE=/etc/pam.d/$PAM_SERVICE
VMHOST=soak-host
CLASS=Win32_VirtualDesktopSession
URI=http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/$CLASS
SOAP_TYPE='application/soap+xml;charset=UTF-8'

die() { echo "soak: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (creates a PAM account, raises the open-file limit); run: sudo make soak"
command -v wrk >/dev/null || die "wrk is missing (make soak installs BENCH_DEPS)"
command -v curl >/dev/null || die "curl is missing"
command -v sqlite3 >/dev/null || die "sqlite3 is missing"
[ -x "$RDMSD" ] || die "$RDMSD is not built (make build)"
case $SECONDS_ in ''|*[!0-9]*) die "SOAK_SECONDS must be a number of seconds" ;; esac
[ "$SECONDS_" -ge 10 ] || die "SOAK_SECONDS must be at least 10"
[ "$N" -ge 10 ] || die "SOAK_SESSIONS must be at least 10"
case $RATE$PEAK$CONNS in *[!0-9]*) die "SOAK_RATE, SOAK_PEAK_SECONDS and SOAK_CONNECTIONS are numbers" ;; esac
RDMSD=$(cd "$(dirname "$RDMSD")" && pwd)/$(basename "$RDMSD")

# One fd per connection on both sides, and wrk and rdmsd inherit this.
. "$ROOT/bench/lib.sh"
bench_raise_nofile "$NOFILE"

# ---- clean-up: only what this script made ----------------------------------
TMP=
PID=
SAMPLER=
WRK=
cleanup() {
	if [ -n "$WRK" ] && kill -0 "$WRK" 2>/dev/null; then
		kill -TERM "$WRK" 2>/dev/null
		wait "$WRK" 2>/dev/null
	fi
	if [ -n "$SAMPLER" ] && kill -0 "$SAMPLER" 2>/dev/null; then
		kill -TERM "$SAMPLER" 2>/dev/null
		wait "$SAMPLER" 2>/dev/null
	fi
	bench_stop_rdmsd
	bench_remove_made
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TMP=$(mktemp -d /tmp/rdms-soak.XXXXXX)
chmod 755 "$TMP"

# ---- helpers -----------------------------------------------------------------
# rdmsd's processes: the one started, and its children (the network
# process of a privilege-separated build).
procs() {
	local kids
	echo "$PID"
	kids=$(cat /proc/"$PID"/task/*/children 2>/dev/null)
	[ -n "$kids" ] && printf '%s\n' $kids
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
pname() {   # "priv" / "net" / "rdmsd"
	if [ "$1" != "$PID" ]; then echo net
	elif [ -n "$(cat /proc/"$PID"/task/*/children 2>/dev/null)" ]; then echo priv
	else echo rdmsd; fi
}

# One line per process: NAME PID VmRSS VmHWM FDS THREADS CPU-TICKS.
snapshot() {
	local p
	for p in $(procs); do
		[ -d "/proc/$p" ] || continue
		echo "$(pname "$p") $p $(status_kb "$p" VmRSS) $(status_kb "$p" VmHWM) $(nfds "$p")" \
			"$(status_kb "$p" Threads) $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null)"
	done
}

# The kernel's count of connections dropped because a listen queue was
# full (system-wide; on an otherwise idle loopback, rdmsd's).
listen_drops() { nstat -asz TcpExtListenDrops 2>/dev/null | awk '$1 == "TcpExtListenDrops" { print $2 }'; }
audit_rows() { sqlite3 "$TMP/state/audit.db" 'SELECT count(*) FROM audit' 2>/dev/null || echo 0; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- account, PAM, fixture, config -------------------------------------------
bench_many_config "$N" "$CONNS"

post_get() {   # -> HTTP status of one Get
	curl -s -o "$TMP/get.out" -w '%{http_code}' -H "Content-Type: $SOAP_TYPE" \
		-H "Authorization: $AUTH" --data-binary @- "http://127.0.0.1:$HTTP_PORT/wsman" 2>/dev/null <<EOF
<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action><wsa:To s:mustUnderstand="true">http://127.0.0.1:$HTTP_PORT/wsman</wsa:To><wsman:ResourceURI s:mustUnderstand="true">$URI</wsman:ResourceURI><wsa:MessageID s:mustUnderstand="true">uuid:50a50a50-0000-4000-8000-$(printf '%012d' "$RANDOM")</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo><wsman:SelectorSet><wsman:Selector Name="VMHostName">$VMHOST</wsman:Selector><wsman:Selector Name="SessionId">1</wsman:Selector></wsman:SelectorSet></s:Header><s:Body/></s:Envelope>
EOF
}

# ---- start -------------------------------------------------------------------
LOAD0=$(loadavg)
echo "rdms soak: $CONNS connections, $THREADS wrk threads, ${SECONDS_}s, $N fixture sessions, mix get,enum,full,invoke = $MIX"
echo "  $(nproc) CPUs, $(uname -r), load average $LOAD0, open-file limit $(ulimit -n)"
echo "  rdmsd: $RDMSD"
"$RDMSD" --config "$TMP/rdmsd.conf" --foreground >"$TMP/rdmsd.log" 2>&1 &
PID=$!
code=000
for _ in $(seq 300); do
	code=$(post_get)
	[ "$code" = 200 ] && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/rdmsd.log" >&2; die "rdmsd exited"; }
	sleep 0.1
done
[ "$code" = 200 ] || { cat "$TMP/rdmsd.log" >&2; die "no successful Get after start (HTTP $code)"; }
grep -q "<p:SessionId>1</p:SessionId>" "$TMP/get.out" || die "Get answered without session 1"
sleep 1
snapshot >"$TMP/before"

# ---- load phases -------------------------------------------------------------
# load PHASE SECONDS DELAY_MS: one wrk run; its output in $TMP/PHASE.wrk,
# rdmsd's processes sampled into $TMP/PHASE.samples ("SECONDS NAME PID
# VmRSS VmHWM FDS THREADS TICKS"), snapshots at its start, at its end and
# after the connections closed ($TMP/PHASE.start, .end, .after), audit
# rows before and after ($TMP/PHASE.rows).
load() {
	local phase=$1 secs=$2 delay=$3 rc rows0 idle now
	(
		t0=$(date +%s)
		while kill -0 "$PID" 2>/dev/null; do
			sleep "$SAMPLE"
			now=$(( $(date +%s) - t0 ))
			snapshot | sed "s/^/$now /"
		done
	) >"$TMP/$phase.samples" 2>/dev/null &
	SAMPLER=$!
	rows0=$(audit_rows)
	echo "$secs" >"$TMP/$phase.secs"
	listen_drops >"$TMP/$phase.drops"
	snapshot >"$TMP/$phase.start"
	echo "$(loadavg)" >"$TMP/$phase.load0"
	SOAK_AUTH=$AUTH SOAK_SESSIONS=$N SOAK_HOST=$VMHOST SOAK_TO="http://127.0.0.1:$HTTP_PORT/wsman" \
	SOAK_NONCE=$(printf '%04x' $((RANDOM))) SOAK_MIX=$MIX SOAK_SEED=$RANDOM SOAK_DELAY_MS=$delay \
		wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout "$TIMEOUT" --latency \
		-H "Content-Type: $SOAP_TYPE" -H "Authorization: $AUTH" \
		-s "$LUA" "http://127.0.0.1:$HTTP_PORT/wsman" >"$TMP/$phase.wrk" 2>&1 &
	WRK=$!
	wait "$WRK"
	rc=$?
	WRK=
	snapshot >"$TMP/$phase.end"
	echo "$(loadavg)" >"$TMP/$phase.load1"
	listen_drops >>"$TMP/$phase.drops"
	kill -TERM "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
	[ "$rc" = 0 ] && grep -q '^soak: requests' "$TMP/$phase.wrk" ||
		{ cat "$TMP/$phase.wrk" >&2; die "wrk failed (exit $rc)"; }
	# Once the open fds are back where they were, the connections are gone.
	idle=$(awk '{ t += $5 } END { print t }' "$TMP/before")
	for _ in $(seq 100); do
		now=$(snapshot | awk '{ t += $5 } END { print t }')
		[ "$now" -le "$idle" ] && break
		sleep 0.1
	done
	sleep 1
	snapshot >"$TMP/$phase.after"
	echo "$rows0 $(audit_rows)" >"$TMP/$phase.rows"
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/rdmsd.log" >&2; die "rdmsd died during $phase"; }
	[ "$(post_get)" = 200 ] || echo "  !! a Get after $phase was not answered with 200"
}

if [ "$RATE" -gt 0 ]; then
	DELAY_MS=$(( CONNS * 1000 / RATE ))
	[ "$DELAY_MS" -ge 1 ] || die "SOAK_RATE $RATE is too high for $CONNS connections"
	echo "  soak: ${SECONDS_}s, about $RATE requests/s offered (each connection waits 0.5-1.5 x $DELAY_MS ms between requests) ..."
else
	DELAY_MS=0
	echo "  soak: ${SECONDS_}s, closed loop (each connection sends again at once) ..."
fi
load soak "$SECONDS_" "$DELAY_MS"
PHASES=soak
if [ "$PEAK" -gt 0 ] && [ "$RATE" -gt 0 ]; then
	echo "  peak: ${PEAK}s, closed loop ..."
	load peak "$PEAK" 0
	PHASES="soak peak"
fi

# ---- figures -----------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
row() { printf '  %-48s %26s   %s\n' "$1" "$2" "$3"; }
HZ=$(getconf CLK_TCK)
TOTAL_ERRS=0

# field PHASE FILE PID COLUMN: a column of a snapshot line
field() { awk -v p="$3" -v c="$4" '$2 == p { print $c }' "$TMP/$1.$2"; }

report() {   # PHASE TITLE P99-TARGET
	local phase=$1 reqs dur rps ec er ew et errs okinv r0 r1 c0 c1
	v() { awk -v k="$1" '$1 == "soak:" && $2 == k { print $3 }' "$TMP/$phase.wrk"; }
	reqs=$(v requests)
	dur=$(v duration_us)
	rps=$(awk -v n="$reqs" -v d="$dur" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
	read -r ec er ew et < <(awk '$2 == "socket_errors" { print $3, $4, $5, $6 }' "$TMP/$phase.wrk")
	errs=$(( ec + er + ew + et + $(v non200) + $(v fault) + $(v bad_reply) ))
	TOTAL_ERRS=$(( TOTAL_ERRS + errs ))
	okinv=$(v ok_invoke)
	read -r r0 r1 <"$TMP/$phase.rows"
	c0=$(awk '{ t += $7 } END { print t }' "$TMP/$phase.start")
	c1=$(awk '{ t += $7 } END { print t }' "$TMP/$phase.end")
	echo "$2"
	row "requests (Get / Enum 5 / Enum all / Invoke)" "$reqs" \
		"$(v sent_get) / $(v sent_enum) / $(v sent_full) / $(v sent_invoke) sent"
	row "requests/s" "$rps" ""
	row "latency p50 / p90" "$(ms "$(v p50_us)") / $(ms "$(v p90_us)")" ""
	row "latency p99" "$(ms "$(v p99_us)")" "$3"
	row "latency p99.9 / max" "$(ms "$(v p99.9_us)") / $(ms "$(v max_us)")" ""
	row "errors" "$errs" "0"
	row "    socket: connect / read / write / timeout" "$ec / $er / $ew / $et" ""
	row "    non-200 / faults / wrong replies" "$(v non200) / $(v fault) / $(v bad_reply)" ""
	row "    connections dropped, listen queue full" \
		"$(awk 'NR == 1 { a = $1 } NR == 2 { print $1 - a }' "$TMP/$phase.drops")" "(retried by TCP: latency)"
	row "correct replies (Get / Enum 5 / Enum all / Invoke)" \
		"$(v ok_get) / $(v ok_enum) / $(v ok_full) / $okinv" ""
	row "audit rows written / successful Invokes" "$(( r1 - r0 )) / $okinv" \
		"difference $(( r1 - r0 - okinv )) (in flight when wrk stopped: 0..$CONNS)"
	row "rdmsd CPU per request / CPU load" \
		"$(awk -v a="$c0" -v b="$c1" -v n="$reqs" -v hz="$HZ" 'BEGIN { printf "%.0f us", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }') / $(awk -v a="$c0" -v b="$c1" -v d="$dur" -v hz="$HZ" 'BEGIN { printf "%.0f %%", (b - a) / hz / (d / 1e6) * 100 }')" \
		"of one CPU"
	row "load average at start / end" "$(cat "$TMP/$phase.load0") / $(cat "$TMP/$phase.load1")" "$(nproc) CPUs"
}

echo
echo "rdms soak results: $CONNS keep-alive connections, wrk -t$THREADS, $N fixture sessions"
printf '  %-48s %26s   %s\n' "figure" "rdmsd" "target"
if [ "$RATE" -gt 0 ]; then
	report soak "soak, ${SECONDS_}s at about $RATE requests/s offered:" "<= 10 ms"
else
	report soak "soak, ${SECONDS_}s, closed loop:" "(a queue: connections / requests/s)"
fi
case $PHASES in *peak*) report peak "peak, ${PEAK}s, closed loop (as many requests as rdmsd answers):" \
	"(a queue: connections / requests/s)" ;; esac

echo "rdmsd's processes (before = idle after the first Get; after = the connections closed):"
while read -r name pid rss _ fds thr _; do
	after="$(mb "$(field soak after "$pid" 3)")"
	fdsa="$(field soak after "$pid" 5)"
	thra="$(field soak after "$pid" 6)"
	case $PHASES in *peak*)
		after="$after / $(mb "$(field peak after "$pid" 3)")"
		fdsa="$fdsa / $(field peak after "$pid" 5)"
		thra="$thra / $(field peak after "$pid" 6)" ;;
	esac
	row "$name (pid $pid) VmRSS before / after soak$(case $PHASES in *peak*) echo ' / peak' ;; esac)" \
		"$(mb "$rss") / $after" "VmHWM $(mb "$(awk -v p="$pid" '$2 == p { print $4 }' "$TMP/before" $(for ph in $PHASES; do echo "$TMP/$ph.after"; done) | sort -n | tail -1)")"
	row "    open fds before / after" "$fds / $fdsa" "no growth"
	row "    threads before / after" "$thr / $thra" ""
	for ph in $PHASES; do
		# Most fds and threads seen, and VmRSS under load; the second half
		# of the soak shows growth (the first half fills the caches:
		# replay cache, credential cache, malloc arenas).
		awk -v p="$pid" -v ph="$ph" -v half=$(( $(cat "$TMP/$ph.secs") / 2 )) '$3 == p {
				if ($6 > f) f = $6; if ($7 > t) t = $7
				if (first == "") first = $4; last = $4; if ($4 > max) max = $4
				if ($1 >= half) { if (h0 == "") h0 = $4; h1 = $4 } }
			END { if (first == "") exit
				printf "  %-48s %26s\n", "    " ph ": most open fds / threads", f " / " t
				printf "  %-48s %26s   %s\n", "    " ph ": VmRSS first / max / last sample",
					sprintf("%.1f / %.1f / %.1f MiB", first / 1024, max / 1024, last / 1024),
					sprintf("second half %+.1f MiB", (h1 - h0) / 1024) }' "$TMP/$ph.samples"
	done
done <"$TMP/before"
echo "  (VmRSS after a load keeps what glibc's malloc held for $CONNS connections and reuses for"
echo "   the next; growth shows as VmRSS rising from one phase's \"after\" to the next, or as"
echo "   \"second half\" growth under load; fds and threads must return to \"before\")"
if awk -v l="$(cut -d' ' -f1 "$TMP/soak.load0")" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }'; then
	echo "  note: the load average was high at the start: other work shares these $(nproc) CPUs, so"
	echo "        latency and requests/s are worse than rdmsd alone would give"
fi
warns=$(grep -ci 'warn\|error' "$TMP/rdmsd.log")
if [ "$warns" -gt 0 ]; then
	echo "  rdmsd logged $warns warnings/errors; the most frequent:"
	grep -i 'warn\|error' "$TMP/rdmsd.log" | sed 's/^[^]]*\] *//' | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
fi
for ph in $PHASES; do
	echo
	echo "wrk's own summary ($ph):"
	grep -v '^soak:' "$TMP/$ph.wrk" | sed 's/^/  /'
done
