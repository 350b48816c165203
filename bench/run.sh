#!/usr/bin/env bash
# bench/run.sh -- prints rdms's benchmark figures (not a test: nothing here
# passes or fails on speed).  `make bench` runs it after building.
#   1. WQL evaluation rate over 100,000 in-memory instances (bench_wql)
#   2. enumerate time of this host's real xrdp sessions (bench_enumerate),
#      with a lab of real sessions started by tests/e2e/bench.sh when root
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
