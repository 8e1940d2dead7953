#!/usr/bin/env bash
# e2e: every SIPp call scenario (tests/e2e/sipp) over TCP through the edge, both legs TCP,
# then /metrics shows no live transaction, dialog or call.
# E2E_DIRECT=1 runs the same pairs without the edge (see tests/e2e/lib.sh).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
. "$SRC/tests/e2e/lib.sh"

calls_init tcp 127.0.32.64 tcp 0
calls_start_edge
calls_run_all
calls_check_idle
calls_finish
