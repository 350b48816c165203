#!/usr/bin/env bash
# bench/run.sh -- prints rdms's benchmark figures (not a test: nothing here
# passes or fails on speed).  `make bench` runs it after building.
#   1. WQL evaluation rate over 100,000 in-memory instances (bench_wql)
#   2. enumerate time of this host's real xrdp sessions (bench_enumerate),
#      with a lab of real sessions started by tests/e2e/bench.sh when root
#   3. rdmsd's request figures over WS-Man and CIM-XML with 10,000 fixture
#      sessions: Get, Enumerate, Invoke, RSS, first request (wsman_bench.sh;
#      root only, it creates a temporary PAM account)
#   4. X2Go listing time for 1, 10 and 50 sessions (bench_x2go): the session
#      database read, state files and enumerate on synthesized fixtures
# The 10-minute soak on 1,000 connections (bench/soak.sh) is not run here:
# `make soak` runs it.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

echo "=== WQL evaluation"
"$BUILD/bench/bench_wql"

echo "=== enumerate real xrdp sessions"
if [ -x tests/e2e/bench.sh ] && [ "$(id -u)" -eq 0 ]; then
	bash tests/e2e/bench.sh "$BUILD/bench/bench_enumerate"
else
	"$BUILD/bench/bench_enumerate"
fi

echo "=== rdmsd requests (WS-Management, CIM-XML)"
if [ "$(id -u)" -eq 0 ]; then
	BUILD=$BUILD bash bench/wsman_bench.sh
else
	echo "skipped: bench/wsman_bench.sh needs root (it creates a PAM account)"
fi

echo "=== X2Go listing (synthesized database, state files, fixture /proc)"
"$BUILD/bench/bench_x2go"
