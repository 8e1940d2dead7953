#!/usr/bin/env bash
# e2e: a SIP domain's inline TwiML decides unanswered calls.  <Reject reason="busy"> gives
# 486, <Reject> 404, <Hangup> 603, the end of the document after a dial to a busy callee
# 486 and after an unanswered one 480; <Redirect> (no webhooks yet) 500, <Dial action> ends the call there;
# <Pause length="2"> keeps the caller in 180 for 2 s; TwiML that does not parse gives 500
# with the parser's message (and line) as the call record's end_reason.  Verbs after a
# Reject, Hangup or Redirect are never reached: the callee they would dial gets no INVITE.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/twiml/twiml_lib.sh"

BUSY=$((LOCAL + 1))
ANSWER=$((LOCAL + 2))
RING=$((LOCAL + 3))
twiml_start
start_ua busy "$BUSY" busy
start_ua answer "$ANSWER" answer
start_ua ring "$RING" ring
DIAL_ANSWER="<Dial><Sip>sip:never@127.0.0.1:$ANSWER</Sip></Dial>"

# unanswered WHAT USER TWIML STATUS STATUS_TEXT END_REASON: the caller gets STATUS straight
# after 180 and the record says why; the callee that would answer gets nothing.
unanswered() {
	local what=$1 user=$2 doc=$3 status=$4 rstatus=$5 reason=$6 cid
	set_twiml "$doc"
	twcall "$what" "$user"
	expect "$what" "$WORK/$what.json" "j['status'] == $status"
	expect "$what" "$WORK/$what.json" "[p[0] for p in j['prov']] == [100, 180] or [p[0] for p in j['prov']] == [180]"
	cid=$(j "$WORK/$what.json" "j['call_id']")
	records "$cid"
	expect "$what: record" "$WORK/rec.json" "j['call']['sip_response_code'] == $status"
	expect "$what: record" "$WORK/rec.json" "j['call']['status'] == '$rstatus'"
	export WANT="$reason"
	expect "$what: record" "$WORK/rec.json" "j['call']['end_reason'] == env['WANT']"
	expect "$what: record" "$WORK/rec.json" "j['call']['answer_time'] is None and j['legs'] == []"
	echo "ok: $what -> $status, record $rstatus, end_reason '$reason'"
}

unanswered "reject-busy" rb "<Response><Reject reason=\"busy\"/>$DIAL_ANSWER</Response>" \
	486 busy "rejected by TwiML (busy)"
unanswered "reject" rr "<Response><Reject/>$DIAL_ANSWER</Response>" \
	404 failed "rejected by TwiML (rejected)"
unanswered "hangup" hu "<Response><Hangup/>$DIAL_ANSWER</Response>" \
	603 failed "hung up by TwiML"

# A dial to a busy callee, then the end of the document: the caller hears busy.
set_twiml "<Response><Dial answerOnBridge=\"true\"><Sip>sip:bob@127.0.0.1:$BUSY</Sip></Dial></Response>"
twcall busy-end busy1
expect "dial busy, end" "$WORK/busy-end.json" "j['status'] == 486"
records "$(j "$WORK/busy-end.json" "j['call_id']")"
expect "dial busy: record" "$WORK/rec.json" "j['call']['end_reason'] == 'TwiML document ended'"
expect "dial busy: record" "$WORK/rec.json" "j['call']['sip_response_code'] == 486 and j['call']['status'] == 'busy'"
expect "dial busy: leg" "$WORK/rec.json" "len(j['legs']) == 1 and j['legs'][0]['status'] == 'busy'"
expect "dial busy: leg" "$WORK/rec.json" "j['legs'][0]['sip_response_code'] == 486"
expect "dial busy: leg" "$WORK/rec.json" "j['legs'][0]['to'] == 'sip:bob@127.0.0.1:$BUSY'"
[ "$(j "$WORK/busy.log" "len([r for r in j if r.get('method') == 'INVITE'])")" = 1 ] ||
	fail "dial busy: the busy callee should have got exactly one INVITE"
echo "ok: <Dial> to a busy callee, end of document -> 486 (leg busy/486)"

# A dial nobody answers within its timeout (1 s), then the end of the document: 480.
set_twiml "<Response><Dial answerOnBridge=\"true\" timeout=\"1\"><Sip>sip:r@127.0.0.1:$RING</Sip></Dial></Response>"
twcall no-answer na1
expect "dial no-answer" "$WORK/no-answer.json" "j['status'] == 480 and 0.9 <= j['final'] < 2.5"
[ "$(j "$WORK/ring.log" "[r['method'] for r in j if r['dir'] == 'in']")" = "['INVITE', 'CANCEL', 'ACK']" ] ||
	fail "dial no-answer: the ringing callee should get INVITE, CANCEL, ACK (of its 487)"
records "$(j "$WORK/no-answer.json" "j['call_id']")"
expect "dial no-answer: record" "$WORK/rec.json" "j['call']['status'] == 'no-answer' and j['call']['sip_response_code'] == 480"
expect "dial no-answer: leg" "$WORK/rec.json" "[c['status'] for c in j['legs']] == ['no-answer']"
echo "ok: <Dial timeout=\"1\"> unanswered, end of document -> 480 after $(j "$WORK/no-answer.json" "j['final']") s (callee cancelled, leg no-answer)"

# Documents cannot be fetched yet: a <Redirect> ends the call with 500; a <Dial action> ends it
# once its dial is over, as the end of the document would (the failed dial's status); both say why.
unanswered "redirect" rd "<Response><Redirect>http://127.0.0.1:9/next</Redirect>$DIAL_ANSWER</Response>" \
	500 failed "Redirect not followed (no webhooks yet)"
set_twiml "<Response><Dial action=\"/after\" answerOnBridge=\"true\"><Sip>sip:bob@127.0.0.1:$BUSY</Sip></Dial><Reject/></Response>"
twcall action ac1
expect "dial action" "$WORK/action.json" "j['status'] == 486"
records "$(j "$WORK/action.json" "j['call_id']")"
expect "dial action: record" "$WORK/rec.json" "j['call']['end_reason'] == 'Dial action not fetched (no webhooks yet)' and [c['status'] for c in j['legs']] == ['busy']"
echo "ok: <Redirect> -> 500; <Dial action> after a busy dial -> 486, the call ends there (the verb after it never runs)"

[ "$(j "$WORK/answer.log" "len([r for r in j if r.get('method') == 'INVITE'])")" = 0 ] ||
	fail "a callee after <Reject>/<Hangup>/<Redirect> got an INVITE: those verbs end the document"
echo "ok: no INVITE reached the callee dialled after <Reject>/<Hangup>/<Redirect>"

# <Pause length="2"/>: 180 at once, the final >= 2 s after it.
set_twiml '<Response><Pause length="2"/><Reject/></Response>'
twcall pause pz
expect "pause" "$WORK/pause.json" "j['status'] == 404"
expect "pause" "$WORK/pause.json" "[p for p in j['prov'] if p[0] == 180] and [p for p in j['prov'] if p[0] == 180][0][1] < 1"
gap=$(j "$WORK/pause.json" "round(j['final'] - [p for p in j['prov'] if p[0] == 180][0][1], 2)")
expect "pause: 404 only $gap s after the 180" "$WORK/pause.json" "$gap >= 1.95 and $gap < 3.5"
echo "ok: <Pause length=\"2\"/><Reject/>: 180 at once, 404 $gap s later"

# Bad TwiML: 500, and the parser's message with its line in the record.
bad() {
	local what=$1 doc=$2 msg=$3 cid
	set_twiml "$doc"
	twcall "$what" "$what"
	expect "$what" "$WORK/$what.json" "j['status'] == 500"
	cid=$(j "$WORK/$what.json" "j['call_id']")
	records "$cid"
	export WANT="bad TwiML: $msg"
	expect "$what: record" "$WORK/rec.json" "j['call']['end_reason'] == env['WANT']"
	expect "$what: record" "$WORK/rec.json" "j['call']['sip_response_code'] == 500 and j['call']['status'] == 'failed'"
	grep -qF "bad TwiML of domain tw: $msg" "$WORK/daemon.log" || fail "$what: no log line naming '$msg'"
	echo "ok: $what -> 500, end_reason 'bad TwiML: $msg'"
}
bad say $'<Response>\n  <Say>hi</Say>\n  <Foo/>\n</Response>' "line 2: <Say> is not supported yet (it needs media)"
bad foo $'<Response>\n\n  <Foo/>\n</Response>' "line 3: unknown verb <Foo>"
bad not-xml 'this is not XML <' "line 1: not XML: syntax error"
bad bad-attr $'<Response>\n<Dial timeout="601"><Sip>sip:a@127.0.0.1</Sip></Dial></Response>' \
	"line 2: <Dial>: timeout '601' is out of range 1-600"

n=$(metric ixedge_twiml_errors_total)
[ "$n" = 4 ] || fail "/metrics: ixedge_twiml_errors_total is '$n', expected 4"
echo "ok: /metrics counts 4 TwiML errors"
stop_daemon TERM
