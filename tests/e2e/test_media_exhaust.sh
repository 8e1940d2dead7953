#!/usr/bin/env bash
# e2e (issue 6): media port exhaustion.  london-ix has a media range of three port pairs; a call in
# on a london-ix gateway routed out of london-ix takes two (one per leg).  The second call finds one
# pair for its caller leg and none for its callee leg: the caller gets 503, the callee never sees
# it, the first call's media goes on, and the pair taken for the refused call is given back (all
# london-ix ports free once the calls are over).  After the first call a third call gets ports.
# ixedge keeps running and exits 0.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/media/media_lib.sh"

media_init 144
CALLEE=$((LOCAL + 1))
CALLEE_RTP=$((LOCAL + 2))
LON=127.86.$MEDIA_NET.3
RANGE=20000-20005
media_config "$WORK/edge.yaml" london-ix=$RANGE <<EOF
media: {quarantine_ms: 200}
routes:
  - {match: "*", target: "sip:{user}@127.0.0.1:$CALLEE;edge=london-ix"}
EOF
start_daemon "$WORK/edge.yaml"
start_callee uas "$CALLEE" "$CALLEE_RTP"
total=$(metric 'ixedge_media_ports_total{pool="london-ix"}')
[ "$total" = 6 ] || fail "/metrics: london-ix has $total media ports, the config gives $RANGE (6)"

peer exhaust --gw "127.0.3.64:$PORT" --ruri "sip:unused@acme.sip.london-ix.twilio.com" \
	--tiny-ruri "sip:tiny@acme.sip.london-ix.twilio.com" --callee-log "$WORK/uas.log" \
	--callee-rtp "$CALLEE_RTP" --pool "$LON" --callee-pool "$LON" --range "$RANGE" --quarantine 0.5
n=$(python3 "$UA" get "$WORK/uas.log" tiny count)
[ "$n" = 2 ] || fail "the callee got $n INVITEs for 'tiny'; expected 2 (the refused call never leaves)"
echo "ok: the callee got the first and the third call only"
ex=$(metric 'ixedge_media_exhausted_total{pool="london-ix"}')
[ "$ex" = 1 ] || fail "/metrics: ixedge_media_exhausted_total{pool=\"london-ix\"} is $ex, expected 1"
echo "ok: /metrics: one exhaustion counted for london-ix"
wait_metric 'ixedge_media_ports_in_use{pool="london-ix"}' 0 5 ||
	fail "/metrics: london-ix still has $(metric 'ixedge_media_ports_in_use{pool="london-ix"}') ports in use after the calls (leaked by the refused call?)"
echo "ok: /metrics: all london-ix ports free again"
grep -q "pool exhausted" "$WORK/daemon.log" && echo "ok: daemon log: $(grep -m1 -o 'CA[0-9a-f]*.*pool exhausted.*' "$WORK/daemon.log")"
kill -0 "$DPID" || fail "ixedge died"
stop_daemon TERM
