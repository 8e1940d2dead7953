#!/usr/bin/env bash
# e2e (issue 6): media through the edge with Python RTP peers (tests/e2e/media/peer.py) and the
# ua.py callee.  Media timeout 2 s.  One call: packets both ways arrive exactly, from the edge;
# hold (sendonly: the callee sees it, the caller gets recvonly), 3 s of silence that the
# hold-aware timeout lets pass, music on hold, resume, the caller's port moved by re-INVITE (the
# callee's packets follow).  A caller sending from another port than its SDP names gets its
# return traffic there (latching).  A call without RTP ends after the timeout with BYE on both
# legs naming "media timeout".  /metrics counts every packet sent, relayed, none dropped.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/media/media_lib.sh"

media_init 143
CALLEE=$((LOCAL + 1))
CALLEE_RTP=$((LOCAL + 2))
ASH=127.86.$MEDIA_NET.1
media_config "$WORK/edge.yaml" <<EOF
media: {timeout: 2, quarantine_ms: 200}
routes:
  - {match: "*", target: "sip:{user}@127.0.0.1:$CALLEE"}
EOF
start_daemon "$WORK/edge.yaml"
start_callee uas "$CALLEE" "$CALLEE_RTP"
read -r rx0 tx0 drop0 <<<"$(media_counters)"
common=(--callee-log "$WORK/uas.log" --callee-rtp "$CALLEE_RTP" --pool "$ASH" --callee-pool "$ASH")

echo "-- hold, resume and a port change (caller 127.0.1.64 -> ashburn-ix, both legs on $ASH)"
peer flows --ruri "sip:flows@acme.sip.ashburn-ix.twilio.com" "${common[@]}" --silence 3
sent=$(sed -n 's/^  sent=//p' <<<"$PEER_OUT")
echo "-- latching behind a changed source port"
peer latch --ruri "sip:latch@acme.sip.ashburn-ix.twilio.com" "${common[@]}"
sent=$((sent + $(sed -n 's/^  sent=//p' <<<"$PEER_OUT")))
echo "-- media timeout"
peer timeout --ruri "sip:silent@acme.sip.ashburn-ix.twilio.com" "${common[@]}" --min-time 1.5 --wait 6
wait_log "ended: .*media timeout" 3 || fail "no 'ended: ... media timeout' line in the daemon log"
echo "ok: daemon log: $(grep -m1 -o 'CA[0-9a-f]* ended: .*media timeout' "$WORK/daemon.log")"

# Every packet the peers sent was received by the edge and relayed, none dropped.
read -r rx tx drop <<<"$(media_counters)"
[ "$((rx - rx0))" = "$sent" ] && [ "$((tx - tx0))" = "$sent" ] && [ "$((drop - drop0))" = 0 ] ||
	fail "/metrics: rx +$((rx - rx0)), tx +$((tx - tx0)), dropped +$((drop - drop0)); the peers sent $sent"
echo "ok: /metrics: ixedge_media_rx/tx_packets_total +$sent each (what the peers sent), dropped +0"
wait_metric 'ixedge_media_ports_in_use{pool="ashburn-ix"}' 0 5 ||
	fail "/metrics: ashburn-ix still has $(metric 'ixedge_media_ports_in_use{pool="ashburn-ix"}') media ports in use after the calls"
echo "ok: /metrics: no media port in use after the calls"
stop_daemon TERM
