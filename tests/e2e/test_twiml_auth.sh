#!/usr/bin/env bash
# e2e: the far end challenges the edge.  A callee answers the dialled INVITE with 401 and
# two WWW-Authenticate (SHA-256, then MD5; qop=auth, opaque); the edge sends the INVITE
# again with an Authorization built from <Sip username password>, which the callee checks
# with hashlib (SHA-256 picked over MD5, nonce, opaque, uri, nc/cnonce, response) and
# answers 200: the call completes.  An MD5-only challenge and a 407 work too.  When the callee's
# password differs it answers 403, the dial fails and the end of the document gives the
# caller 403; a challenge with no credentials in the TwiML ends the same way (the edge
# cannot pass another dialog's challenge to the caller).
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/edges/edges_lib.sh"
. "$SRC/tests/e2e/twiml/twiml_lib.sh"

GOOD=$((LOCAL + 1))
BAD=$((LOCAL + 2))
MD5=$((LOCAL + 3))
PROXY=$((LOCAL + 4))
TW_USER="tw-user"
TW_PASS='Pa55:word "x"&y'
twiml_start
start_ua good "$GOOD" auth --user "$TW_USER" --password "$TW_PASS" --delay 0.2
start_ua bad "$BAD" auth --user "$TW_USER" --password "NotThePassword1" --delay 0.2
start_ua md5 "$MD5" auth --user "$TW_USER" --password "$TW_PASS" --algs MD5
start_ua proxy "$PROXY" auth --user "$TW_USER" --password "$TW_PASS" --proxy

# The TwiML's password, XML-escaped.
XPASS='Pa55:word &quot;x&quot;&amp;y'
sip_noun() { # sip_noun USER PORT [attributes]
	echo "<Sip ${3-username=\"$TW_USER\" password=\"$XPASS\"}>sip:$1@127.0.0.1:$2</Sip>"
}
# ladder NAME: the callee's requests and responses, in order.
ladder() {
	j "$WORK/$1.log" "' '.join(r['method'] if r['dir'] == 'in' else str(r.get('status', r.get('verdict'))) for r in j)"
}

# ---- 1. The right credentials: 401, INVITE with Authorization (SHA-256), 200.
set_twiml "<Response><Dial answerOnBridge=\"true\">$(sip_noun good "$GOOD")</Dial></Response>"
twcall good g1
expect "auth" "$WORK/good.json" "j['status'] == 200 and j['bye'] == '200'"
lad=$(ladder good)
[ "$lad" = "INVITE 100 401 ACK INVITE 100 ok 180 200 ACK BYE 200" ] ||
	fail "auth: callee ladder '$lad', expected 'INVITE 100 401 ACK INVITE 100 ok 180 200 ACK BYE 200'"
expect "auth: SHA-256 picked over MD5" "$WORK/good.log" "[r['algorithm'] for r in j if r['dir'] == 'auth'] == ['SHA-256']"
expect "auth: the INVITE again: same Call-ID, CSeq + 1, Authorization" "$WORK/good.log" \
	"[(r['call_id'] == j[0]['call_id'], r['cseq'], r['has_auth']) for r in j if r.get('method') == 'INVITE'] == [(True, '1 INVITE', False), (True, '2 INVITE', True)]"
records "$(j "$WORK/good.json" "j['call_id']")"
expect "auth: record" "$WORK/rec.json" "j['call']['status'] == 'completed' and [(c['status'], c['sip_response_code']) for c in j['legs']] == [('completed', 200)]"
echo "ok: 401 (SHA-256 + MD5) answered with a right SHA-256 Authorization: 200, call completed ($lad)"

# ---- 2. MD5 only.
set_twiml "<Response><Dial answerOnBridge=\"true\">$(sip_noun md5 "$MD5")</Dial></Response>"
twcall md5 m1
expect "auth MD5" "$WORK/md5.json" "j['status'] == 200 and j['bye'] == '200'"
expect "auth MD5" "$WORK/md5.log" "[(r['algorithm'], r['verdict']) for r in j if r['dir'] == 'auth'] == [('MD5', 'ok')]"
echo "ok: an MD5-only challenge answered right: 200"

# ---- 2b. 407 Proxy-Authenticate: answered in Proxy-Authorization.
set_twiml "<Response><Dial answerOnBridge=\"true\">$(sip_noun px "$PROXY")</Dial></Response>"
twcall proxy x1
expect "auth 407" "$WORK/proxy.json" "j['status'] == 200 and j['bye'] == '200'"
lad=$(ladder proxy)
[ "$lad" = "INVITE 100 407 ACK INVITE 100 ok 180 200 ACK BYE 200" ] || fail "auth 407: callee ladder '$lad'"
expect "auth 407: Proxy-Authorization only" "$WORK/proxy.log" \
	"[(r['has_auth'], r['has_proxy_auth']) for r in j if r.get('method') == 'INVITE'] == [(False, False), (False, True)]"
echo "ok: 407 answered in Proxy-Authorization (SHA-256): 200"

# ---- 3. The callee expects another password: 403, the caller gets 403.
set_twiml "<Response><Dial answerOnBridge=\"true\">$(sip_noun bad "$BAD")</Dial></Response>"
twcall wrong w1
expect "wrong password" "$WORK/wrong.json" "j['status'] == 403"
lad=$(ladder bad)
[ "$lad" = "INVITE 100 401 ACK INVITE 100 wrong response (SHA-256) 403 ACK" ] ||
	fail "wrong password: callee ladder '$lad'"
records "$(j "$WORK/wrong.json" "j['call_id']")"
expect "wrong password: record" "$WORK/rec.json" "j['call']['sip_response_code'] == 403 and j['call']['status'] == 'failed' and j['call']['end_reason'] == 'TwiML document ended'"
expect "wrong password: leg" "$WORK/rec.json" "[(c['status'], c['sip_response_code']) for c in j['legs']] == [('failed', 403)]"
echo "ok: wrong password: the callee's 403 ends the dial, the caller gets 403 ($lad)"

# ---- 4. A challenge without credentials in the TwiML: not answered, the caller gets 403.
: >"$WORK/good.log"
set_twiml "<Response><Dial answerOnBridge=\"true\">$(sip_noun good "$GOOD" "")</Dial></Response>"
twcall nocreds n1
expect "no credentials" "$WORK/nocreds.json" "j['status'] == 403"
lad=$(ladder good)
[ "$lad" = "INVITE 100 401 ACK" ] || fail "no credentials: callee ladder '$lad', expected 'INVITE 100 401 ACK'"
records "$(j "$WORK/nocreds.json" "j['call_id']")"
expect "no credentials: leg" "$WORK/rec.json" "[(c['status'], c['sip_response_code']) for c in j['legs']] == [('failed', 401)]"
echo "ok: 401 with no credentials in the TwiML: not answered, the caller gets 403"

stop_daemon TERM
