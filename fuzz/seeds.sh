#!/usr/bin/env bash
# seeds.sh -- regenerates the seed corpora in fuzz/corpus/ (run by hand;
# the result is committed, so make check does not depend on it).
#
# Seeds come from two places:
#   - tests/captures: real client requests (WS-Man bodies, CIM-XML requests
#     as sent, their Authorization headers), the schema MOF, the default
#     config;
#   - the unit tests: each test_X.c is rebuilt (seed_test_X, see
#     fuzz/meson.build) with its parser calls redirected to
#     fuzz/seed_capture.c, which writes every input the test passes (good
#     and malformed) in the form the fuzz target reads.
# Inputs over 4 KiB are left out (-max_len): seeds stay small and readable.
# The seeds of negotiate, ingest, privsep, client, charset, ctx and backend
# are not made here: they are a few hand-made inputs each (real tokens, a
# host's replies as rdmsd sends them, one encoded request of each type,
# captured replies, UTF-16 envelopes, context payloads as wsman_ctx_seal
# lays them out, /proc lines, xrdp log lines, an X2Go session list), kept
# as they are.
set -eu
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD:-build-fuzz}
OUT=fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -f "$BUILD/build.ninja" ] || bash fuzz/run.sh --build-only
targets="wql path mof config basic wsman cimxml"
for t in $targets; do mkdir -p "$tmp/$t"; done

# ---- the unit tests' inputs (seed_test_* in fuzz/meson.build) ----
# shellcheck disable=SC2046
ninja -C "$BUILD" $(for t in $targets; do printf 'fuzz/seed_test_%s ' "$t"; done) >/dev/null
bin=$(cd "$BUILD/fuzz" && pwd)
for t in $targets; do
	(cd "$tmp" && SEED_DIR="$tmp" ASAN_OPTIONS=detect_leaks=0 "$bin/seed_test_$t" >/dev/null 2>&1) || echo "seeds.sh: test_$t failed; its inputs are kept anyway" >&2
done

# ---- the captures and shipped files ----
body() { sed '1,/^\r\?$/d' "$1"; }   # what follows the blank line
for f in tests/captures/*.req; do
	n=$(basename "$f" .req)
	case $n in
	wbemcli-*) cp "$f" "$tmp/cimxml/capture-$n" ;;
	*)         body "$f" > "$tmp/wsman/capture-$n" ;;
	esac
	sed -n 's/^Authorization: \(.*\)\r\?$/\1/p' "$f" | tr -d '\r\n' > "$tmp/basic/capture-$n"
	sed -n 's/.*<wsman:Filter[^>]*>\([^<]*\)<.*/\1/p' "$f" | sed 's/&lt;/</g; s/&gt;/>/g;
		s/&quot;/"/g; s/&apos;/'"'"'/g; s/&amp;/\&/g' > "$tmp/wql/capture-$n"
done
# Enumerate, Pull twice, Release on one service ("$CONTEXT": see fuzz_wsman.c).
cap=tests/captures
enum=$(body $cap/wsl-enumerate-wql-optimized.req |
	sed 's|<wsman:MaxElements>50<|<wsman:MaxElements>1<|; s| WHERE UserName=.alice.||')
# shellcheck disable=SC2016 # $CONTEXT is literal
pull=$(body $cap/wsl-pull.req | sed 's|uuid:EnumerateEPR-[0-9a-f-]*|$CONTEXT|;
	s|</wsen:EnumerationContext>|&<wsen:MaxElements>1</wsen:MaxElements>|')
pull2=$(echo "$pull" | sed 's|0b9d5469-|1b9d5469-|')
release=$(echo "$pull" | sed 's|enumeration/Pull<|enumeration/Release<|; s|wsen:Pull>|wsen:Release>|g;
	s|<wsen:MaxElements>1</wsen:MaxElements>||; s|0b9d5469-|2b9d5469-|')
printf '%s<!--next-->%s<!--next-->%s<!--next-->%s<!--next-->%s' "$enum" "$pull" "$pull" \
	"$pull2" "$release" > "$tmp/wsman/chain-enumerate-pull-release"
printf '%s<!--next-->%s' "$enum" "$release" > "$tmp/wsman/chain-enumerate-release"
cp schema/RDManagement.mof "$tmp/mof/RDManagement.mof"
cp dist/rdmsd.conf "$tmp/config/rdmsd.conf"

# ---- keep what adds coverage ----
# Captures, the MOF and the config are kept by name; of the unit tests'
# inputs (thousands: some tests loop over every byte), libFuzzer's -merge
# keeps only those that reach code the kept seeds do not.
for t in $targets; do
	mkdir -p "$OUT/$t" "$tmp/merged-$t" "$tmp/unit-$t"
	for f in "$tmp/$t"/*; do
		[ -s "$f" ] || continue
		case $(basename "$f") in
		unit-*) mv "$f" "$tmp/unit-$t/" ;;
		*)      cp "$f" "$OUT/$t/" ;;
		esac
	done
	find "$OUT/$t" -type f -exec cp {} "$tmp/merged-$t/" \;
	find "$tmp/unit-$t" -type f -size +4096c -delete
	TMPDIR=$tmp "$BUILD/fuzz/fuzz_$t" -merge=1 -max_len=4096 "$tmp/merged-$t" "$tmp/unit-$t" \
		>"$tmp/merge-$t.log" 2>&1 || { cat "$tmp/merge-$t.log"; exit 1; }
	for f in "$tmp/merged-$t"/*; do
		n=$(basename "$f")
		[ -e "$OUT/$t/$n" ] || cp "$f" "$OUT/$t/unit-$n"
	done
	echo "$t: $(find "$OUT/$t" -type f | wc -l) seeds"
done
