#!/usr/bin/env bash
# bench/ntlm.sh -- rdmsd's Negotiate/NTLM figures (issue 18, item 5).  A
# benchmark, not a test: it prints figures; it fails only when rdmsd cannot
# be set up or answers wrongly.
#
# What it does, all on loopback and inside a temporary directory: a PAM
# account with a random password in a temporary admin group (bench/lib.sh),
# its NT hash in an NT-hash store made by `rdms user set`, a fixture of
# $BENCH_SESSIONS (1,000) sessions, and `rdmsd --foreground` serving WS-Man
# over HTTP with Basic and Negotiate.  Then bench/ntlm_client.c (libcurl,
# GSSAPI with gss-ntlmssp, rdmsd-net's own seal.c and encrypted_body.c)
# measures, each reply checked (the session's key in it, decrypted first
# where it is encrypted):
#   - handshakes: a new connection, a Negotiate login (raw NTLM and SPNEGO
#     in turn; each runs in an rdmsd-ntlm process of its own on the server)
#     and one encrypted Get, over and over, on 1 and 8 client threads;
#   - Get over established connections with WinRM message encryption
#     (multipart/encrypted), on 1 and 8 connections;
#   - the same Get with Basic on every request, unencrypted, on 1 and 8
#     connections: the same client doing the same HTTP, for comparison.
# Each MessageID is fresh (WS-Man's replay cache never answers).  The six
# kinds take turns, $BENCH_RUNS (5) rounds of $BENCH_DURATION (5) seconds
# each, in one sitting; every figure is the median of its runs: operations a
# second, p50 and p99 of one operation, and rdmsd's CPU per operation (priv,
# net and the rdmsd-ntlm processes priv started and reaped).  On a machine
# of 2 CPUs the client shares them with rdmsd.
#
# Holds /tmp/rdms-bench.lock (one benchmark at a time).  Needs root
# (useradd, the PAM file, the root-only store).  Cleans up on any exit: stops
# the rdmsd it started (by PID), removes the account, the group, a PAM file
# it created and the temp dir.
#
# Environment: BUILD (build), RDMSD ($BUILD/rdmsd), RDMS ($BUILD/rdms),
# BENCH_SESSIONS (1000), BENCH_DURATION (5), BENCH_RUNS (5).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
[ -n "${RDMS_BENCH_LOCKED:-}" ] || RDMS_BENCH_LOCKED=1 exec flock -o /tmp/rdms-bench.lock "$0" "$@"
BUILD=${BUILD:-build}
RDMSD=${RDMSD:-$BUILD/rdmsd}
RDMS=${RDMS:-$BUILD/rdms}
CLIENT=$BUILD/bench/ntlm_client
N=${BENCH_SESSIONS:-1000}
DUR=${BENCH_DURATION:-5}
RUNS=${BENCH_RUNS:-5}

BUSER=rdmsbench
BGROUP=rdms-bench-admins
PAM_SERVICE=rdms-bench
PAM_FILE=/etc/pam.d/$PAM_SERVICE
VMHOST=bench-host
URI=http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession

die() { echo "ntlm.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (creates a PAM account); run: sudo make bench-ntlm"
for f in "$RDMSD" "$RDMS" "$CLIENT"; do [ -x "$f" ] || die "$f is not built (make build)"; done
RDMSD=$(cd "$(dirname "$RDMSD")" && pwd)/$(basename "$RDMSD")

TMP=
PID=
. "$ROOT/bench/lib.sh"
cleanup() {
	bench_stop_rdmsd
	bench_remove_made
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TMP=$(mktemp -d /tmp/rdms-bench-ntlm.XXXXXX)
chmod 755 "$TMP"

# ---- account, store, fixture, config, the Get --------------------------------
bench_many_config "$N" 16
echo "ntlm_users = $TMP/ntlm-users" >>"$TMP/rdmsd.conf"
"$RDMS" --config "$TMP/rdmsd.conf" user set "$BUSER" <<<"$PASS" >/dev/null || die "rdms user set failed"
KEY=$(( N / 2 ))
CHECK="<p:SessionId>$KEY</p:SessionId>"
{ ws_header http://schemas.xmlsoap.org/ws/2004/09/transfer/Get
  printf '%s</s:Header><s:Body/></s:Envelope>' "$(bench_selectors "$KEY")"; } >"$TMP/get.xml"

echo "rdms Negotiate/NTLM benchmark: $N fixture sessions, $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$RDMSD" --config "$TMP/rdmsd.conf" --foreground >"$TMP/rdmsd.log" 2>&1 &
PID=$!
code=000
for _ in $(seq 200); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $AUTH" \
		-H 'Content-Type: application/soap+xml;charset=UTF-8' --data-binary "@$TMP/get.xml" \
		"http://127.0.0.1:$HTTP_PORT/wsman" 2>/dev/null)
	[ "$code" = 200 ] && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/rdmsd.log" >&2; die "rdmsd exited"; }
	sleep 0.05
done
[ "$code" = 200 ] || { cat "$TMP/rdmsd.log" >&2; die "no successful Get after start (HTTP $code)"; }
# both ends of the client work before anything is timed (its first error says why)
BENCH_PASSWORD=$PASS "$CLIENT" handshake -p "$HTTP_PORT" -u "$BUSER" -c 1 -t 0.5 -b "$TMP/get.xml" \
	-k "$CHECK" >/dev/null || { tail -20 "$TMP/rdmsd.log" >&2; die "the Negotiate client does not get through"; }

# ---- the runs, taking turns ------------------------------------------------------
# rdmsd's CPU in clock ticks: its live processes' (priv, net), and what
# priv's reaped children (the rdmsd-ntlm processes) used.
reaped_ticks() { awk '{ print $16 + $17 }' "/proc/$PID/stat"; }

KINDS="handshake:1 handshake:8 sealed:1 sealed:8 basic:1 basic:8"
for k in $KINDS; do : >"$TMP/${k/:/-}.runs"; done
echo "  $RUNS rounds of the six kinds, ${DUR}s each ..."
T0=$SECONDS
for r in $(seq "$RUNS"); do
	for k in $KINDS; do
		c0=$(cpu_ticks)
		n0=$(reaped_ticks)
		out=$(BENCH_PASSWORD=$PASS "$CLIENT" "${k%:*}" -p "$HTTP_PORT" -u "$BUSER" -c "${k#*:}" \
			-t "$DUR" -b "$TMP/get.xml" -k "$CHECK") || die "round $r, $k: $out"
		c1=$(cpu_ticks)
		n1=$(reaped_ticks)
		# columns: rate p50 p99 errors; rdmsd's CPU per operation (us): all,
		# and of that the rdmsd-ntlm processes'
		awk -v a="$c0" -v b="$c1" -v na="$n0" -v nb="$n1" -v hz="$(getconf CLK_TCK)" '{
			for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			k = v["ops"] > 0 ? 1e6 / hz / v["ops"] : 0
			printf "%s %s %s %s %.1f %.1f\n", v["rate"], v["p50"], v["p99"], v["errors"],
				((b - a) + (nb - na)) * k, (nb - na) * k }' <<<"$out" \
			>>"$TMP/${k/:/-}.runs"
	done
done
LEFT=$(for c in $(cat /proc/"$PID"/task/*/children 2>/dev/null); do
	[ "$(cat "/proc/$c/comm" 2>/dev/null)" = rdmsd-ntlm ] && echo "$c"; done | wc -l)

# ---- the table ---------------------------------------------------------------------
row() {   # NAME LABEL
	printf '  %-46s %9.1f /s  %8.3f / %8.3f ms  %8.0f us\n' "$2" "$(col "$1" 1)" "$(col "$1" 2)" \
		"$(col "$1" 3)" "$(col "$1" 5)"
	case $1 in handshake*) printf '  %-46s%39s%8.0f us\n' "  of which the rdmsd-ntlm processes" "" "$(col "$1" 6)";; esac
	awk '{ e += $4 } END { if (e) printf "    errors (all runs): %d\n", e }' "$TMP/$1.runs"
}
echo
echo "rdms Negotiate/NTLM results (medians of $RUNS alternating runs of ${DUR}s, in $((SECONDS - T0)) s; ntlm_client)"
printf '  %-46s %12s  %21s  %11s\n' "figure" "rate" "p50 / p99" "rdmsd CPU/op"
row handshake-1 "handshake + encrypted Get, new conn., 1 thread"
row handshake-8 "handshake + encrypted Get, new conn., 8 thr."
row sealed-1 "Get, encrypted (Negotiate), 1 connection"
row sealed-8 "Get, encrypted (Negotiate), 8 connections"
row basic-1 "Get, Basic (unencrypted), 1 connection"
row basic-8 "Get, Basic (unencrypted), 8 connections"
echo "  encrypted / Basic Get rate: $(ratio "$(col sealed-1 1)" "$(col basic-1 1)")x on 1 connection," \
	"$(ratio "$(col sealed-8 1)" "$(col basic-8 1)")x on 8"
echo "  rdmsd-ntlm processes left running: $LEFT"
