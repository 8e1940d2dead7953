# shellcheck shell=bash
# Shared helpers of tests/e2e/test_domains_*.sh: sourced after daemon_lib.sh and
# edges/edges_lib.sh (free ports, the lab config, ua.py callees and calls, /metrics), never run.
#
# The daemon runs the lab config with its seed (accounts, ACL demo-local 127.0.0.0/8, the
# credential list demo-users with alice, the domains demo and demo-auth); the seeded TwiML's
# callee port is rewritten to CALLEE, where the tests run their callee.  The store is
# read and changed through ixctl on the daemon's data directory.

IXCTL="$BUILD/ixctl"
RECORDS="python3 $SRC/tests/e2e/domains/records.py"
CALLEE=$((LOCAL + 1))
CFG="$WORK/domains.yaml"
# shellcheck disable=SC2034 # used by the scripts that source this file
{
	AUTH_UA="$SRC/tests/e2e/domains/auth_ua.py"
	CALLER_PORT=$((LOCAL + 7))
	DEMO_ACCOUNT=AC0123456789abcdef0123456789abcdef # the lab seed's
	DEMO_ACL=AL0123456789abcdef0123456789abcd01     # demo-local, 127.0.0.0/8
	DEMO_HOST=demo.sip.ashburn-ix.twilio.com
	GW=127.0.1.64 # an ashburn-ix gateway: calls come in there
}

# domains_config < EXTRA: edges_config (T1 50 ms, lab seed kept) with the seeded TwiML dialling
# 127.0.0.1:CALLEE, and EXTRA (e.g. an auth: section) appended.
domains_config() {
	edges_config "$CFG" 50
	# lab_config pointed 127.0.0.1:5080 (the seeded TwiML's callee) at PORT+3.
	sed -i "s/127\.0\.0\.1:$((PORT + 3));edge=london-ix/127.0.0.1:$CALLEE;edge=london-ix/" "$CFG"
	[ "$(grep -c "<Sip>sip:callee@127.0.0.1:$CALLEE;edge=london-ix</Sip>" "$CFG")" = 2 ] ||
		fail "could not point the seeded TwiML at the callee port $CALLEE"
	"$IXEDGE" --check -c "$CFG" >"$WORK/check.out" 2>&1 || {
		cat "$WORK/check.out"
		fail "generated config refused by ixedge --check"
	}
}

# ixc ARGS...: ixctl on the daemon's config and data directory; fails the test on error.
ixc() {
	"$IXCTL" -c "$CFG" "$@" 2>"$WORK/ixctl.err" || {
		cat "$WORK/ixctl.err"
		fail "ixctl $*: exit $?"
	}
}

# calls_json FILE: every call record, as ixctl --json calls list prints them.
calls_json() {
	ixc --json calls list --limit 100000 >"$1"
}

# records_count: how many call records the store holds.
records_count() {
	calls_json "$WORK/count.json"
	$RECORDS count "$WORK/count.json"
}

# snapshot_version: the config version the daemon's snapshot is at (/metrics).
snapshot_version() {
	metric ixedge_store_snapshot_version
}

# ixc_change ARGS...: an ixctl store change, then wait (at most 5 s) until the daemon's snapshot
# has the store's config version after it, so the next call sees the change.
ixc_change() {
	local want v
	ixc "$@" >/dev/null
	want=$($RECORDS version "$WORK/data/ixedge.db") || fail "cannot read the store's config version: $want"
	for _ in $(seq 1 100); do
		v=$(snapshot_version)
		[ -n "$v" ] && [ "$v" -ge "$want" ] && return 0
		sleep 0.05
	done
	fail "ixctl $*: the daemon's snapshot stayed at version $v for 5 s (store at $want)"
}

# refused REASON: ixedge_inbound_refused_total{reason=REASON}.
refused() {
	metric "ixedge_inbound_refused_total{reason=\"$1\"}"
}

# sipp_demo_call NAME USER: one SIPp call (etc/sipp/caller.xml: INVITE, ACK, 2 s, BYE) from
# 127.0.0.1:CALLER_PORT to DEMO_HOST via the gateway; fails the test when SIPp does.
sipp_demo_call() {
	local name=$1 user=$2
	(cd "$WORK" && timeout 30 sipp -sf "$SRC/etc/sipp/caller.xml" -nostdin -m 1 \
		-key domain "$DEMO_HOST" -s "$user" -i 127.0.0.1 -p "$CALLER_PORT" \
		-timeout 20s -timeout_error -trace_err -error_file "$WORK/$name.uac.errors" \
		"$GW:$PORT" >"$WORK/$name.uac.out" 2>&1) || {
		grep -aE 'Successful call|Failed call' "$WORK/$name.uac.out" | tr -s ' ' || true
		grep -aE '^[0-9]{4}-' "$WORK/$name.uac.errors" 2>/dev/null | cut -f3- | cut -c1-200 | head -n 10 || true
		fail "$name: the SIPp call to $DEMO_HOST via $GW failed (SIPp's errors above)"
	}
}

# sipp_callee NAME SECONDS ARGS...: a SIPp callee on 127.0.0.1:CALLEE (ARGS: -sf/-sn, -m ...),
# message trace in $WORK/NAME.uas.msg; returns once it is bound.  SIPP_CALLEE is its pid (timeout).
sipp_callee() {
	local name=$1 secs=$2
	shift 2
	(cd "$WORK" && exec timeout "$secs" sipp -nostdin -i 127.0.0.1 -p "$CALLEE" "$@" \
		-trace_msg -message_file "$WORK/$name.uas.msg" -trace_err -error_file "$WORK/$name.uas.errors" \
		>"$WORK/$name.uas.out" 2>&1) &
	SIPP_CALLEE=$!
	UA_PIDS+=("$SIPP_CALLEE")
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hlun "sport = :$CALLEE" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	fail "SIPp callee $name did not bind 127.0.0.1:$CALLEE"
}

# sipp_callee_wait NAME: the callee must exit 0 within 10 s.
sipp_callee_wait() {
	local rc=0 st=0
	for _ in $(seq 1 100); do
		kill -0 "$SIPP_CALLEE" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SIPP_CALLEE" 2>/dev/null; then
		kill "$SIPP_CALLEE" 2>/dev/null || true
		rc="still running after 10 s"
	fi
	wait "$SIPP_CALLEE" || st=$?
	[ "$rc" = 0 ] && rc=$st
	[ "$rc" = 0 ] || {
		grep -aE 'Successful call|Failed call' "$WORK/$1.uas.out" | tr -s ' ' || true
		grep -aE '^[0-9]{4}-' "$WORK/$1.uas.errors" 2>/dev/null | cut -f3- | cut -c1-200 | head -n 10 || true
		fail "$1: the SIPp callee exited with $rc (its checks and errors above)"
	}
}
