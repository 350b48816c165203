#!/usr/bin/env bash
# run.sh -- builds the libFuzzer targets and runs each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [TARGET...]   default 30 s each, every target
#   fuzz/run.sh --build-only
#
# The targets live in build-fuzz (clang, ASan+UBSan, -Dfuzzing=true), set
# up here on first use.  Each target starts from a temporary copy of its
# seeds in fuzz/corpus/<target>/, so the repository is never written
# (FUZZ_CORPUS=DIR keeps the evolved corpora in DIR/<target> instead, for
# long runs that build on each other); what
# a run finds (crash, leak, timeout, out-of-memory input) is copied to
# build-fuzz/artifacts/ to be fixed and then added to the seeds as a
# regression input.  FUZZ_JOBS targets run at once (default 2).  Prints one
# PASS/FAIL line per target with its runs and coverage, then
# "N passed, M failed"; the exit status is non-zero when any failed.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-2}
ALL="wql path mof config basic negotiate wsman cimxml encbody ingest privsep client charset ctx backend"

build_only=false
secs=30
if [ "${1:-}" = --build-only ]; then
	build_only=true
	shift
elif [ -n "${1:-}" ] && [ "${1:-}" -eq "${1:-}" ] 2>/dev/null; then
	secs=$1
	shift
fi
targets=${*:-$ALL}

# Inputs longer than a parser's own limit, so the limit itself is fuzzed.
max_len() {
	case $1 in
	basic)  echo 2048 ;;     # BASIC_MAX_HEADER 1024
	negotiate) echo 10000 ;; # NEGO_HDR_B64_MAX 8192 and the scheme
	privsep) echo 70000 ;;   # PRIV_MSG_MAX 65536
	config) echo 8192 ;;
	path)   echo 10000 ;;    # PATH_MAX_LEN 8192
	wql)    echo 20000 ;;    # WQL_MAX_QUERY 16384
	ctx)    echo 30000 ;;    # WSMAN_CTX_MAX_LEN 24576
	*)      echo 16384 ;;
	esac
}

fail_all() {
	echo "fuzz: $1"
	# shellcheck disable=SC2086 # one word per target
	set -- $targets
	echo "0 passed, $# failed"
	exit 1
}

command -v clang >/dev/null || fail_all "clang is not installed (apt-get install clang libclang-rt-14-dev)"
if [ ! -f "$BUILD/build.ninja" ]; then
	log=$(mktemp)
	CC=clang meson setup "$BUILD" --buildtype=debugoptimized -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false >"$log" 2>&1 ||
		{ cat "$log"; rm -f "$log"; fail_all "meson setup $BUILD failed"; }
	rm -f "$log"
fi
exes=$(for t in $targets; do printf 'fuzz/fuzz_%s ' "$t"; done)
# shellcheck disable=SC2086
ninja -C "$BUILD" $exes >/dev/null || { ninja -C "$BUILD" $exes; fail_all "build failed"; }
$build_only && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$BUILD/artifacts"
export TMPDIR=$work   # fuzz_provider.c writes its fixture file there
# UBSan findings must stop the run like ASan's do.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1

# run_one TARGET: fuzzes it for $secs seconds; the exit status is libFuzzer's.
run_one() {
	local t=$1 dir=$work/$1 corpus=$work/$1/corpus
	[ -z "${FUZZ_CORPUS:-}" ] || corpus=$FUZZ_CORPUS/$t
	mkdir -p "$corpus" "$dir/artifacts"
	cp fuzz/corpus/"$t"/* "$corpus/" 2>/dev/null
	"$BUILD/fuzz/fuzz_$t" "$corpus" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len="$(max_len "$t")" -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1
	echo $? >"$dir/rc"
}

running=0
for t in $targets; do
	if [ ! -d "fuzz/corpus/$t" ]; then
		echo "fuzz: no target $t" >&2
		continue
	fi
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

pass=0 fail=0
for t in $targets; do
	dir=$work/$t
	rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" 2>/dev/null)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$dir/log" 2>/dev/null | tail -1)
	if [ "$rc" -eq 0 ] && ! ls "$dir"/artifacts/* >/dev/null 2>&1; then
		echo "PASS fuzz_$t: ${runs:-?} runs in ${secs} s, ${cov:-no coverage line}"
		pass=$((pass + 1))
	else
		echo "FAIL fuzz_$t (exit $rc) after ${runs:-?} runs, ${cov:-no coverage line}"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*contract broken|.*runtime error)' "$dir/log" | head -5 | sed 's/^/    /'
		for a in "$dir"/artifacts/*; do
			[ -f "$a" ] || continue
			cp "$a" "$BUILD/artifacts/$t-$(basename "$a")"
			echo "    input saved as $BUILD/artifacts/$t-$(basename "$a");" \
				"reproduce: $BUILD/fuzz/fuzz_$t $BUILD/artifacts/$t-$(basename "$a")"
		done
		cp "$dir/log" "$BUILD/artifacts/$t.log"
		echo "    log: $BUILD/artifacts/$t.log"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
