#!/usr/bin/env bash
# run_all.sh -- every test of rdms, as `make check` runs them:
#   1. unit tests under ASan+UBSan (build-asan)
#   2. the same unit tests under valgrind (build)
#   3. every libFuzzer target for 30 s, each counted as one test (fuzz/run.sh)
#   4. end-to-end tests on a real xrdp server with real clients (tests/e2e/run.sh)
# Each stage's own summary is printed; the last line adds them all up as
# "N passed, M failed" and the exit status is non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
total_pass=0
total_fail=0
# what failed, by name, repeated just above the last line: a CI log is often
# read from its tail, and the failure itself may be thousands of lines up
failed_names=()

# count_meson LOG: adds the results in one of meson's testlog*.json files to
# the totals (a run with --setup NAME writes testlog-NAME.json).
count_meson() {
	local counts
	counts=$(python3 - "$1" <<'PY'
import json, sys
p = f = 0
names = []
try:
    for line in open(sys.argv[1]):
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"): p += 1
        elif r != "SKIP":
            f += 1
            names.append("%s (%s)" % (t.get("name", "?"), r))
except OSError:
    f += 1
    names.append("no " + sys.argv[1])
print(p, f)
for n in names: print(n)
PY
)
	local first; first=$(head -1 <<<"$counts")
	total_pass=$((total_pass + ${first% *}))
	total_fail=$((total_fail + ${first#* }))
	while IFS= read -r name; do
		[ -n "$name" ] && failed_names+=("$2: $name")
	done < <(tail -n +2 <<<"$counts")
}

echo "=== unit tests (ASan+UBSan)"
meson test -C "$ASAN_BUILD" --suite unit --print-errorlogs
count_meson "$ASAN_BUILD/meson-logs/testlog.json" "unit, ASan"

echo "=== unit tests (valgrind)"
meson test -C "$BUILD" --suite unit --setup valgrind --print-errorlogs
count_meson "$BUILD/meson-logs/testlog-valgrind.json" "unit, valgrind"

echo "=== fuzz targets (30 s each)"
fuzz_log=$(mktemp)
bash fuzz/run.sh "${FUZZ_SECONDS:-30}" 2>&1 | tee "$fuzz_log"
# its last line is "N passed, M failed"; no such line is one failure
if read -r p _ f _ < <(grep -E '^[0-9]+ passed, [0-9]+ failed' "$fuzz_log" | tail -1); then
	total_pass=$((total_pass + p)); total_fail=$((total_fail + ${f%,}))
else
	echo "fuzz run printed no result"
	total_fail=$((total_fail + 1))
	failed_names+=("fuzz: no result line")
fi
while read -r _ name _; do failed_names+=("fuzz: $name"); done < <(grep -E '^FAIL fuzz_' "$fuzz_log")
rm -f "$fuzz_log"

echo "=== end-to-end tests"
e2e_log=$(mktemp)
bash tests/e2e/run.sh 2>&1 | tee "$e2e_log"
e2e_rc=${PIPESTATUS[0]}
# every e2e program ends with its own "N passed, M failed" line: add them up
e2e_pass=0 e2e_fail=0 e2e_lines=0
while read -r p _ f _; do
	e2e_pass=$((e2e_pass + p)); e2e_fail=$((e2e_fail + ${f%,})); e2e_lines=$((e2e_lines + 1))
done < <(grep -E '^[0-9]+ passed, [0-9]+ failed' "$e2e_log")
total_pass=$((total_pass + e2e_pass)); total_fail=$((total_fail + e2e_fail))
if [ "$e2e_rc" -ne 0 ] && [ "$e2e_fail" -eq 0 ]; then
	echo "end-to-end run failed (exit $e2e_rc)"
	total_fail=$((total_fail + 1))
	failed_names+=("e2e: run.sh exit $e2e_rc")
fi
if [ "$e2e_lines" -eq 0 ]; then
	echo "end-to-end run printed no result"
	total_fail=$((total_fail + 1))
	failed_names+=("e2e: no result line")
fi
# each failing check under the name of the program it is in ("=== test_x.py"),
# and each program that ended without its summary line (it crashed, or hung)
while IFS= read -r line; do failed_names+=("e2e: $line"); done < <(awk '
	function ended() { if (prog != "" && !summed) print prog ": no \"N passed, M failed\" line" }
	/^=== test_/ { ended(); prog = $2; summed = 0 }
	/^[0-9]+ passed, [0-9]+ failed/ || /^ *SKIPPED: / { summed = 1 }
	/^ *FAIL[: ]/ { sub(/^ */, ""); print prog ": " $0 }
	END { ended() }' "$e2e_log")
rm -f "$e2e_log"

echo
if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed_names[@]:0:40}" | cut -c1-300
	[ "${#failed_names[@]}" -le 40 ] || echo "  ... and $((${#failed_names[@]} - 40)) more"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
