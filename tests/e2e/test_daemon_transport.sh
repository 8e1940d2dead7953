#!/usr/bin/env bash
# e2e: TCP keep-alives, framing errors, idle timeout and connection cap; a bind
# conflict fails with the address and reason; SIGINT stops cleanly.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
. "$SRC/tests/e2e/daemon_lib.sh"

[ -x "$IXEDGE" ] || fail "$IXEDGE not built"
PORT=$(pick_port)
lab_config "$PORT" "$WORK/lab.yaml" \
  's/tcp_idle_timeout: 300/tcp_idle_timeout: 1/; s/tcp_max_connections: 1024/tcp_max_connections: 3/'
grep -q "tcp_idle_timeout: 1$" "$WORK/lab.yaml" || fail "could not set tcp_idle_timeout"
start_daemon "$WORK/lab.yaml" --log-level debug

$PROBE keepalive-tcp 127.0.1.64 "$PORT" || fail "keep-alive"
$PROBE framing-tcp 127.0.4.65 "$PORT" || fail "framing error"
grep -q "cannot frame the stream" "$WORK/daemon.log" || fail "framing error not logged"
$PROBE idle-tcp 127.0.5.64 "$PORT" 1 || fail "idle timeout"
$PROBE maxconn-tcp 127.0.1.64 "$PORT" 3 || fail "connection cap"
grep -q "refused: 3 connections open" "$WORK/daemon.log" || fail "refusal not logged"
$PROBE garbage-udp 127.0.1.64 "$PORT" || fail "garbage"
grep -q "dropped malformed message" "$WORK/daemon.log" || fail "dropped garbage not logged at debug"

# A second daemon on the same addresses must say which bind failed, and why.
set +e
timeout 10 "$IXEDGE" -c "$WORK/lab.yaml" --data-dir "$WORK/data" 2>"$WORK/second.log"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "second daemon: expected exit 1, got $rc"
grep -q "cannot listen on udp 127.0.1.64:$PORT (edge ashburn-ix): address already in use" \
  "$WORK/second.log" || { cat "$WORK/second.log"; fail "bind failure message"; }
echo "ok: bind conflict -> exit 1 naming the address"

# The first one is unharmed.
$PROBE options-udp 127.0.1.64 "$PORT" || fail "OPTIONS after the bind conflict"
stop_daemon INT
echo "ok: SIGINT -> exit 0"
