#!/usr/bin/env bash
# e2e (issue 6): baresip to baresip through the edge.  Each baresip has a throwaway config dir,
# listens on 127.0.0.1 only, speaks PCMU, plays a sine (ausine: 440 Hz from the caller, 1000 Hz
# from the callee) and records what it decodes (sndfile: baresip 1.0's aufile module can only
# play files, not record them).  The caller dials the edge's gateway; the static route sends the
# call to the callee, which answers by itself.  Each recording must carry the other side's tone
# (Goertzel, tests/e2e/media/tone.py), each baresip must have received its RTP from the edge's
# media address of its leg, and /metrics must have relayed packets.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/media/media_lib.sh"

command -v baresip >/dev/null || fail "baresip not installed (scripts/deps.sh installs baresip-core)"
MODS=/usr/lib/baresip/modules
for m in g711 ausine aubridge sndfile account menu; do
	[ -f "$MODS/$m.so" ] || fail "baresip module $MODS/$m.so missing"
done
media_init 142
CALLEE=$((LOCAL + 1))
CALLER=$((LOCAL + 3))
ASH=127.86.$MEDIA_NET.1
media_config "$WORK/edge.yaml" <<EOF
routes:
  - {match: "*", target: "sip:callee@127.0.0.1:$CALLEE"}
EOF
start_daemon "$WORK/edge.yaml"

# bs_config NAME SIP_PORT SINE_HZ RTP_LOW: $WORK/NAME/ holds the config, the account and the
# recordings (rec/).  aubridge stands in for a sound card: nothing leaves the process.
bs_config() {
	local dir="$WORK/$1"
	mkdir -p "$dir/rec"
	cat >"$dir/config" <<EOF
poll_method epoll
sip_listen 127.0.0.1:$2
net_interface 127.0.0.1
rtp_ports $4-$(($4 + 3))
audio_player aubridge,play-$1
audio_alert aubridge,alert-$1
audio_source ausine,$3
ausrc_srate 48000
ausrc_channels 2
module_path $MODS
module g711.so
module ausine.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
snd_path $dir/rec
EOF
	echo "<sip:$1@127.0.0.1:$2>;regint=0;answermode=auto;audio_codecs=PCMU" >"$dir/accounts"
}
bs_config callee "$CALLEE" 1000 $((LOCAL + 8))
bs_config caller "$CALLER" 440 $((LOCAL + 12))

rx0=$(metric ixedge_media_rx_packets_total)
timeout 30 baresip -4 -f "$WORK/callee" -t 20 >"$WORK/callee.out" 2>&1 &
callee=$!
MEDIA_PIDS+=("$callee")
for _ in $(seq 1 100); do
	[ -n "$(ss -Hlun "sport = :$CALLEE")" ] && break
	sleep 0.05
done
[ -n "$(ss -Hlun "sport = :$CALLEE")" ] || fail "the callee baresip did not start: $(tail -n 5 "$WORK/callee.out")"
# The caller talks for about 4 s (baresip quits after -t seconds, hanging up first).
timeout 30 baresip -4 -f "$WORK/caller" -t 6 -e "/dial sip:tone@127.0.1.64:$PORT" \
	>"$WORK/caller.out" 2>&1 || true
# The callee got the BYE and closed its recording; let it go.
for _ in $(seq 1 40); do
	grep -qa "terminated" "$WORK/callee.out" && break
	sleep 0.1
done
kill -INT "$callee" 2>/dev/null || true
wait "$callee" 2>/dev/null || true

show() {
	echo "--- $1 baresip (last lines) ---"
	tr '\r' '\n' <"$WORK/$1.out" | grep -av '^\[' | tail -n 15
}
for side in caller callee; do
	grep -qa "Call established" "$WORK/$side.out" || {
		show caller
		show callee
		fail "the $side baresip never established the call"
	}
done
echo "ok: the call was established on both sides (edge log: $(grep -m1 -o 'CA[0-9a-f]* from .*' "$WORK/daemon.log"))"
for side in caller callee; do
	from=$(grep -a -m1 -o "receiving from [0-9.:]*" "$WORK/$side.out" | sed 's/receiving from //') || true
	[ "${from%:*}" = "$ASH" ] || fail "the $side baresip received its RTP from '${from:-nowhere}', not from the edge's $ASH"
	echo "ok: the $side baresip received RTP from the edge's $from"
done
rx=$(metric ixedge_media_rx_packets_total)
[ "$((rx - rx0))" -ge 200 ] || fail "/metrics: the edge received only $((rx - rx0)) RTP packets in about 4 s of a call both ways"
echo "ok: /metrics: the edge relayed $((rx - rx0)) RTP packets"

check_tone() {
	local side=$1 want=$2 other=$3 wavs wav
	wavs=("$WORK/$side/rec/"*-dec.wav)
	wav=${wavs[0]}
	[ -f "$wav" ] || fail "the $side baresip recorded nothing (no *-dec.wav in $WORK/$side/rec)"
	python3 "$MEDIA_DIR/tone.py" "$wav" "$want" --other "$other" --min-seconds 2 ||
		fail "the $side's recording lacks the other side's $want Hz tone"
	echo "ok: the $side's recording carries the $want Hz the other side played"
}
check_tone callee 440 1000
check_tone caller 1000 440
stop_daemon TERM
