#!/bin/bash
# run.sh -- the end-to-end tests: start the xrdp lab (lab.sh), run every
# test against it, stop it again (sessions logged off first), and exit
# non-zero when anything failed.  Needs root and a built rdms ($RDMS_BIN,
# default build/rdms).  A lab that was already running is left running.
# RDMS_E2E_ONLY (a space-separated list of test file names) limits the run.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export RDMS_BIN=${RDMS_BIN:-$ROOT/build/rdms}
export RDMS_E2E_DIR=${RDMS_E2E_DIR:-/tmp/rdms-e2e}
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "run.sh: the e2e tests need root"; exit 1; }
[ -x "$RDMS_BIN" ] || { echo "run.sh: $RDMS_BIN is not built"; exit 1; }

started=0
if ! "$HERE/lab.sh" status 2>/dev/null | grep -q '^sesman: running'; then
	"$HERE/lab.sh" start || { echo "run.sh: the lab did not start"; "$HERE/lab.sh" stop; exit 1; }
	started=1
fi
cleanup() { [ $started = 1 ] && "$HERE/lab.sh" stop; }
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
# RDMS_E2E_ONLY="test_a.py test_b.py" runs just those (for working on one)
for t in "$HERE"/test_*.py; do
	case " ${RDMS_E2E_ONLY:-$(basename "$t")} " in *" $(basename "$t") "*) ;; *) continue;; esac
	echo "=== $(basename "$t")"
	timeout 300 "$PY" "$t" || rc=1
done
exit $rc
