#!/usr/bin/env bash
# bench/fleet.sh -- the fleet broker's benchmark (issue 15 item 7;
# spec/fleet.md 4.7, 8.3): `make bench-fleet` runs it after building.  Not
# a test: it prints each figure with its target beside it.  It builds the
# fleet lab (tests/e2e/fleet_lab.py: 100 fixture hosts of 1,000 sessions,
# each a real rdmsd in its network namespace), a broker in b1, and drives
# it from the client namespace with wrk, curl and bench/fleet_client.py;
# bench/fleet_bench.py says what it measures, and how.
#
# Holds /tmp/rdms-bench.lock (one benchmark at a time on this machine) and
# /tmp/rdms-lab.lock (the lab's accounts and the namespace names are
# global), and removes the lab on any exit.  Needs root, wrk and curl.
#
# Environment: BUILD (build), FLEET_BENCH_HOSTS (100; fewer for a quick
# run), FLEET_BENCH_SESSIONS (1000), FLEET_BENCH_RUNS (3),
# FLEET_BENCH_DURATION (4 s per wrk run), FLEET_BENCH_CHURN_RATE (1000
# changes/s), FLEET_BENCH_CHURN_BATCH (10 changes per fixture rewrite),
# FLEET_BENCH_CHURN_SECONDS (10), FLEET_BENCH_CALLS (100),
# FLEET_BENCH_IDLE_SECONDS (20), FLEET_BENCH_ONLY (the stages: cold,enum,
# get,wql,churn,disconnect,idle; on PostgreSQL also wal,kill),
# FLEET_BENCH_STORE (sqlite; postgresql: two brokers on PostgreSQL 15 behind
# haproxy, `make bench-fleet-pg`), FLEET_BENCH_WAL_SECONDS (120: the idle
# window WAL is measured over), FLEET_BENCH_KILL_CLIENTS (4 clients calling
# methods while b1 is killed), FLEET_BENCH_BROKER_RDMSD (the broker's
# rdmsd, e.g. another build's), FLEET_BENCH_PERF (a directory: perf record
# -g of the broker's Get runs and WS-Man enumerations; FLEET_BENCH_PERF_GRAPH
# =dwarf for call graphs through libc), FLEET_BENCH_THREADS (1: the
# Disconnect rate runs' switches and CPU per call by thread role).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

die() { echo "bench/fleet: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, accounts); run: sudo make bench-fleet"
for tool in wrk curl ip python3; do
	command -v "$tool" >/dev/null || die "$tool is missing (make bench-fleet installs BENCH_DEPS)"
done
if [ "${FLEET_BENCH_STORE:-sqlite}" = postgresql ]; then
	for tool in /usr/sbin/haproxy /usr/lib/postgresql/15/bin/postgres; do
		[ -x "$tool" ] || die "$tool is missing (make deps installs TEST_DEPS: haproxy, postgresql-15)"
	done
fi
for f in "$BUILD/rdms" "$BUILD/rdmsd"; do
	[ -x "$f" ] || die "$f is not built (make build)"
done
export RDMS_BIN=$PWD/$BUILD/rdms
# -o: the daemons the benchmark starts must not hold the locks themselves
exec flock -o /tmp/rdms-bench.lock flock -o /tmp/rdms-lab.lock python3 bench/fleet_bench.py
