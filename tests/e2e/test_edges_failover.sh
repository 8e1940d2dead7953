#!/usr/bin/env bash
# e2e (issue 4): gateway failover.  The callees drop INVITEs arriving from chosen gateway
# addresses, so those paths get no response at all: with routing.failover_timeout 1 the call to
# an ashburn-ix URI is answered via the next ashburn-ix gateway about 1 s later; when every
# ashburn-ix gateway is silent, via san-jose-ix (us-east fails over to us-west); a 503 moves on
# at once; with every path silent the caller gets 408 after all six were tried in plan order.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"

ONE=$((LOCAL + 1)) ALL=$((LOCAL + 2)) BUSY=$((LOCAL + 3)) DEAD=$((LOCAL + 4))
edges_config "$WORK/edges.yaml" 50 <<EOF
routing: {failover_timeout: 1}
routes:
  - {match: "fo-one", target: "sip:{user}@127.0.0.1:$ONE"}
  - {match: "fo-all", target: "sip:{user}@127.0.0.1:$ALL"}
  - {match: "fo-503", target: "sip:{user}@127.0.0.1:$BUSY"}
  - {match: "fo-dead", target: "sip:{user}@127.0.0.1:$DEAD"}
EOF
start_daemon "$WORK/edges.yaml"
ASH=127.0.1.64,127.0.1.65,127.0.1.66
start_callee one "$ONE" --drop-from 127.0.1.64
start_callee all "$ALL" --drop-from "$ASH"
start_callee busy "$BUSY" --reject-from 127.0.1.64
start_callee dead "$DEAD" --drop-from "$ASH,127.0.2.64,127.0.2.65,127.0.2.66"
answered0=$(metric ixedge_calls_answered_total)

# expect_paths NAME USER SRC...: the first copies of the INVITEs callee NAME got for USER came
# from exactly these gateway addresses, in this order.
expect_paths() {
	local name=$1 user=$2 got want
	shift 2
	want="$*"
	got=$(for i in $(seq 0 $(($(seen "$name" "$user" count) - 1))); do seen "$name" "$user" src_ip "$i"; done | xargs)
	[ "$got" = "$want" ] || fail "$user: the INVITEs came from [$got], expected [$want] in that order"
}

URI=acme.sip.ashburn-ix.twilio.com

# First path silent: answered via the second ashburn-ix gateway after failover_timeout (1 s).
call "first gateway silent" 127.0.1.64 "sip:fo-one@$URI" --expect 200 --min-time 0.9 --max-time 2.5
expect_paths one fo-one 127.0.1.64 127.0.1.65
expect_from one fo-one '^127\.0\.1\.65$' "ashburn-ix (second gateway)"
[ "$(seen one fo-one dropped 0)" = True ] || fail "fo-one: the first INVITE was not the dropped one"
grep -qE "path 1 gave no response; trying path 2 of 6" "$WORK/daemon.log" ||
	fail "fo-one: no 'path 1 gave no response; trying path 2 of 6' in the daemon log"
echo "ok: first gateway silent -> answered via 127.0.1.65 after $(took)"

# Every ashburn-ix gateway silent: answered from the failover region us-west (san-jose-ix).
call "all ashburn-ix gateways silent" 127.0.1.64 "sip:fo-all@$URI" --expect 200 --min-time 2.8 --max-time 5
expect_paths all fo-all 127.0.1.64 127.0.1.65 127.0.1.66 127.0.2.64
expect_from all fo-all '^127\.0\.2\.64$' "san-jose-ix (failover region us-west)"
echo "ok: all ashburn-ix gateways silent -> answered via san-jose-ix 127.0.2.64 after $(took)"

# A 503 on the first path moves on at once, without waiting for failover_timeout.
call "503 on the first gateway" 127.0.1.64 "sip:fo-503@$URI" --expect 200 --max-time 0.8
expect_paths busy fo-503 127.0.1.64 127.0.1.65
grep -qE "path 1 gave 503; trying path 2 of 6" "$WORK/daemon.log" ||
	fail "fo-503: no 'path 1 gave 503; trying path 2 of 6' in the daemon log"
echo "ok: 503 from the first gateway path -> answered via 127.0.1.65 at once after $(took)"

answered=$(metric ixedge_calls_answered_total)
[ "$((answered - answered0))" = 3 ] ||
	fail "/metrics: ixedge_calls_answered_total went from $answered0 to $answered, expected +3"
echo "ok: /metrics counts the 3 failed-over calls as answered"

# Every path silent: all six tried in plan order, then 408 (Timer B of the last path, 64*T1 =
# 3.2 s, inside the 10 s ring timeout).
call "every path silent" 127.0.1.64 "sip:fo-dead@$URI" --expect 408 --min-time 7 --max-time 10.5 --timeout 15
expect_paths dead fo-dead 127.0.1.64 127.0.1.65 127.0.1.66 127.0.2.64 127.0.2.65 127.0.2.66
n408=$(metric 'ixedge_calls_ended_total{status="408"}')
[ "$n408" = 1 ] || fail "/metrics: ixedge_calls_ended_total{status=\"408\"} is '$n408', expected 1"
echo "ok: every path silent -> 6 paths tried in plan order, then 408 after $(took)"
stop_daemon TERM
