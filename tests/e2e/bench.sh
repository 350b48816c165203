#!/bin/bash
# bench.sh -- times rdms's enumerate on ten real xrdp sessions.
#
#   bench.sh [BENCH_BINARY]      (default build/bench/bench_enumerate)
#
# Starts the lab (lab.sh) with ten test users when it is not running,
# connects one xfreerdp per user -- odd users on the Xorg back-end, even ones
# on Xvnc (/d:Xvnc) -- one after another so that every session is attached,
# then runs the benchmark against the lab's config and, if it started the
# lab, stops it again.  Set RDMS_BENCH_SESSIONS for another count.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=${1:-$ROOT/build/bench/bench_enumerate}
N=${RDMS_BENCH_SESSIONS:-10}
export RDMS_E2E_DIR=${RDMS_E2E_DIR:-/tmp/rdms-e2e}
export RDMS_E2E_USERS=$N
LAB=$HERE/lab.sh

[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root"; exit 1; }
[ -x "$BENCH" ] || { echo "bench.sh: $BENCH is not built"; exit 1; }

count() { "$LAB" sessions | tail -n +2 | grep -c .; }

started=0
if ! "$LAB" status 2>/dev/null | grep -q '^sesman: running'; then
	"$LAB" start || { "$LAB" stop; exit 1; }
	started=1
fi
cleanup() { [ $started = 1 ] && "$LAB" stop >/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(count)" -lt "$N" ]; then
	"$LAB" stop >/dev/null 2>&1 || true       # a lab with fewer users: restart it
	"$LAB" start >/dev/null || exit 1
	started=1
	for i in $(seq 1 "$N"); do
		have=$(count)
		extra=()
		[ $((i % 2)) = 0 ] && extra=(/d:Xvnc)
		"$LAB" connect "bench$i" "rdmstest$i" /size:800x600 "/client-hostname:BENCH$i" \
			"${extra[@]}" >/dev/null || exit 1
		for _ in $(seq 1 300); do [ "$(count)" -gt "$have" ] && break; sleep 0.1; done
	done
	sleep 2     # let the last clients finish attaching
fi
echo "sessions running: $(count)"
"$BENCH" --config "$RDMS_E2E_DIR/rdms.conf" -n 200
