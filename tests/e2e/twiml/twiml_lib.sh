# shellcheck shell=bash
# Shared helpers of tests/e2e/test_twiml_*.sh: sourced after daemon_lib.sh and
# edges/edges_lib.sh (ports, config, daemon, /metrics), never run.
#
# twiml_start            the daemon on the lab topology (T1 50 ms) with no static routes;
#                        an account, an ACL 127.0.0.0/8 and the domain "tw" mapped to it,
#                        all made with ixctl against the running daemon's data dir
# set_twiml 'XML'        the domain's inline TwiML (ixctl domains update --twiml), returns
#                        once the daemon's snapshot has it
# start_ua NAME PORT MODE [twua.py callee options]
#                        a callee (twiml/twua.py) on 127.0.0.1:PORT, log $WORK/NAME.log
# twcall WHAT USER [twua.py call options]
#                        one call to USER@tw.sip.ashburn-ix.twilio.com via 127.0.1.64;
#                        its JSON result in $WORK/WHAT.json
# j FILE EXPR            a Python expression over a JSON file or a callee log (j = it)
# records CALL_ID        the call's records (inbound and its legs) in $WORK/rec.json,
#                        once every one is final (bounded wait)

TWUA="$SRC/tests/e2e/twiml/twua.py"
IXCTL="$BUILD/ixctl"
TW_GW=127.0.1.64
TW_HOST=tw.sip.ashburn-ix.twilio.com

ixctl_() {
	"$IXCTL" --data-dir "$WORK/data" "$@" 2>"$WORK/ixctl.err" || {
		cat "$WORK/ixctl.err"
		fail "ixctl $*"
	} >&2
}

# The store's config version now (read-only; the daemon compares its snapshot to it).
store_version() {
	python3 - "$WORK/data/ixedge.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(db.execute("SELECT version FROM config_version").fetchone()[0])
EOF
}

# Until the daemon's snapshot has the store's current version (5-6 s at most).
wait_snapshot() {
	local want have deadline=$((SECONDS + 6))
	want=$(store_version)
	while [ $SECONDS -lt $deadline ]; do
		have=$(metric ixedge_store_snapshot_version 2>/dev/null) || have=0
		[ "${have:-0}" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "the daemon did not load store version $want within 5 s (its snapshot: ${have:-?})"
}

twiml_start() {
	edges_config "$WORK/twiml.yaml" 50 <<<"routes: []"
	start_daemon "$WORK/twiml.yaml"
	local acct acl
	acct=$(ixctl_ --json accounts create --friendly-name "twiml e2e" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["sid"])')
	acl=$(ixctl_ --json acls create --account "$acct" --friendly-name loopback |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["sid"])')
	ixctl_ acls add-address "$acl" 127.0.0.0/8 >/dev/null
	printf '<Response><Reject/></Response>\n' >"$WORK/init.xml"
	ixctl_ domains create --account "$acct" --name tw --twiml "$WORK/init.xml" >/dev/null
	ixctl_ mappings add tw calls acl "$acl" >/dev/null
	wait_snapshot
	# shellcheck disable=SC2153 # PORT comes from edges_lib.sh
	echo "ok: daemon on gateway port $PORT; domain tw ($acct) mapped to 127.0.0.0/8"
}

set_twiml() {
	printf '%s\n' "$1" >"$WORK/doc.xml"
	ixctl_ domains update tw --twiml "$WORK/doc.xml" >/dev/null
	wait_snapshot
}

start_ua() {
	local name=$1 port=$2 mode=$3
	shift 3
	rm -f "$WORK/$name.log"
	timeout 170 python3 "$TWUA" callee --bind "127.0.0.1:$port" --log "$WORK/$name.log" \
		--mode "$mode" --seconds 160 "$@" >"$WORK/$name.out" 2>&1 &
	UA_PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -f "$WORK/$name.log" ] && return 0
		sleep 0.05
	done
	cat "$WORK/$name.out"
	fail "callee $name did not start on 127.0.0.1:$port"
}

twcall() {
	local what=$1 user=$2
	shift 2
	timeout 40 python3 "$TWUA" call --gw "$TW_GW:$PORT" --ruri "sip:$user@$TW_HOST" "$@" \
		>"$WORK/$what.json" 2>"$WORK/$what.err" || {
		cat "$WORK/$what.json" "$WORK/$what.err"
		fail "$what: the call failed"
	}
	echo "  $what: $(cut -c1-200 "$WORK/$what.json")"
}

j() {
	python3 "$TWUA" get "$@"
}

# expect WHAT FILE EXPR: EXPR (Python over j) must be true, else fail naming WHAT.
expect() {
	local what=$1 file=$2 expr=$3
	[ "$(j "$file" "bool($expr)")" = True ] || fail "$what: not true: $expr"
}

records() {
	local cid=$1 deadline=$((SECONDS + 8))
	while [ $SECONDS -lt $deadline ]; do
		"$IXCTL" --data-dir "$WORK/data" --json calls list --limit 200 >"$WORK/all.json" 2>/dev/null || true
		python3 - "$WORK/all.json" "$cid" >"$WORK/rec.json" <<'EOF' && return 0
import json, sys
calls = json.load(open(sys.argv[1]))["calls"]
parent = [c for c in calls if c["direction"] == "inbound" and c["sip_call_id"] == sys.argv[2]]
if len(parent) != 1:
    sys.exit(1)
legs = [c for c in calls if c["parent_call_sid"] == parent[0]["sid"]]
if any(c["status"] in ("queued", "ringing", "in-progress") for c in parent + legs):
    sys.exit(1)
json.dump({"call": parent[0], "legs": legs}, sys.stdout)
EOF
		sleep 0.1
	done
	fail "no final call records for Call-ID $cid within 7-8 s: $(cut -c1-300 "$WORK/all.json")"
}
