#!/usr/bin/env bash
# e2e (issue 6): offers the edge cannot anchor.  An INVITE whose SDP has no stream the relay can
# carry (only T.38 over UDPTL, or every m= port 0) gets 488 and never reaches the callee; a
# malformed SDP gets 400.  The daemon stays up (this once crashed it) and a normal call still
# works afterwards.
set -euo pipefail
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/daemon_lib.sh"
. "$SRC/tests/e2e/media/media_lib.sh"

media_init 145
CALLEE=$((LOCAL + 1))
media_config "$WORK/edge.yaml" <<EOF
routes:
  - {match: "*", target: "sip:{user}@127.0.0.1:$CALLEE"}
EOF
start_daemon "$WORK/edge.yaml"
start_callee uas "$CALLEE" $((LOCAL + 2))

# offer NAME SDP: the final status the edge gives an INVITE with that SDP ('|' ends a line).
offer() {
	python3 - "$SRC/tests/e2e/edges" "$PORT" "$1" "$2" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
import ua
name, body = sys.argv[3], sys.argv[4].replace("|", "\r\n")
c = ua.Caller(("127.0.1.64", int(sys.argv[2])))
ruri = "sip:%s@acme.sip.ashburn-ix.twilio.com" % name
msg = c.request("INVITE", ruri, 1, "<%s>" % ruri, name + "@e2e", "t-" + name, "z9hG4bK-" + name, body)
c.s.sendto(msg, c.gw)
end = time.monotonic() + 4
while time.monotonic() < end:
    got = c.recv(end)
    if got and got != "tick":
        code = int(got[0][0].split()[1])
        if code >= 200:
            print(code)
            break
PY
}

HEAD="v=0|o=x 1 1 IN IP4 127.0.0.1|s=-|c=IN IP4 127.0.0.1|t=0 0|"
st=$(offer t38 "${HEAD}m=image 5000 udptl t38|")
[ "$st" = 488 ] || fail "T.38-only offer: got '$st', expected 488"
st=$(offer port0 "${HEAD}m=audio 0 RTP/AVP 0|")
[ "$st" = 488 ] || fail "all-port-0 offer: got '$st', expected 488"
st=$(offer garbled "v=0|o=x|m=audio x|")
[ "$st" = 400 ] || fail "malformed SDP: got '$st', expected 400"
kill -0 "$DPID" 2>/dev/null || fail "the daemon died"
for u in t38 port0 garbled; do
	! grep -q "sip:$u@" "$WORK/uas.log" || fail "$u: the callee got an INVITE anyway"
done
st=$(offer good "${HEAD}m=audio 4000 RTP/AVP 0|")
[ "$st" = 200 ] || fail "a normal offer after them: got '$st', expected 200"
grep -q "sip:good@" "$WORK/uas.log" || fail "the callee log shows no INVITE for the normal offer"
echo "ok: T.38-only and all-port-0 offers get 488, a malformed SDP 400, the daemon stays up"
stop_daemon TERM
