#!/usr/bin/env bash
# bench/events.sh -- session events figures (issue 14 item 9).  A benchmark,
# not a test: it prints figures (medians of $EVENTS_RUNS runs) with the
# targets beside them; it fails only when rdmsd cannot be set up or a
# subscriber is not served.
#
#   bench/events.sh           the fixture back-end (parts 1 to 3)
#   bench/events.sh xrdp      the real xrdp lab (part 4; takes the lab lock)
#
# The fixture part, on loopback and inside a temporary directory: the bench
# account and PAM file of bench/lib.sh, $EVENTS_SESSIONS (10,000) fixture
# sessions all Active, rdmsd with the fixture back-end; then, driven by
# bench_events (bench/bench_events.c: the fixture driver and libcurl-multi
# WS-Eventing Pull subscribers, each holding a long-poll Pull):
#   1. change-to-subscriber latency at $EVENTS_RATE (1,000) changes/s, in
#      batches every 10 ms each rewriting the fixture file (temp file and
#      rename), for 1, 100 and 1,000 subscribers: p50, p99 and max, from
#      the wall-clock time the driver wrote into the changed session's
#      ClientMachineName to the moment a subscriber had the PullResponse.
#      Each subscriber asks for its share of the SessionIds (a WQL range;
#      EVENTS_ALL=1: every change to every subscriber), so every change is
#      one delivery while rdmsd matches every change against every
#      subscription.  rdmsd's CPU during the run beside it.
#   2. rdmsd's CPU (both processes, utime + stime from /proc/PID/stat) and
#      its wake-ups (context switches of all its threads) over
#      $EVENTS_IDLE_SECONDS (10) with no subscriber, then with 1,000 idle
#      subscribers, each holding a Pull (60 s heartbeats: none falls due
#      in the window), and nothing changing; each window begins once
#      rdmsd has been a second without CPU (the Subscribes' audit rows
#      written).  The safety rescan is set to an hour so that it does
#      not fall in a window; what one rescan of the sessions costs is
#      printed on its own (the fixture file replaced by a copy 10 times).
#   3. memory per subscription: VmRSS and PSS of both processes before the
#      1,000 subscriptions and with them held, divided by 1,000.
# The xrdp part (run under the lab lock, which it takes itself; the lab of
# tests/e2e/lab.sh): rdmsd on the lab's xrdp, a real xfreerdp session, and
# $EVENTS_XRDP_REPS (5) times: a Pull held, the xfreerdp client killed,
# the time until the held Pull returns the Modification (Active ->
# Disconnected); also from the moment xrdp's own connection process ended
# (what rdms can first see); then a reconnect.  See bench/events_xrdp.py.
#
# Needs root (a PAM account; the lab).  Run it under
# `flock /tmp/rdms-bench.lock` on a shared machine.  Cleans up on any exit.
#
# Environment: BUILD (build), RDMSD ($BUILD/rdmsd), EVENTS_SESSIONS
# (10000), EVENTS_RATE (1000), EVENTS_SUBS ("1 100 1000"), EVENTS_SECONDS
# (10 measured per run, after 2 s of warm-up), EVENTS_RUNS (3),
# EVENTS_IDLE_SECONDS (10), EVENTS_IDLE_SUBS (1000), EVENTS_ALL (0),
# EVENTS_XRDP_REPS (5).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}

die() { echo "events: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (creates a PAM account)"

if [ "${1:-}" = xrdp ]; then
	# the lab is shared: hold its lock (not inherited by what the lab starts)
	exec flock -o /tmp/rdms-lab.lock python3 "$ROOT/bench/events_xrdp.py" "$BUILD"
fi
[ $# -eq 0 ] || die "usage: bench/events.sh [xrdp]"

RDMSD=${RDMSD:-$BUILD/rdmsd}
CLIENT=$BUILD/bench/bench_events
N=${EVENTS_SESSIONS:-10000}
RATE=${EVENTS_RATE:-1000}
SUBS=${EVENTS_SUBS:-1 100 1000}
SECONDS_=${EVENTS_SECONDS:-10}
RUNS=${EVENTS_RUNS:-3}
IDLE_S=${EVENTS_IDLE_SECONDS:-10}
IDLE_SUBS=${EVENTS_IDLE_SUBS:-1000}
ALL=${EVENTS_ALL:-0}
[ -x "$RDMSD" ] || die "$RDMSD is not built (make build)"
[ -x "$CLIENT" ] || die "$CLIENT is not built (make build)"
case $N$RATE$RUNS$IDLE_S$IDLE_SUBS${SUBS// /} in *[!0-9]*) die "the EVENTS_* settings are numbers" ;; esac
RDMSD=$(cd "$(dirname "$RDMSD")" && pwd)/$(basename "$RDMSD")
MAXSUBS=$IDLE_SUBS
for s in $SUBS; do [ "$s" -gt "$MAXSUBS" ] && MAXSUBS=$s; done

BUSER=rdmsevents
BGROUP=rdms-events-admins
PAM_SERVICE=rdms-events
PAM_FILE=/etc/pam.d/$PAM_SERVICE
VMHOST=events-host

. "$ROOT/bench/lib.sh"
# a held Pull and, at the end, its Unsubscribe: two connections a subscriber
bench_raise_nofile $(( 4 * MAXSUBS + 4096 ))

TMP=
PID=
CLIENT_PID=
cleanup() {
	[ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null
	bench_stop_rdmsd
	bench_remove_made
}
trap cleanup EXIT
trap 'exit 130' INT TERM
TMP=$(mktemp -d /tmp/rdms-events.XXXXXX)
chmod 755 "$TMP"

bench_make_account
FIXTURE=$TMP/sessions.txt
"$CLIENT" fixture "$FIXTURE" "$N" "$BUSER" || die "cannot write the fixture"
HTTP_PORT=$(free_port)
bench_config "$TMP/rdmsd.conf" "$HTTP_PORT" 0
printf 'max_connections = %d\nmax_connections_per_ip = %d\nmax_subscriptions_per_user = %d\nmax_subscriptions = %d\n' \
	$(( 2 * MAXSUBS + 64 )) $(( 2 * MAXSUBS + 64 )) $(( 2 * MAXSUBS )) $(( 2 * MAXSUBS )) \
	>>"$TMP/rdmsd.conf"
# the safety rescan (every 30 s by default) out of the idle windows: its
# cost is measured on its own (RESCAN below)
echo "events_resync_s = 3600" >>"$TMP/rdmsd.conf"
export BENCH_AUTH=$AUTH

# context switches of every thread of rdmsd's processes: how often they woke
wakeups() {
	local s
	s=$(switches_sum $(rdmsd_pids))
	echo $(( ${s% *} + ${s#* } ))
}
alive() { kill -0 "$PID" 2>/dev/null || { tail -20 "$TMP/rdmsd.log" >&2; die "rdmsd died"; }; }
TCK=$(getconf CLK_TCK)

echo "rdms events benchmark: $N fixture sessions, $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  rdmsd: $RDMSD"
"$RDMSD" --config "$TMP/rdmsd.conf" --foreground >"$TMP/rdmsd.log" 2>&1 &
PID=$!
# up when one subscriber can subscribe and pull (and so the feed is there)
for _ in $(seq 100); do
	"$CLIENT" run -p "$HTTP_PORT" -f "$FIXTURE" -s 1 -i </dev/null >/dev/null 2>&1 && break
	alive
	sleep 0.2
done
alive
sleep 1

# ---- 2 and 3: idle CPU and memory ----------------------------------------------------
# until rdmsd has used no CPU for a whole second (what a burst of
# Subscribes or Unsubscribes left to do, such as their audit rows, is
# done), at most 15 s
settle() {
	local c
	for _ in $(seq 15); do
		c=$(cpu_ticks); sleep 1
		[ "$(cpu_ticks)" = "$c" ] && return
	done
}
# idle_window FILE: "ticks wakeups" over IDLE_S seconds, appended to FILE
idle_window() {
	local c0 w0 c1 w1
	settle
	c0=$(cpu_ticks); w0=$(wakeups)
	sleep "$IDLE_S"
	c1=$(cpu_ticks); w1=$(wakeups)
	echo "$((c1 - c0)) $((w1 - w0))" >>"$1"
}
: >"$TMP/idle0.runs"; : >"$TMP/idle.runs"; : >"$TMP/mem.runs"
for r in $(seq "$RUNS"); do
	idle_window "$TMP/idle0.runs"
	rss0=$(proc_sum status VmRSS); pss0=$(proc_sum smaps_rollup Pss)
	coproc CL { "$CLIENT" run -p "$HTTP_PORT" -f "$FIXTURE" -s "$IDLE_SUBS" -i 2>"$TMP/idle-client.err"; }
	CLIENT_PID=$CL_PID
	read -r line <&"${CL[0]}" || { cat "$TMP/idle-client.err" >&2; die "the subscribers failed"; }
	case $line in "held $IDLE_SUBS") ;; *) cat "$TMP/idle-client.err" >&2; die "not every Pull is held: $line" ;; esac
	settle
	rss1=$(proc_sum status VmRSS); pss1=$(proc_sum smaps_rollup Pss)
	idle_window "$TMP/idle.runs"
	echo "$(( rss1 - rss0 )) $(( pss1 - pss0 ))" >>"$TMP/mem.runs"
	echo >&"${CL[1]}"
	read -r line <&"${CL[0]}"
	wait "$CLIENT_PID" 2>/dev/null
	CLIENT_PID=
	case $line in "done errors=0") ;; *) cat "$TMP/idle-client.err" >&2; die "the subscribers failed: $line" ;; esac
	alive
	echo "  idle run $r: $(tail -1 "$TMP/idle0.runs") (none) / $(tail -1 "$TMP/idle.runs") ($IDLE_SUBS held) ticks wake-ups; memory $(tail -1 "$TMP/mem.runs") kB"
	sleep 1
done

# What one rescan of the fixture's sessions costs (the safety rescan's
# work, every events_resync_s, 30 s by default; here each also re-reads
# the file, which a safety rescan of an unchanged file does not): the
# fixture replaced by a copy of itself 10 times, 300 ms apart, each a
# rescan that finds no change.
: >"$TMP/rescan.runs"
for r in $(seq "$RUNS"); do
	settle
	c0=$(cpu_ticks)
	for _ in $(seq 10); do
		cp "$FIXTURE" "$TMP/.fixture-copy" && mv "$TMP/.fixture-copy" "$FIXTURE"
		sleep 0.3
	done
	sleep 0.5
	echo "$(( $(cpu_ticks) - c0 ))" >>"$TMP/rescan.runs"
done

# ---- 1: latency ------------------------------------------------------------------------
flag=
[ "$ALL" = 1 ] && flag=-a
for s in $SUBS; do
	: >"$TMP/lat$s.runs"
	for r in $(seq "$RUNS"); do
		c0=$(cpu_ticks)
		out=$("$CLIENT" run -p "$HTTP_PORT" -f "$FIXTURE" -s "$s" -r "$RATE" -t "$SECONDS_" -w 2 $flag \
			2>"$TMP/lat-client.err") || { cat "$TMP/lat-client.err" >&2; die "the subscribers failed"; }
		c1=$(cpu_ticks)
		alive
		grep -q 'errors=0$' <<<"$out" || { cat "$TMP/lat-client.err" >&2; die "subscriber errors: $out"; }
		# n p50 p99 max expected client_cpu rdmsd_cpu_ticks
		awk -v c="$((c1 - c0))" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			print v["n"], v["p50"], v["p99"], v["max"], v["expected"], v["client_cpu"], c }' \
			<<<"$out" >>"$TMP/lat$s.runs"
		echo "  $s subscriber(s), run $r: $out rdmsd_ticks=$((c1 - c0))"
	done
done

# ---- the table -------------------------------------------------------------------------
col() { awk -v c="$2" '{ print $c }' "$TMP/$1.runs" | median; }
row() { printf '  %-50s %26s   %s\n' "$1" "$2" "$3"; }
run_s=$(( SECONDS_ + 2 + 3 ))   # warm-up, measured, drain: what rdmsd_ticks spans
echo
echo "rdms events results (medians of $RUNS runs; $N sessions, $RATE changes/s)"
printf '  %-50s %26s   %s\n' "figure" "rdmsd" "target"
for s in $SUBS; do
	row "latency, $s subscriber(s): p50 / p99 / max" \
		"$(printf '%.0f / %.0f / %.0f ms' "$(col "lat$s" 2)" "$(col "lat$s" 3)" "$(col "lat$s" 4)")" \
		"p99 <= 1000 ms"
	row "  events delivered / changes in their scope" "$(col "lat$s" 1) / $(col "lat$s" 5)" \
		"(a change overwritten within one rescan is one event)"
	row "  rdmsd CPU / the subscribers' CPU" \
		"$(awk -v t="$(col "lat$s" 7)" -v k="$TCK" -v d="$run_s" 'BEGIN { printf "%.0f%%", 100 * t / k / d }') / $(col "lat$s" 6)%" ""
done
row "rdmsd idle CPU, no subscriber" \
	"$(awk -v t="$(col idle0 1)" -v k="$TCK" -v d="$IDLE_S" 'BEGIN { printf "%.2f ms/s", 1000 * t / k / d }')" ""
row "rdmsd idle CPU, $IDLE_SUBS held Pulls" \
	"$(awk -v t="$(col idle 1)" -v k="$TCK" -v d="$IDLE_S" 'BEGIN { printf "%.2f ms/s", 1000 * t / k / d }')" \
	"none measurable between heartbeats"
row "  (ticks in ${IDLE_S} s: none / held; 1 tick = $(( 1000 / TCK )) ms)" "$(col idle0 1) / $(col idle 1)" ""
row "rdmsd wake-ups, no subscriber / $IDLE_SUBS held Pulls" \
	"$(awk -v a="$(col idle0 2)" -v b="$(col idle 2)" -v d="$IDLE_S" 'BEGIN { printf "%.1f / %.1f per s", a / d, b / d }')" ""
row "one rescan of $N unchanged sessions (file re-read)" \
	"$(awk -v t="$(median <"$TMP/rescan.runs")" -v k="$TCK" 'BEGIN { printf "%.0f ms CPU", 1000 * t / k / 10 }')" \
	"(the safety rescan's work, every 30 s)"
row "memory per subscription (VmRSS / PSS)" \
	"$(awk -v r="$(col mem 1)" -v p="$(col mem 2)" -v n="$IDLE_SUBS" 'BEGIN { printf "%.2f / %.2f KiB", r / n, p / n }')" ""
warns=$(grep -ci 'warn\|error' "$TMP/rdmsd.log")
[ "$warns" -eq 0 ] || { echo "  rdmsd logged $warns warnings/errors; the first:"; grep -i 'warn\|error' "$TMP/rdmsd.log" | head -3 | sed 's/^/    /'; }
exit 0
