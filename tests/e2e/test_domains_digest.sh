#!/usr/bin/env bash
# e2e (domains): digest authentication on the seeded domain demo-auth (credential list
# demo-users: alice / AliceDemo1234; no ACL).  With auth.nonce_lifetime 3 s:
#   - an INVITE without credentials gets 401 with two WWW-Authenticate (SHA-256 first, then MD5)
#     in the store's realm;
#   - the right answer (SHA-256, then MD5) is served; a wrong password or an unknown user: 403;
#   - a right answer on a nonce older than its lifetime: 401 with stale=true and a fresh nonce,
#     which is then accepted;
#   - a nonce-count used again on a new INVITE: 403; the next count: served.
# Only answered calls leave records (two each, complete); /metrics counts every refusal.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/domains/domains_lib.sh"

LIFETIME=3
domains_config <<EOF
auth: {nonce_lifetime: $LIFETIME}
EOF
start_daemon "$CFG"
start_callee uas "$CALLEE"
RURI="sip:bob@demo-auth.sip.ashburn-ix.twilio.com"

# auth WHAT ARGS...: one auth_ua.py run against demo-auth as alice; its lines are printed.
auth() {
	local what=$1 out
	shift
	out=$(timeout 40 python3 "$AUTH_UA" --gw "$GW:$PORT" --ruri "$RURI" --user alice "$@" 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/  /'
		fail "$what: $(sed -n 's/^FAIL: //p' <<<"$out" | head -n 1)"
	}
	printf '%s\n' "$out" | sed 's/^/  /'
	AUTH_OUT=$out
}

# ---- The challenge, in the store's realm.
auth "challenge" --password AliceDemo1234 challenge
realm=$($RECORDS realm "$WORK/data/ixedge.db")
[ "${AUTH_OUT##*realm=}" = "$realm" ] || fail "challenge realm '${AUTH_OUT##*realm=}' is not the store's '$realm'"
[ "$realm" = sip.twilio.com ] || fail "the store's realm is '$realm', expected sip.<first base domain> = sip.twilio.com"
echo "ok: 401 with SHA-256 and MD5 challenges, one nonce, qop=auth, realm $realm (the store's)"

# ---- Right, wrong, unknown.
auth "SHA-256" --password AliceDemo1234 --alg SHA-256 ok
auth "MD5" --password AliceDemo1234 --alg MD5 ok
echo "ok: alice's SHA-256 and MD5 answers are served"
auth "wrong password" --password AliceDemo9999 wrong
out=$(timeout 40 python3 "$AUTH_UA" --gw "$GW:$PORT" --ruri "$RURI" --user eve --password EveDemo12345 wrong 2>&1) ||
	fail "unknown user: $out"
echo "ok: a wrong password and an unknown user get 403"
grep -q "AliceDemo" "$WORK/daemon.log" && fail "the daemon log holds a password"

# ---- Stale: wait past the lifetime, answer the aged nonce.
auth "stale nonce" --password AliceDemo1234 --wait "$((LIFETIME + 1)).5" stale
grep -qE "401 stale nonce \(nonce expired for user 'alice'" "$WORK/daemon.log" ||
	fail "no log line for the stale nonce"
echo "ok: a nonce older than auth.nonce_lifetime ($LIFETIME s): 401 stale=true, the fresh nonce is served"

# ---- Replay of a nonce-count.
auth "replay" --password AliceDemo1234 replay
grep -qE "replayed nonce-count 00000001 for user 'alice'" "$WORK/daemon.log" ||
	fail "no log line naming the replayed nonce-count"
echo "ok: nonce-count 00000001 used again: 403; 00000002 served"

# ---- Records: five answered calls, two complete records each; nothing for the refusals.
for _ in $(seq 1 50); do
	calls_json "$WORK/calls.json"
	[ "$($RECORDS count "$WORK/calls.json")" = 10 ] &&
		! grep -qE '"status": "(ringing|in-progress)"' "$WORK/calls.json" && break
	sleep 0.1
done
n=$($RECORDS count "$WORK/calls.json")
[ "$n" = 10 ] || fail "$n call records, expected 10 (five answered calls; refused and challenged INVITEs leave none)"
$RECORDS sound "$WORK/calls.json" >/dev/null || fail "call records: $($RECORDS sound "$WORK/calls.json")"
sids=$($RECORDS pair "$WORK/calls.json" --to "$RURI" --child-to "sip:callee@127.0.0.1:$CALLEE" \
	--account "$DEMO_ACCOUNT" --child-gateway-re "^127\\.0\\.3\\.6[4-6]:$PORT\$" --hung-up-by caller) ||
	fail "call records: $sids"
python3 - "$WORK/calls.json" <<'PYEOF' || fail "call records are not five completed inbound calls with one child each"
import json, sys
calls = json.load(open(sys.argv[1]))["calls"]
parents = [c for c in calls if c["direction"] == "inbound"]
assert len(parents) == 5 and all(c["status"] == "completed" for c in calls), calls
for p in parents:
    assert sum(c["parent_call_sid"] == p["sid"] for c in calls) == 1, p
PYEOF
echo "ok: 10 call records (5 answered calls, e.g. $sids), none for refusals"

for r in auth_fail:2 replay:1 stale:1 malformed:0 source:0 no_mapping:0; do
	v=$(refused "${r%%:*}")
	[ "$v" = "${r##*:}" ] || fail "/metrics: refused ${r%%:*} is '$v', expected ${r##*:}"
done
# One first-round 401 per auth_ua.py run (7); the stale 401 is counted as a refusal instead.
v=$(metric ixedge_inbound_challenges_total)
[ "$v" = 7 ] || fail "/metrics: ixedge_inbound_challenges_total is '$v', expected 7"
v=$(metric ixedge_digest_nonces_total)
[ "$v" = 8 ] || fail "/metrics: ixedge_digest_nonces_total is '$v', expected 8 (7 challenges + 1 stale)"
echo "ok: /metrics: auth_fail 2, replay 1, stale 1, 7 challenges, 8 nonces"
stop_daemon TERM
