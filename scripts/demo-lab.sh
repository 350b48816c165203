#!/usr/bin/env bash
# scripts/demo-lab.sh -- the demonstration lab that `make run` starts on a
# host where no xrdp or X2Go server runs: tests/e2e/lab.sh (Xvfb for the
# client screen, xrdp-sesman and xrdp on loopback) in $RDMS_RUN_DIR/lab
# (default /run/rdms-run/lab), with its own accounts rdmsdemo1 and
# rdmsdemo2 (random passwords, no login shell).
#
#   demo-lab.sh connect NAME USER [xfreerdp args...]   a test session: an
#                                 xfreerdp client drawing on the lab's Xvfb
#   demo-lab.sh status            what runs, and the sessions
#   demo-lab.sh password USER     a demo account's password (root only)
#   demo-lab.sh stop              logs its sessions off, stops the lab and
#                                 removes its accounts
#
# The lab outlives `make run`: stopping rdmsd (Ctrl-C) leaves its sessions
# running, and the next `make run` serves them again.
set -u
export RDMS_E2E_DIR=${RDMS_RUN_DIR:-/run/rdms-run}/lab
export RDMS_LAB_USER_PREFIX=rdmsdemo
exec "$(dirname "$0")/../tests/e2e/lab.sh" "$@"
