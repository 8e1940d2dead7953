#!/usr/bin/env bash
# e2e (issue 4): localized SIP domain URIs in, outbound edge choice out.  A call to
# acme.sip.ashburn-ix.twilio.com routed to a target with ;edge=london-ix leaves from a london-ix
# gateway (source address, Via, Contact) without edge= in its Request-URI; ;tnx= with a configured
# connection leaves from frankfurt-ix, an unknown one gets 404 naming the SID; legacy, short
# legacy, global and mixed-case URIs are served from the edge they name; unknown edges and base
# domains get 404 naming them.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"

CALLEE=$((LOCAL + 1))
NX_OK=NX0123456789abcdef0123456789abcdef
NX_BAD=NXfedcba9876543210fedcba9876543210
edges_config "$WORK/edges.yaml" 50 <<EOF
connections:
  - {sid: $NX_OK, edge: frankfurt-ix}
routes:
  - {match: "alice", target: "sip:{user}@127.0.0.1:$CALLEE;edge=london-ix"}
  - {match: "bob", target: "sip:{user}@127.0.0.1:$CALLEE;EDGE=IE1;lr"}
  - {match: "tnx-ok", target: "sip:{user}@127.0.0.1:$CALLEE;tnx=$NX_OK;lr"}
  - {match: "tnx-bad", target: "sip:{user}@127.0.0.1:$CALLEE;tnx=$NX_BAD"}
  - {match: "*", domain: "acme", target: "sip:{user}@127.0.0.1:$CALLEE"}
EOF
start_daemon "$WORK/edges.yaml"
start_callee uas "$CALLEE"
answered0=$(metric ixedge_calls_answered_total)

# ---- 1. edge= : in on ashburn-ix, out from london-ix (SIPp caller, full call with BYE).
(cd "$WORK" && timeout 30 sipp -sf "$SRC/tests/e2e/edges/uac_localized.xml" -nostdin -m 1 \
	-i 127.0.0.1 -p $((LOCAL + 7)) -s alice -set host acme.sip.ashburn-ix.twilio.com -set gw 127.0.1.64 \
	-timeout 20s -timeout_error -trace_err -error_file "$WORK/uac.errors" \
	"127.0.1.64:$PORT" >"$WORK/uac.out" 2>&1) || {
	grep -aE 'Successful call|Failed call' "$WORK/uac.out" | tr -s ' ' || true
	grep -aE '^[0-9]{4}-' "$WORK/uac.errors" 2>/dev/null | cut -f3- | cut -c1-200 | head -n 10 || true
	fail "edge=london-ix: the SIPp call to acme.sip.ashburn-ix.twilio.com via 127.0.1.64 failed" \
		"(it checks: a 200 whose Contact is 127.0.1.64 with an SDP answer, BYE answered; SIPp's errors above)"
}
expect_from uas alice "$GW_LONDON" london-ix
ruri=$(seen uas alice ruri)
[ "$ruri" = "sip:alice@127.0.0.1:$CALLEE" ] ||
	fail "edge=london-ix: callee got Request-URI '$ruri', expected sip:alice@127.0.0.1:$CALLEE (edge= removed)"
echo "ok: edge=london-ix: call in on 127.0.1.64 left from $(seen uas alice src_ip) (Via, Contact alike), R-URI $ruri"

# The same with a legacy code as edge=, in upper case; other URI parameters stay.
call "edge=IE1" 127.0.1.65 "sip:bob@acme.sip.ashburn-ix.twilio.com" --expect 200
[[ $RESULT == *" contact=127.0.1.65"* ]] || fail "edge=IE1: the caller's 200 Contact is not the gateway it called (127.0.1.65)"
expect_from uas bob "$GW_LONDON" london-ix
ruri=$(seen uas bob ruri)
[ "$ruri" = "sip:bob@127.0.0.1:$CALLEE;lr" ] ||
	fail "edge=IE1: callee got Request-URI '$ruri', expected sip:bob@127.0.0.1:$CALLEE;lr"
echo "ok: edge=IE1 (legacy code, upper case) left from $(seen uas bob src_ip), R-URI $ruri"

# ---- 2. tnx= : a configured connection leaves from its edge; an unknown one is refused.
call "tnx=$NX_OK" 127.0.1.64 "sip:tnx-ok@acme.sip.ashburn-ix.twilio.com" --expect 200
expect_from uas tnx-ok "$GW_FRANKFURT" "frankfurt-ix (connection $NX_OK)"
ruri=$(seen uas tnx-ok ruri)
[ "$ruri" = "sip:tnx-ok@127.0.0.1:$CALLEE;lr" ] ||
	fail "tnx=: callee got Request-URI '$ruri', expected sip:tnx-ok@127.0.0.1:$CALLEE;lr (tnx= removed)"
echo "ok: tnx=$NX_OK left from $(seen uas tnx-ok src_ip), R-URI $ruri"

call "unknown tnx" 127.0.1.64 "sip:tnx-bad@acme.sip.ashburn-ix.twilio.com" --expect 404 --reason-has "$NX_BAD"
[ "$(seen uas tnx-bad count)" = 0 ] || fail "unknown tnx: the callee got an INVITE anyway"
echo "ok: unknown tnx= -> ${RESULT%% elapsed=*}"

# ---- 3. URI forms.  The route target names no edge, so the leg leaves from the edge the
# Request-URI names (the gateway's own edge for the global form): the source address shows
# which edge each form resolved to.
check_form() {
	local user=$1 gw=$2 host=$3 re=$4 edge=$5
	call "$host" "$gw" "sip:$user@$host" --expect 200
	expect_from uas "$user" "$re" "$edge"
	echo "ok: $host (sent to $gw) served, left from $edge $(seen uas "$user" src_ip)"
}
check_form us1 127.0.1.64 acme.sip.us1-ix.twilio.com "$GW_ASHBURN" ashburn-ix
check_form de1 127.0.1.64 acme.sip.de1.twilio.com "$GW_FRANKFURT" frankfurt-ix
check_form jp1 127.0.1.66 acme.sip.jp1.ixedge.test "$GW_TOKYO" tokyo-ix
check_form global-ash 127.0.1.65 acme.sip.twilio.com "$GW_ASHBURN" ashburn-ix
check_form global-lon 127.0.3.65 acme.sip.twilio.com "$GW_LONDON" london-ix
check_form mixed 127.0.1.64 ACME.Sip.London-IX.Twilio.COM "$GW_LONDON" london-ix
check_form trailing 127.0.2.64 acme.sip.san-jose-ix.twilio.com. "$GW_SANJOSE" san-jose-ix
# A URI naming another edge than the gateway's is served by default (edge_mismatch: accept), logged.
grep -qE "URI names edge de1 but came in on a gateway of ashburn-ix" "$WORK/daemon.log" ||
	fail "no log line for the edge mismatch (de1 URI sent to an ashburn-ix gateway)"

# Unknown parts get 404 with a reason naming them, and never reach a callee: a domain label
# that is neither a stored SIP domain nor covered by a route, an edge, a base domain.
call "unknown domain" 127.0.1.64 "sip:nosuch@nosuch.sip.ashburn-ix.twilio.com" --expect 404 --reason-has "'nosuch'"
echo "ok: unknown domain -> ${RESULT%% elapsed=*}"
call "unknown edge" 127.0.1.64 "sip:mars@acme.sip.mars-ix.twilio.com" --expect 404 --reason-has "'mars-ix'"
echo "ok: unknown edge -> ${RESULT%% elapsed=*}"
call "unknown base" 127.0.1.64 "sip:base@acme.sip.ashburn-ix.example.org" --expect 404 --reason-has "example.org"
echo "ok: unknown base domain -> ${RESULT%% elapsed=*}"
call "unknown legacy code" 127.0.1.64 "sip:legacy@acme.sip.us9-ix.twilio.com" --expect 404 --reason-has "'us9-ix'"
echo "ok: unknown legacy code -> ${RESULT%% elapsed=*}"
for u in nosuch mars base legacy; do
	[ "$(seen uas "$u" count)" = 0 ] || fail "404 case '$u': the callee got an INVITE anyway"
done

# /metrics: every answered call counted; the unknown tnx= is a call that failed (its route
# could not be used), the others were refused before a call existed.
answered=$(metric ixedge_calls_answered_total)
[ "$((answered - answered0))" = 10 ] ||
	fail "/metrics: ixedge_calls_answered_total went from $answered0 to $answered, expected +10"
n404=$(metric 'ixedge_calls_ended_total{status="404"}')
[ "$n404" = 1 ] || fail "/metrics: ixedge_calls_ended_total{status=\"404\"} is '$n404', expected 1"
for r in unknown_domain:1 unknown_edge:2 unknown_base:1; do
	v=$(metric "ixedge_inbound_refused_total{reason=\"${r%%:*}\"}")
	[ "$v" = "${r##*:}" ] || fail "/metrics: refused ${r%%:*} is '$v', expected ${r##*:}"
done
echo "ok: /metrics counts 10 answered calls, 1 failed with 404 and 4 refusals by reason"
stop_daemon TERM
