#!/usr/bin/env bash
# e2e: ixedge starts on the lab topology, answers OPTIONS (UDP, TCP, SIPp), 400s a
# malformed INVITE with a reason naming the problem, and stops cleanly on SIGTERM.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
. "$SRC/tests/e2e/daemon_lib.sh"

[ -x "$IXEDGE" ] || fail "$IXEDGE not built"
PORT=$(pick_port)
lab_config "$PORT" "$WORK/lab.yaml"
start_daemon "$WORK/lab.yaml"

# Every gateway of every edge listens on UDP and TCP; TLS is announced as not served.
for e in 1 2 3 4 5 6 7 8; do
  for h in 64 65 66; do
    for t in udp tcp; do
      grep -q "listening $t 127.0.$e.$h:$PORT (edge " "$WORK/daemon.log" ||
        fail "no 'listening $t 127.0.$e.$h:$PORT' line"
    done
    grep -q "tls 127.0.$e.$h:$((PORT + 1)) (edge .*) configured, not served yet" "$WORK/daemon.log" ||
      fail "no tls line for 127.0.$e.$h"
  done
done
grep -q "listening udp 127.0.1.64:$PORT (edge ashburn-ix)" "$WORK/daemon.log" || fail "edge name missing"
grep -q "listening tcp 127.0.8.66:$PORT (edge sao-paulo-ix)" "$WORK/daemon.log" || fail "edge name missing"

$PROBE options-udp 127.0.1.64 "$PORT" || fail "udp OPTIONS"
$PROBE options-udp 127.0.3.66 "$PORT" || fail "udp OPTIONS on london-ix"
$PROBE bad-cseq-udp 127.0.1.65 "$PORT" || fail "malformed INVITE"
$PROBE invite-udp 127.0.2.64 "$PORT" || fail "INVITE"
$PROBE ack-udp 127.0.1.64 "$PORT" || fail "ACK"
$PROBE response-udp 127.0.1.64 "$PORT" || fail "stray response"
$PROBE garbage-udp 127.0.1.64 "$PORT" || fail "garbage"
$PROBE options-tcp 127.0.1.64 "$PORT" || fail "tcp OPTIONS"
# Still alive and answering after all of that.
$PROBE options-udp 127.0.1.64 "$PORT" || fail "udp OPTIONS after the bad inputs"

# A real user agent: SIPp's OPTIONS scenario (the README's first call).
command -v sipp >/dev/null || fail "sipp not installed (scripts/deps.sh installs sip-tester)"
(cd "$WORK" && timeout 20 sipp -sf "$SRC/tests/e2e/options.xml" -i 127.0.0.1 -m 1 \
  -timeout 10 -timeout_error -nostdin "127.0.1.66:$PORT" >"$WORK/sipp.out" 2>&1) ||
  { tail -n 20 "$WORK/sipp.out"; fail "SIPp OPTIONS scenario failed"; }
echo "ok: sipp OPTIONS scenario passed"

# The counters are served by the admin endpoint (PORT+2 in lab_config).
metrics=$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
  "http://127.0.0.1:$((PORT + 2))/metrics") || fail "GET /metrics failed"
echo "$metrics" | grep -Eq '^ixedge_sip_messages_total\{direction="in",transport="UDP"\} [1-9]' ||
  fail "no UDP messages counted in /metrics"
echo "$metrics" | grep -Eq '^ixedge_sip_parse_errors_total [1-9]' || fail "parse errors not counted"
echo "ok: /metrics counts the traffic"

stop_daemon TERM
echo "ok: SIGTERM -> exit 0"
