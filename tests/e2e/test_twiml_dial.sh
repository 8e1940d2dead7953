#!/usr/bin/env bash
# e2e: <Dial> of a SIP domain's inline TwiML.  Parallel <Sip> nouns: the first to answer
# wins, the one still ringing gets CANCEL (and answers 487); the call records hold the two
# legs, one completed and one canceled.  answerOnBridge="true": the caller's 200 waits for
# the callee's.  Without it the caller is answered at once with the edge's own media
# (127.86.128.x, a port in 10000-60000) while the callee still rings, and bridged later.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/twiml/twiml_lib.sh"

FAST=$((LOCAL + 1))  # answers after 1 s
RING=$((LOCAL + 2))  # rings until cancelled
SLOW=$((LOCAL + 3))  # answers after 2 s
LATE=$((LOCAL + 4))  # answers after 1.5 s
twiml_start
start_ua fast "$FAST" answer --delay 1
start_ua ring "$RING" ring
start_ua slow "$SLOW" answer --delay 2
start_ua late "$LATE" answer --delay 1.5

# first_t LOG USER [METHOD]: wall time of the first METHOD (INVITE) for USER in a callee log.
first_t() {
	j "$WORK/$1.log" "[r['t'] for r in j if r['dir'] == 'in' and r['method'] == '${3:-INVITE}' and r['ruri'].startswith('sip:$2@')][0]"
}
sent_t() { # sent_t LOG STATUS: wall time of the first response STATUS the callee sent
	j "$WORK/$1.log" "[r['t'] for r in j if r['dir'] == 'out' and r['status'] == $2][0]"
}
# edge_sdp WHAT: the caller's 200 carries the edge's media address and a port of its range.
edge_sdp() {
	local what=$1
	expect "$what: SDP" "$WORK/$what.json" "re.search(r'^c=IN IP4 127\.86\.128\.[0-9]+\r?$', j['sdp'], re.M)"
	expect "$what: SDP" "$WORK/$what.json" "10000 <= int(re.search(r'^m=audio ([0-9]+) ', j['sdp'], re.M).group(1)) <= 60000"
	expect "$what: SDP is the edge's, not the callee's" "$WORK/$what.json" "'127.0.0.1' not in j['sdp'] and ' 40000 ' not in j['sdp']"
	echo "  $what: caller's SDP $(j "$WORK/$what.json" "re.search(r'^c=.*$', j['sdp'], re.M).group(0).strip() + ', ' + re.search(r'^m=.*$', j['sdp'], re.M).group(0).strip()")"
}

# ---- 1. Parallel <Sip> nouns: the first answer wins, the other is cancelled.
set_twiml "<Response><Dial answerOnBridge=\"true\" timeout=\"10\">
  <Sip>sip:a@127.0.0.1:$FAST</Sip>
  <Sip>sip:b@127.0.0.1:$RING</Sip>
</Dial></Response>"
twcall parallel p1 --hold 0.5
expect "parallel" "$WORK/parallel.json" "j['status'] == 200 and j['bye'] == '200'"
expect "parallel: the caller's 200 comes with the 1 s callee's" "$WORK/parallel.json" "0.9 <= j['final'] < 2.5"
expect "parallel: 180 first" "$WORK/parallel.json" "180 in [p[0] for p in j['prov']]"
[ "$(j "$WORK/ring.log" "len([r for r in j if r['dir'] == 'in' and r['method'] == 'CANCEL'])")" = 1 ] ||
	fail "parallel: the ringing callee got no CANCEL (or more than one)"
[ "$(j "$WORK/ring.log" "[r['status'] for r in j if r['dir'] == 'out']")" = "[100, 180, 200, 487]" ] ||
	fail "parallel: the ringing callee should have sent 100 180, 200 (CANCEL), 487: $(j "$WORK/ring.log" "[r['status'] for r in j if r['dir'] == 'out']")"
ok_t=$(sent_t fast 200)
cancel_t=$(first_t ring b CANCEL)
gap=$(python3 -c "print(round($cancel_t - $ok_t, 3))")
python3 -c "import sys; sys.exit(not (0 <= $gap < 1))" || fail "parallel: CANCEL came $gap s after the winner's 200"
[ "$(j "$WORK/ring.log" "len([r for r in j if r['dir'] == 'in' and r['method'] == 'ACK'])")" = 1 ] ||
	fail "parallel: the 487 was not ACKed"
for m in ACK BYE; do
	[ "$(j "$WORK/fast.log" "len([r for r in j if r['dir'] == 'in' and r['method'] == '$m'])")" = 1 ] ||
		fail "parallel: the winner did not get one $m"
done
records "$(j "$WORK/parallel.json" "j['call_id']")"
expect "parallel: record" "$WORK/rec.json" "j['call']['status'] == 'completed' and j['call']['sip_response_code'] == 200"
expect "parallel: two legs" "$WORK/rec.json" "len(j['legs']) == 2"
expect "parallel: legs" "$WORK/rec.json" "sorted((c['to'], c['status'], c['sip_response_code']) for c in j['legs']) == [('sip:a@127.0.0.1:$FAST', 'completed', 200), ('sip:b@127.0.0.1:$RING', 'canceled', 487)]"
expect "parallel: legs answered" "$WORK/rec.json" "[c['answer_time'] is not None for c in sorted(j['legs'], key=lambda c: c['to'])] == [True, False]"
expect "parallel: legs direction" "$WORK/rec.json" "all(c['direction'] == 'outbound-dial' for c in j['legs'])"
echo "ok: parallel <Sip>: 1 s callee won, ringing one got CANCEL $gap s after its 200 (487, ACKed); legs completed/200 and canceled/487"

# ---- 2. answerOnBridge="true": the caller's 200 only when the callee answers (2 s).
set_twiml "<Response><Dial answerOnBridge=\"true\"><Sip>sip:s@127.0.0.1:$SLOW</Sip></Dial></Response>"
twcall bridge b1 --hold 0.3
expect "answerOnBridge" "$WORK/bridge.json" "j['status'] == 200 and j['bye'] == '200'"
expect "answerOnBridge: the caller's 200 waits for the callee's (2 s)" "$WORK/bridge.json" "2.0 <= j['final'] < 3.5"
expect "answerOnBridge: 180 while the callee rings" "$WORK/bridge.json" "[p for p in j['prov'] if p[0] == 180][0][1] < 1"
edge_sdp bridge
cb_t=$(sent_t slow 200)
a_t=$(j "$WORK/bridge.json" "j['t0'] + j['final']")
python3 -c "import sys; sys.exit(not ($a_t >= $cb_t - 0.05))" || fail "answerOnBridge: the caller's 200 ($a_t) came before the callee's ($cb_t)"
records "$(j "$WORK/bridge.json" "j['call_id']")"
expect "answerOnBridge: record" "$WORK/rec.json" "j['call']['status'] == 'completed' and len(j['legs']) == 1 and j['legs'][0]['status'] == 'completed'"
echo "ok: answerOnBridge=\"true\": caller's 200 after $(j "$WORK/bridge.json" "j['final']") s, after the callee's"

# ---- 3. Without answerOnBridge: the caller is answered at once, the callee still rings
# (answers 1.5 s later) and is bridged; the caller's BYE reaches it.
set_twiml "<Response><Dial><Sip>sip:l@127.0.0.1:$LATE</Sip></Dial></Response>"
twcall early e1 --hold 2.5
expect "no answerOnBridge" "$WORK/early.json" "j['status'] == 200 and j['bye'] == '200'"
expect "no answerOnBridge: the caller's 200 at once" "$WORK/early.json" "j['final'] < 1"
edge_sdp early
a_t=$(j "$WORK/early.json" "j['t0'] + j['final']")
cb_t=$(sent_t late 200)
python3 -c "import sys; sys.exit(not ($a_t < $cb_t - 1))" || fail "no answerOnBridge: the caller's 200 ($a_t) did not come well before the callee's ($cb_t)"
for m in INVITE ACK BYE; do
	[ "$(j "$WORK/late.log" "len([r for r in j if r['dir'] == 'in' and r['method'] == '$m'])")" = 1 ] ||
		fail "no answerOnBridge: the callee did not get one $m (it must be bridged after answering)"
done
records "$(j "$WORK/early.json" "j['call_id']")"
expect "no answerOnBridge: record" "$WORK/rec.json" "j['call']['status'] == 'completed' and len(j['legs']) == 1 and j['legs'][0]['status'] == 'completed'"
expect "no answerOnBridge: the caller answered before the leg" "$WORK/rec.json" "j['call']['answer_time'] is not None and j['legs'][0]['answer_time'] is not None"
echo "ok: no answerOnBridge: caller's 200 after $(j "$WORK/early.json" "j['final']") s with the edge's SDP, callee answered $(python3 -c "print(round($cb_t - $a_t, 2))") s later and was bridged"

# ---- 4. Without answerOnBridge, a callee that never answers: the caller's BYE cancels it.
: >"$WORK/ring.log"
twiml_ring_doc="<Response><Dial><Sip>sip:r@127.0.0.1:$RING</Sip></Dial></Response>"
set_twiml "$twiml_ring_doc"
twcall early-ring e2 --hold 1
expect "no answerOnBridge, ringing" "$WORK/early-ring.json" "j['status'] == 200 and j['final'] < 1 and j['bye'] == '200'"
[ "$(j "$WORK/ring.log" "len([r for r in j if r['dir'] == 'in' and r['method'] == 'CANCEL'])")" = 1 ] ||
	fail "no answerOnBridge, ringing: the callee got no CANCEL after the caller's BYE"
records "$(j "$WORK/early-ring.json" "j['call_id']")"
expect "no answerOnBridge, ringing: record" "$WORK/rec.json" "j['call']['status'] == 'completed' and [c['status'] for c in j['legs']] == ['canceled']"
expect "no answerOnBridge, ringing: hung up by" "$WORK/rec.json" "j['call']['hung_up_by'] == 'caller'"
echo "ok: no answerOnBridge, callee ringing: caller answered at once, its BYE cancelled the callee"

stop_daemon TERM
