#!/usr/bin/env bash
# scripts/run.sh -- `make run`: rdmsd in the foreground, serving this host's
# real xrdp sessions.  Without systemd here, it first starts what a host
# would have running (Xvfb for test clients, xrdp-sesman and xrdp on
# loopback, via tests/e2e/lab.sh), then runs rdmsd with the default ports
# (WS-Man 5985/5986, CIM-XML 5988/5989, /run/rdms/rdmsd.sock).  Ctrl-C stops
# rdmsd and then the services this script started (by PID, in lab.sh).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export RDMS_E2E_DIR=${RDMS_E2E_DIR:-/tmp/rdms-run}
CONF=${RDMS_CONFIG:-}

[ "$(id -u)" = 0 ] || { echo "make run: needs root (it starts xrdp and binds the WS-Man ports)"; exit 1; }
started=0
if ! tests/e2e/lab.sh status 2>/dev/null | grep -q '^sesman: running'; then
	tests/e2e/lab.sh start || exit 1
	started=1
fi
cleanup() { [ $started = 1 ] && tests/e2e/lab.sh stop; }
trap cleanup EXIT

if [ -z "$CONF" ]; then
	# the lab's xrdp writes its log in the lab; everything else is the default
	CONF=$RDMS_E2E_DIR/rdmsd-run.conf
	grep -E '^(xrdp_log|xrdp_sockdir) ' "$RDMS_E2E_DIR/rdms.conf" > "$CONF"
fi
cat <<EOT
rdms: rdmsd serving this host's xrdp sessions (config $CONF)
  connect a client:   tests/e2e/lab.sh connect c1 rdmstest1 /client-hostname:PC1
  list the sessions:  $BUILD/rdms list        (as root, over /run/rdms/rdmsd.sock)
  over WS-Man:        wslenum -h 127.0.0.1 -P 5985 -u USER ... (see README)
EOT
"$BUILD/rdmsd" --foreground --config "$CONF" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' INT TERM
wait $pid
rc=$?
wait $pid 2>/dev/null
exit $rc
