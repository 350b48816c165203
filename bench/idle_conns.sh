#!/usr/bin/env bash
# bench/idle_conns.sh -- what idle keep-alive connections cost rdmsd's
# network process (issue 13 item 5).  A benchmark, not a test: it prints
# figures and the targets next to them (10,000 connections held with the
# network process under 64 MiB and a thread count that does not grow with
# them); it fails only when rdmsd cannot be set up or a connection is not
# served.
#
# What it does, on loopback and inside a temporary directory: the bench
# account, PAM file and fixture of bench/lib.sh, a config that lets
# $IDLE_CONNECTIONS connections in (max_connections and
# max_connections_per_ip), then `rdmsd --foreground`; opens
# $IDLE_CONNECTIONS keep-alive connections, each sending one Get (HTTP
# Basic, answered and checked) and then staying open with nothing to say;
# samples the network process (VmRSS, VmHWM, threads, open fds) before,
# with every connection held ($IDLE_HOLD seconds later) and after they
# closed.
#
# Needs root (a PAM account, the open-file limit) and python3.  Cleans up
# on any exit like the other benchmarks.  Run it under
# `flock /tmp/rdms-bench.lock` on a shared machine.
#
# Environment: BUILD (build), RDMSD ($BUILD/rdmsd), IDLE_CONNECTIONS
# (10000), IDLE_HOLD (5 s), IDLE_SESSIONS (100).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
RDMSD=${RDMSD:-$BUILD/rdmsd}
CONNS=${IDLE_CONNECTIONS:-10000}
HOLD=${IDLE_HOLD:-5}
N=${IDLE_SESSIONS:-100}
NOFILE=$(( CONNS + 4096 ))   # each side (client, rdmsd) holds one fd per connection
RSS_TARGET_MIB=64

BUSER=rdmsidle
BGROUP=rdms-idle-admins
PAM_SERVICE=rdms-idle
PAM_FILE=/etc/pam.d/$PAM_SERVICE
VMHOST=idle-host

die() { echo "idle_conns: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (creates a PAM account, raises the open-file limit)"
command -v python3 >/dev/null || die "python3 is missing"
[ -x "$RDMSD" ] || die "$RDMSD is not built (make build)"
case $CONNS$HOLD$N in *[!0-9]*) die "IDLE_CONNECTIONS, IDLE_HOLD and IDLE_SESSIONS are numbers" ;; esac
RDMSD=$(cd "$(dirname "$RDMSD")" && pwd)/$(basename "$RDMSD")

. "$ROOT/bench/lib.sh"
bench_raise_nofile "$NOFILE"

TMP=
PID=
cleanup() { bench_stop_rdmsd; bench_remove_made; }
trap cleanup EXIT
trap 'exit 130' INT TERM
TMP=$(mktemp -d /tmp/rdms-idle.XXXXXX)
chmod 755 "$TMP"

bench_many_config "$N" "$CONNS"

# The network process: rdmsd's child (or rdmsd itself without privilege separation).
net_pid() {
	local kids
	kids=$(cat /proc/"$PID"/task/*/children 2>/dev/null)
	if [ -n "$kids" ]; then echo "$kids" | awk '{ print $1 }'; else echo "$PID"; fi
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# VmRSS VmHWM threads fds of the network process
sample() { local p; p=$(net_pid); echo "$(status_kb "$p" VmRSS) $(status_kb "$p" VmHWM) $(status_kb "$p" Threads) $(nfds "$p")"; }

echo "rdms idle connections: $CONNS keep-alive connections, one Get each, then idle"
echo "  $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), open-file limit $(ulimit -n)"
echo "  rdmsd: $RDMSD"
"$RDMSD" --config "$TMP/rdmsd.conf" --foreground >"$TMP/rdmsd.log" 2>&1 &
PID=$!

# The client: opens the connections one after the other (each Get answered
# before the next connection), holds them, and tells the script on stdout.
cat >"$TMP/client.py" <<'PY'
import os, socket, sys, time
port, conns, auth, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = open(sys.argv[5], "rb").read()
req = ("POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
       "Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: %d\r\n\r\n"
       % (auth, len(body))).encode() + body
def get(s):
    s.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk: raise RuntimeError("connection closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk: raise RuntimeError("connection closed")
        rest += chunk
    if not head.startswith(b"HTTP/1.1 200") or b"<p:SessionId>1</p:SessionId>" not in rest:
        raise RuntimeError("bad reply: " + head.split(b"\r\n")[0].decode())
t0 = time.monotonic()
held = []
for i in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    get(s)
    held.append(s)
print("held %d %.1f" % (len(held), time.monotonic() - t0), flush=True)
sys.stdin.readline()              # hold until told
# every connection still served after the hold (none was cut)
for s in held[:: max(1, len(held) // 50)]:
    get(s)
for s in held:
    s.close()
print("closed", flush=True)
PY
sed "s/@@PORT@@/$HTTP_PORT/; s/@@HOST@@/$VMHOST/" >"$TMP/get.xml" <<'XML'
<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action><wsa:To s:mustUnderstand="true">http://127.0.0.1:@@PORT@@/wsman</wsa:To><wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession</wsman:ResourceURI><wsa:MessageID s:mustUnderstand="true">uuid:1d1e1d1e-0000-4000-8000-000000000001</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo><wsman:SelectorSet><wsman:Selector Name="VMHostName">@@HOST@@</wsman:Selector><wsman:Selector Name="SessionId">1</wsman:Selector></wsman:SelectorSet></s:Header><s:Body/></s:Envelope>
XML
# wait until rdmsd answers
for _ in $(seq 300); do
	python3 "$TMP/client.py" "$HTTP_PORT" 1 "$AUTH" "$VMHOST" "$TMP/get.xml" </dev/null >/dev/null 2>&1 && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/rdmsd.log" >&2; die "rdmsd exited"; }
	sleep 0.1
done
# warm-up: a few Gets apart, so what starts on first need (the session
# snapshot's refresher thread) runs before the first sample
for _ in 1 2 3; do
	python3 "$TMP/client.py" "$HTTP_PORT" 1 "$AUTH" "$VMHOST" "$TMP/get.xml" </dev/null >/dev/null 2>&1
	sleep 0.7
done
read -r rss0 hwm0 thr0 fds0 <<<"$(sample)"

coproc CLIENT { python3 "$TMP/client.py" "$HTTP_PORT" "$CONNS" "$AUTH" "$VMHOST" "$TMP/get.xml" 2>&1; }
read -r line <&"${CLIENT[0]}" || die "the client failed"
case $line in held*) ;; *) die "the client failed: $line $(cat <&"${CLIENT[0]}")" ;; esac
opened=$(echo "$line" | awk '{ print $3 }')
sleep "$HOLD"
read -r rss1 hwm1 thr1 fds1 <<<"$(sample)"
echo >&"${CLIENT[1]}"
read -r line <&"${CLIENT[0]}" || die "the client failed after the hold"
[ "$line" = closed ] || die "the client failed after the hold: $line"
wait "$CLIENT_PID" 2>/dev/null
sleep 2
read -r rss2 hwm2 thr2 fds2 <<<"$(sample)"
kill -0 "$PID" 2>/dev/null || { cat "$TMP/rdmsd.log" >&2; die "rdmsd died"; }

mb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
row() { printf '  %-44s %24s   %s\n' "$1" "$2" "$3"; }
echo
echo "rdms idle connections results: $CONNS keep-alive connections (opened and served in ${opened}s)"
printf '  %-44s %24s   %s\n' "figure (network process)" "rdmsd" "target"
row "VmRSS before / held / after" "$(mb "$rss0") / $(mb "$rss1") / $(mb "$rss2")" \
	"held < $RSS_TARGET_MIB MiB"
row "VmHWM" "$(mb "$hwm2")" ""
row "threads before / held / after" "$thr0 / $thr1 / $thr2" "held ~ before (no growth)"
row "open fds before / held / after" "$fds0 / $fds1 / $fds2" "after = before"
row "memory per held connection" \
	"$(awk -v a="$rss0" -v b="$rss1" -v n="$CONNS" 'BEGIN { printf "%.1f KiB", (b - a) / n }')" ""
awk -v r="$rss1" -v t="$RSS_TARGET_MIB" 'BEGIN { exit !(r / 1024 < t) }' &&
	echo "  VmRSS held: within the target" || echo "  VmRSS held: OVER the target"
# (a thread that starts on first need, as the session snapshot's refresher,
# is not growth: a thread per connection would be thousands)
[ "$thr1" -le $(( thr0 + 2 )) ] && echo "  threads: constant (not one per connection)" ||
	echo "  threads: GREW with the connections"
warns=$(grep -ci 'warn\|error' "$TMP/rdmsd.log")
[ "$warns" -eq 0 ] || { echo "  rdmsd logged $warns warnings/errors; the first:"; grep -i 'warn\|error' "$TMP/rdmsd.log" | head -3 | sed 's/^/    /'; }
