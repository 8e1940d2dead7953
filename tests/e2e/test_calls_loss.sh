#!/usr/bin/env bash
# e2e: every SIPp call scenario over UDP, 3 calls each, with SIPp's -lost 10 (caller and
# callee each drop 10% of what they send and receive): every call completes, retransmissions
# doing their work; then /metrics shows no live transaction, dialog or call.  TCP does not
# lose messages, and SIP does not retransmit over it, so there is no TCP loss run.
# E2E_DIRECT=1 runs the same pairs without the edge (see tests/e2e/lib.sh).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
. "$SRC/tests/e2e/lib.sh"

calls_init loss 127.0.33.64 udp 10
calls_start_edge
calls_run_all
calls_check_idle
calls_finish
