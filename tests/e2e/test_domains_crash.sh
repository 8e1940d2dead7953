#!/usr/bin/env bash
# e2e (domains): kill -9 under load loses no committed call record.  A SIPp caller places short
# calls to the seeded demo domain (20/s, 2 s each, at most 200) through the daemon to a SIPp
# callee.  A few seconds in, with calls still being set up and torn down: /metrics'
# ixedge_call_records_committed_total is scraped, then the store is read with ixctl (a reader
# sees exactly the committed transactions), then the daemon is killed with SIGKILL.  Afterwards:
#   - the store passes PRAGMA integrity_check and foreign_key_check;
#   - every record is well-formed (SID, account, direction, status, times in order);
#   - every record read before the kill is still there, final ones unchanged, none less final;
#   - the daemon restarts on the same data directory, keeps every record, and serves a call.
# Why not "committed_total <= records after": the counter counts writes, and each record is
# written several times (created, answered, ended) as one row, so it exceeds the row count.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/domains/domains_lib.sh"

domains_config </dev/null
start_daemon "$CFG"
sipp_callee load 60 -sn uas -m 200
(cd "$WORK" && exec timeout 40 sipp -sf "$SRC/etc/sipp/caller.xml" -nostdin -key domain "$DEMO_HOST" \
	-s load -i 127.0.0.1 -p "$CALLER_PORT" -r 20 -m 200 -l 60 -timeout 30s \
	-trace_err -error_file "$WORK/load.uac.errors" "$GW:$PORT" >"$WORK/load.uac.out" 2>&1) &
UAC=$!
UA_PIDS+=("$UAC")

# Let it run until records are being committed and some calls have ended (at most 8 s).
for _ in $(seq 1 80); do
	sleep 0.1
	[ "$(grep -c ' ended: status 200' "$WORK/daemon.log")" -ge 20 ] && break
done
sleep 0.$((RANDOM % 10)) # a random moment
kill -0 "$DPID" 2>/dev/null || {
	wait "$DPID" || echo "ixedge exit status $?"
	DPID=""
	fail "ixedge died under load"
}
kill -0 "$UAC" 2>/dev/null || {
	wait "$UAC" || echo "SIPp caller exit status $?"
	grep -aE 'Successful call|Failed call' "$WORK/load.uac.out" | tr -s ' ' | tail -n 2 || true
	tail -n 5 "$WORK/load.uac.errors" "$WORK/load.uas.errors" 2>/dev/null | cut -c1-200 || true
	fail "the SIPp caller finished before the kill: not under load"
}
committed=$(metric ixedge_call_records_committed_total)
calls_json "$WORK/before.json"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=""
ended=$(grep -c ' ended: status ' "$WORK/daemon.log" || true)
before=$($RECORDS count "$WORK/before.json")
if [ "${committed:-0}" -eq 0 ] || [ "$before" -eq 0 ]; then
	fail "nothing committed before the kill (committed_total '$committed', $before records)"
fi
echo "ok: kill -9 under load: $ended calls ended, committed_total $committed writes, $before records read just before"
kill "$UAC" "$SIPP_CALLEE" 2>/dev/null || true
wait "$UAC" "$SIPP_CALLEE" 2>/dev/null || true

# ---- The store after the kill.
out=$($RECORDS integrity "$WORK/data/ixedge.db") || fail "store after kill -9: $out"
calls_json "$WORK/after.json"
sound=$($RECORDS sound "$WORK/after.json") || fail "store after kill -9: $sound"
kept=$($RECORDS kept "$WORK/before.json" "$WORK/after.json") || fail "store after kill -9: $kept"
echo "ok: store sound after kill -9 (integrity_check, foreign keys): $sound; $kept"
# The records read before the kill must include ended calls, so "kept" covered final records.
final=$(grep -cE '"status": "(completed|busy|failed|no-answer|canceled)"' "$WORK/before.json" || true)
[ "$final" -gt 0 ] || fail "no final record was committed before the kill: the check proved little"

# ---- Restart on the same data directory: the records are all there, calls are served.
start_daemon "$CFG"
grep -qE "store .*: 1 accounts, 2 domains \(seed: 0 created\)" "$WORK/daemon.log" ||
	fail "restart: no store line with the seeded records found (seed: 0 created)"
calls_json "$WORK/restart.json"
[ "$($RECORDS count "$WORK/restart.json")" = "$($RECORDS count "$WORK/after.json")" ] ||
	fail "restart: the record count changed"
kept=$($RECORDS kept "$WORK/after.json" "$WORK/restart.json") || fail "restart: $kept"
# Calls that were up at the kill are closed at the restart: no record stays ringing or
# in-progress, and those that were are now ended by the edge.
! grep -qE '"status": "(ringing|in-progress|queued)"' "$WORK/restart.json" ||
	fail "restart: records of the killed run are still open"
open_before=$(grep -cE '"status": "(ringing|in-progress)"' "$WORK/after.json" || true)
if [ "$open_before" -gt 0 ]; then
	grep -q "closed $open_before call records left open by an earlier run" "$WORK/daemon.log" ||
		fail "restart: $open_before open records, but no log line closing them"
	grep -q '"end_reason": "edge restarted during the call"' "$WORK/restart.json" ||
		fail "restart: no record ended with 'edge restarted during the call'"
fi
echo "ok: $open_before records left open by the kill were closed at the restart"
start_callee uas "$CALLEE"
call "after restart" "$GW" "sip:restart@$DEMO_HOST" --expect 200
for _ in $(seq 1 50); do
	calls_json "$WORK/last.json"
	$RECORDS pair "$WORK/last.json" --to "sip:restart@$DEMO_HOST" --child-to "sip:callee@127.0.0.1:$CALLEE" \
		--account "$DEMO_ACCOUNT" --hung-up-by caller >/dev/null && break
	sleep 0.1
done
sids=$($RECORDS pair "$WORK/last.json" --to "sip:restart@$DEMO_HOST" --child-to "sip:callee@127.0.0.1:$CALLEE" \
	--account "$DEMO_ACCOUNT" --hung-up-by caller) || fail "after restart: call records: $sids"
[ "$($RECORDS count "$WORK/last.json")" = $(($($RECORDS count "$WORK/after.json") + 2)) ] ||
	fail "after restart: one call added $(($($RECORDS count "$WORK/last.json") - $($RECORDS count "$WORK/after.json"))) records, expected 2"
echo "ok: restarted on the same data directory: every record kept, a new call served and recorded ($sids)"
stop_daemon TERM
