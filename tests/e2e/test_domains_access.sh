#!/usr/bin/env bash
# e2e (domains): who may call a SIP domain, changed through ixctl while the daemon runs.
#   - the seeded `demo` (ACL 127.0.0.0/8): served, the dialled leg leaves from london-ix;
#   - a domain whose only ACL holds 10.0.0.0/8: 403 "source not allowed";
#   - a domain with no mapping: 403 "no call mappings";
#   - without restarting: an address added to that ACL lets the caller in; demo's ACL mapping
#     removed -> 403, mapped again -> served; demo's TwiML changed to <Reject reason="busy"/> -> 486.
# Refused calls never reach the callee and leave no call record; /metrics counts them by reason;
# every served or rejected call leaves complete records.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/domains/domains_lib.sh"

domains_config </dev/null
start_daemon "$CFG"
start_callee uas "$CALLEE"

# twiml_file USER: a TwiML document dialling USER at the callee from london-ix.
twiml_file() {
	printf '<Response><Dial><Sip>sip:%s@127.0.0.1:%s;edge=london-ix</Sip></Dial></Response>\n' \
		"$1" "$CALLEE" >"$WORK/$1.twiml"
	echo "$WORK/$1.twiml"
}

# served WHAT DOMAIN CALLEE_USER [ua.py call options]: a call to DOMAIN is answered through the
# callee (INVITE from a london-ix gateway), and the store gets its two complete records.
served() {
	local what=$1 dom=$2 user=$3 n0 sids
	shift 3
	n0=$(seen uas "$user" count)
	call "$what" "$GW" "sip:caller@$dom.sip.ashburn-ix.twilio.com" --expect 200 "$@"
	[ "$(seen uas "$user" count)" = $((n0 + 1)) ] || fail "$what: the callee did not get the INVITE for $user"
	expect_from uas "$user" "$GW_LONDON" london-ix
	wait_records "$what" 2
	sids=$($RECORDS pair "$WORK/calls.json" --to "sip:caller@$dom.sip.ashburn-ix.twilio.com" \
		--child-to "sip:$user@127.0.0.1:$CALLEE" --account "$DEMO_ACCOUNT" \
		--child-gateway-re "^127\\.0\\.3\\.6[4-6]:$PORT\$" --hung-up-by caller "${PAIR_OPTS[@]}") ||
		fail "$what: call records: $sids"
	echo "ok: $what: served via london-ix $(seen uas "$user" src_ip); records $sids complete"
}
PAIR_OPTS=()

# wait_records WHAT N: the store holds N more records than RECS (all final), then RECS moves on.
RECS=0
wait_records() {
	local n
	for _ in $(seq 1 50); do
		calls_json "$WORK/calls.json"
		n=$($RECORDS count "$WORK/calls.json")
		[ "$n" = $((RECS + $2)) ] && ! grep -qE '"status": "(ringing|in-progress)"' "$WORK/calls.json" && break
		sleep 0.1
	done
	[ "$n" = $((RECS + $2)) ] || fail "$1: $n call records, expected $((RECS + $2))"
	$RECORDS sound "$WORK/calls.json" >/dev/null || fail "$1: $($RECORDS sound "$WORK/calls.json")"
	RECS=$n
}

# refused_call WHAT DOMAIN CALLEE_USER STATUS REASON_TEXT METRIC_REASON: answered STATUS with
# REASON_TEXT in the reason phrase, never at the callee, no record, counted once in /metrics.
refused_call() {
	local what=$1 dom=$2 user=$3 status=$4 text=$5 why=$6 m0 m1 n0
	m0=$(refused "$why")
	n0=$(seen uas "$user" count)
	call "$what" "$GW" "sip:caller@$dom.sip.ashburn-ix.twilio.com" --expect "$status" --reason-has "$text"
	m1=$(refused "$why")
	[ "$m1" = $((m0 + 1)) ] || fail "$what: refused_total{reason=\"$why\"} went from $m0 to $m1, expected +1"
	sleep 0.3 # a record would be posted at once: give the writer time to show it
	[ "$(records_count)" = "$RECS" ] || fail "$what: a refused call left a call record"
	[ "$(seen uas "$user" count)" = "$n0" ] || fail "$what: the callee got an INVITE for $user anyway"
	echo "ok: $what: ${RESULT%% elapsed=*}; no INVITE at the callee, no record, refused{$why} +1"
}

# ---- 1. The seeded demo domain: served (a 1.1 s call: durations of at least 1 s).
PAIR_OPTS=(--min-duration 1)
served "demo" demo callee --hold 1.1
PAIR_OPTS=()

# ---- 2. A source the domain's ACL does not cover.
ixc --json domains create --account "$DEMO_ACCOUNT" --name blocked --twiml "$(twiml_file blocked)" >/dev/null
acl=$(ixc --json acls create --account "$DEMO_ACCOUNT" --friendly-name tens |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["sid"])')
ixc acls add-address "$acl" 10.0.0.0/8 >/dev/null
ixc_change mappings add blocked calls acl "$acl"
refused_call "ACL without the source" blocked blocked 403 "source not allowed" source

# ---- 3. A domain with no mapping at all.
ixc_change domains create --account "$DEMO_ACCOUNT" --name nomap --twiml "$(twiml_file nomap)"
refused_call "no mappings" nomap nomap 403 "no call mappings" no_mapping

# ---- 4. Changes take effect without a restart.
pid0=$DPID
ixc_change acls add-address "$acl" 127.0.0.1
served "ACL address added" blocked blocked
ixc_change acls remove-address "$acl" 127.0.0.1
refused_call "ACL address removed again" blocked blocked 403 "source not allowed" source

ixc_change mappings remove demo calls acl "$DEMO_ACL"
refused_call "demo ACL unmapped" demo callee 403 "no call mappings" no_mapping
ixc_change mappings add demo calls acl "$DEMO_ACL"
served "demo ACL mapped again" demo callee

printf '<Response><Reject reason="busy"/></Response>\n' >"$WORK/busy.twiml"
ixc_change domains update demo --twiml "$WORK/busy.twiml"
n0=$(seen uas callee count)
call "demo TwiML <Reject reason=busy>" "$GW" "sip:caller@$DEMO_HOST" --expect 486
[ "$(seen uas callee count)" = "$n0" ] || fail "TwiML <Reject>: the callee got an INVITE anyway"
wait_records "TwiML <Reject>" 1
rec=$($RECORDS single "$WORK/calls.json" --to "sip:caller@$DEMO_HOST" --status busy --sip 486) ||
	fail "TwiML <Reject>: call record: $rec"
echo "ok: TwiML <Reject reason=\"busy\"/>: ${RESULT%% elapsed=*}; record $rec"

if [ "$DPID" != "$pid0" ] || ! kill -0 "$DPID"; then
	fail "the daemon was restarted or died"
fi
grep -q "received SIG" "$WORK/daemon.log" && fail "the daemon got a signal during the test"
for r in source:2 no_mapping:2 auth_fail:0 stale:0; do
	v=$(refused "${r%%:*}")
	[ "$v" = "${r##*:}" ] || fail "/metrics: refused ${r%%:*} is '$v', expected ${r##*:}"
done
[ "$(metric ixedge_call_records_dropped_total)" = 0 ] || fail "/metrics: call records dropped"
echo "ok: every change applied by the running daemon (pid $DPID); /metrics refusals: source 2, no_mapping 2"
stop_daemon TERM
