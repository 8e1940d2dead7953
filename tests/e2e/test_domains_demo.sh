#!/usr/bin/env bash
# e2e (domains): the lab's out-of-the-box demo call.  The seeded domain `demo` (ACL demo-local,
# 127.0.0.0/8; inline TwiML dialling sip:callee@127.0.0.1:CALLEE;edge=london-ix): a SIPp caller
# (etc/sipp/caller.xml) calls demo.sip.ashburn-ix.twilio.com, the SIPp callee gets the INVITE
# through a london-ix gateway and answers; the call completes.  The store then holds exactly two
# records: the inbound parent and its outbound-dial child, each complete and right.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/domains/domains_lib.sh"

domains_config </dev/null
start_daemon "$CFG"
grep -qE "store .*: 1 accounts, 2 domains \(seed: [0-9]+ created\), realm sip\.twilio\.com" "$WORK/daemon.log" ||
	fail "no start-up line for the seeded store (1 account, 2 domains, realm sip.twilio.com)"
[ "$(records_count)" = 0 ] || fail "a fresh store already holds call records"

sipp_callee demo 40 -sf "$SRC/tests/e2e/domains/callee.xml" -m 1 -set gwport "$PORT" -set account "$DEMO_ACCOUNT"
sipp_demo_call demo alice
sipp_callee_wait demo
echo "ok: demo call to $DEMO_HOST via $GW answered by the callee; its INVITE came through a london-ix gateway"

# The record writer is asynchronous: wait (bounded) for both final records.
for _ in $(seq 1 50); do
	calls_json "$WORK/calls.json"
	[ "$($RECORDS count "$WORK/calls.json")" = 2 ] &&
		[ "$(grep -c '"status": "completed"' "$WORK/calls.json")" = 2 ] && break
	sleep 0.1
done
n=$($RECORDS count "$WORK/calls.json")
[ "$n" = 2 ] || fail "the store holds $n call records after one call, expected 2 (inbound and outbound-dial)"
sids=$($RECORDS pair "$WORK/calls.json" --to "sip:alice@$DEMO_HOST" --child-to "sip:callee@127.0.0.1:$CALLEE" \
	--from-re '^sip:\+15005550006@127\.0\.0\.1:' --account "$DEMO_ACCOUNT" --edge ashburn-ix \
	--child-edge london-ix --child-gateway-re "^127\\.0\\.3\\.6[4-6]:$PORT\$" --min-duration 1 \
	--hung-up-by caller) || fail "call records: $sids"
read -r parent child <<<"$sids"
echo "ok: records: inbound $parent (ashburn-ix) and outbound-dial $child (london-ix, parent $parent), completed, 200, duration >= 1, hung up by the caller"

# The callee's X-Twilio-CallSid names the leg it got, the outbound-dial record (as Twilio's
# <Dial><Sip> does); show agrees with list.
xsid=$(grep -a -m1 '^X-Twilio-CallSid:' "$WORK/demo.uas.msg" | tr -d ' \r' | cut -d: -f2)
[ "$xsid" = "$child" ] || fail "the callee's X-Twilio-CallSid is '$xsid', the outbound-dial record is $child"
ixc --json calls show "$child" >"$WORK/child.json"
python3 - "$WORK/child.json" "$parent" <<'PYEOF' || fail "ixctl calls show $child disagrees with calls list"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["parent_call_sid"] == sys.argv[2] and r["status"] == "completed" and r["sip_response_code"] == 200, r
PYEOF
[ "$(metric ixedge_call_records_dropped_total)" = 0 ] || fail "/metrics: call records dropped"
echo "ok: X-Twilio-CallSid at the callee is the outbound-dial record's SID; calls show agrees"
stop_daemon TERM
