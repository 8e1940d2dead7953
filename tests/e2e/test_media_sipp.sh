#!/usr/bin/env bash
# e2e (issue 6): RTP through the edge between two SIPp peers.  Two calls at once from a SIPp
# caller that plays the G.711 A-law pcap sip-tester ships (play_pcap_audio) to a SIPp callee that
# echoes every packet (-rtp_echo).  Both scenarios check that the SDP they get names the edge's
# media address on an even port; every SDP body either received is checked again afterwards
# (address in the pool, ports in the range).  /metrics counts every packet both ways: each pcap
# packet is received and sent twice by the edge (there, and echoed back), none dropped.  (SIPp
# binds the caller's media port itself, so no Python peer can count there; peer.py counts
# packets exactly in test_media_flows.sh.)
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/media/media_lib.sh"

PCAP=/usr/share/sip-tester/g711a.pcap
command -v sipp >/dev/null || fail "sipp not installed (scripts/deps.sh installs sip-tester)"
[ -f "$PCAP" ] || fail "$PCAP missing (the sip-tester package ships it)"
media_init 141
CALLEE=$((LOCAL + 1))
CALLEE_RTP=$((LOCAL + 2))
CALLER=$((LOCAL + 5))
CALLER_RTP=$((LOCAL + 6))
ASH=127.86.$MEDIA_NET.1
LON=127.86.$MEDIA_NET.3
CALLS=2
# The caller comes in on ashburn-ix; the callee leg leaves from london-ix: two pools.
media_config "$WORK/edge.yaml" <<EOF
routes:
  - {match: "*", target: "sip:{user}@127.0.0.1:$CALLEE;edge=london-ix"}
EOF
start_daemon "$WORK/edge.yaml"
npcap=$(python3 "$PEER" pcap-count "$PCAP")
read -r rx0 tx0 drop0 <<<"$(media_counters)"

sipp_common=(-nostdin -m "$CALLS" -timeout 40s -timeout_error -mi 127.0.0.1 -trace_err -trace_msg)
(cd "$WORK" && exec timeout 45 sipp -sf "$MEDIA_DIR/rtp_uas.xml" "${sipp_common[@]}" -i 127.0.0.1 \
	-p "$CALLEE" -mp "$CALLEE_RTP" -rtp_echo -set pool "$LON" -error_file uas.errors \
	-message_file uas.messages >"$WORK/uas.out" 2>&1) &
uas=$!
MEDIA_PIDS+=("$uas")
for _ in $(seq 1 100); do
	[ -n "$(ss -Hlun "sport = :$CALLEE")" ] && break
	sleep 0.05
done
rc=0
(cd "$WORK" && timeout 45 sipp -sf "$MEDIA_DIR/rtp_uac.xml" "${sipp_common[@]}" -i 127.0.0.1 \
	-p "$CALLER" -mp "$CALLER_RTP" -l "$CALLS" -r 10 -s sipp -set pool "$ASH" \
	-error_file uac.errors -message_file uac.messages "127.0.1.64:$PORT" >"$WORK/uac.out" 2>&1) || rc=$?
wait "$uas" || rc=$((rc ? rc : 100 + $?))
if [ "$rc" != 0 ]; then
	grep -aE 'Successful call|Failed call' "$WORK/uac.out" "$WORK/uas.out" | tr -s ' ' || true
	cat "$WORK"/*.errors 2>/dev/null | grep -aE '^[0-9]{4}-' | cut -f3- | cut -c1-200 | head -n 10 || true
	fail "the SIPp calls failed (exit $rc); their scenarios check the SDP each side gets"
fi
echo "ok: $CALLS SIPp calls with RTP through the edge completed"
python3 "$PEER" sdp-trace "$WORK/uac.messages" --pool "$ASH" --range 10000-60000 --min "$CALLS"
python3 "$PEER" sdp-trace "$WORK/uas.messages" --pool "$LON" --range 10000-60000 --min "$CALLS"

# Each pcap packet crossed the edge twice (there and echoed back), in and out.
want=$((CALLS * npcap * 2))
read -r rx tx drop <<<"$(media_counters)"
[ "$((rx - rx0))" = "$want" ] && [ "$((tx - tx0))" = "$want" ] && [ "$((drop - drop0))" = 0 ] ||
	fail "/metrics: rx +$((rx - rx0)), tx +$((tx - tx0)), dropped +$((drop - drop0)); expected $want, $want, 0"
echo "ok: /metrics: ixedge_media_rx/tx_packets_total +$want each ($CALLS calls x $npcap packets x 2 ways), dropped +0"
wait_metric 'ixedge_media_ports_in_use{pool="london-ix"}' 0 5 || fail "/metrics: london-ix media ports still in use"
stop_daemon TERM
