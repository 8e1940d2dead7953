#!/usr/bin/env bash
# e2e: a call over IPv6 (::1): SIPp caller -> ixedge gateway [::1] -> SIPp callee, then
# /metrics (served on [::1]) shows the call counted and no live call, dialog or transaction.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"

# A free even port on ::1 for the gateway (PORT), TLS (+1), admin (+2), callee (+3), caller (+4).
PORT=$(python3 "$SRC/scripts/free_ports.py" 20000-40000 5 ::1)
cat >"$WORK/v6.yaml" <<YAML
sip: {timers: {t1: 50, t2: 200, t4: 250}}
regions: [{name: lab}]
edges:
  - name: loop6-ix
    region: lab
    gateways:
      - {address: '::1', udp: $PORT, tcp: $PORT, tls: $((PORT + 1))}
    media: {addresses: ['::1'], ports: 10000-60000}
routes:
  - match: "*"
    target: "sip:{user}@[::1]:$((PORT + 3))"
admin: {listen: '[::1]:$((PORT + 2))'}
YAML
start_daemon "$WORK/v6.yaml"
grep -q "listening udp \[::1\]:$PORT" "$WORK/daemon.log" || fail "no IPv6 UDP listener"
grep -q "listening tcp \[::1\]:$PORT" "$WORK/daemon.log" || fail "no IPv6 TCP listener"

cd "$WORK"
timeout 30 sipp -sn uas -i ::1 -p $((PORT + 3)) -m 1 -timeout 20 -timeout_error \
  >"$WORK/uas.out" 2>&1 &
UAS=$!
sleep 0.3
timeout 30 sipp -sn uac -i ::1 -p $((PORT + 4)) -s alice "[::1]:$PORT" -m 1 -d 200 \
  -timeout 20 -timeout_error >"$WORK/uac.out" 2>&1 || { tail -20 "$WORK/uac.out"; fail "caller failed"; }
wait $UAS || { tail -20 "$WORK/uas.out"; fail "callee failed"; }
echo "ok: call over IPv6"

metric() {
  python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
    "http://[::1]:$((PORT + 2))/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
[ "$(metric ixedge_calls_answered_total)" = 1 ] || fail "answered call not counted"
# Transactions and the call linger 64*T1 (3.2 s here); then everything is gone.
for _ in $(seq 1 100); do
  [ "$(metric ixedge_calls)" = 0 ] && [ "$(metric ixedge_dialogs)" = 0 ] &&
    [ "$(metric ixedge_transactions)" = 0 ] && break
  sleep 0.1
done
[ "$(metric ixedge_calls)" = 0 ] || fail "a call leaked"
[ "$(metric ixedge_dialogs)" = 0 ] || fail "a dialog leaked"
[ "$(metric ixedge_transactions)" = 0 ] || fail "a transaction leaked"
echo "ok: nothing left behind"
stop_daemon TERM
