# Shared helpers for the SIPp call tests (tests/e2e/test_calls_*.sh): sourced, never run.
#
# A caller sets BUILD and SRC (from "$1" and "$2"), then:
#   calls_init NAME GATEWAY_IP udp|tcp LOSS_PERCENT
#   calls_start_edge        # generated config, ixedge started and ready (skipped in direct mode)
#   calls_run_all           # every scenario pair in tests/e2e/sipp, or those in $E2E_SCENARIOS
#   calls_check_idle        # /metrics: ixedge_transactions, _dialogs and _calls back to 0
#   calls_finish            # stops ixedge (must exit 0), prints the summary, sets the exit code
#
# Topology: the caller (SIPp UAC) on 127.0.0.1 sends to the edge's gateway GATEWAY_IP; the
# edge's static route sends the outbound leg to the callee (SIPp UAS) on 127.0.0.1.  Each
# test script uses its own gateway address and free ports, so ctest -j runs them side by side.
#
# Environment:
#   E2E_DIRECT=1      no edge: the caller calls the callee directly and stands in for the
#                     edge's outbound leg (it binds the gateway address, adds the X-Twilio-*
#                     headers, uses a "-leg-b" Call-ID).  Validates the scenarios themselves.
#   E2E_SCENARIOS     space-separated scenario names to run (default: all)
#   E2E_CALLS         calls per scenario (default 1; 3 with loss)
#   E2E_IDLE_SECONDS  how long /metrics may take to drain (default 45: an INVITE transaction
#                     lingers 64*T1 = 32 s after its 2xx on any transport, RFC 6026)
#   E2E_KEEP=1        keep the work directory (configs, SIPp traces, ixedge log)
#   E2E_LOG_LEVEL     ixedge --log-level: info (default) or debug; the runner waits for
#                     ixedge's "ready" line, which is at info

E2E_DIRECT=${E2E_DIRECT:-0}
SIPP_DIR="$SRC/tests/e2e/sipp"
IXEDGE="$BUILD/ixedge"
WORK=$(mktemp -d /tmp/ixedge-calls.XXXXXX)
DPID=""
CHILD_PIDS=()
PASSED=()
FAILED=()

calls_cleanup() {
	local p
	# SIGTERM first: timeout(1) passes it on to the SIPp it runs.
	for p in "${CHILD_PIDS[@]}" $DPID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.2
	for p in "${CHILD_PIDS[@]}" $DPID; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap calls_cleanup EXIT
trap 'exit 130' INT TERM

calls_die() {
	echo "FAIL: $*"
	calls_daemon_tail
	exit 1
}

calls_daemon_tail() {
	if [ -s "$WORK/daemon.log" ]; then
		echo "--- ixedge log (last 40 lines) ---"
		tail -n 40 "$WORK/daemon.log"
	fi
}

# calls_pick_ports COUNT HOST...: COUNT ports, each free for UDP and TCP on every HOST
# (and port+1 too, for a gateway's TLS port).
calls_pick_ports() {
	python3 "$SRC/scripts/free_ports.py" --blocks "$1" 22000-32000 2 "${@:2}"
}

calls_init() {
	CALLS_NAME=$1
	CALLS_GW=$2
	CALLS_TRANSPORT=$3
	CALLS_LOSS=$4
	if [ "$CALLS_LOSS" != 0 ]; then
		CALLS_PER=${E2E_CALLS:-3}
		CALLS_STRICT=0
		CALLS_LINGER=4000 # ms the side that answers last stays to answer retransmissions
		CALLS_TIMEOUT=90
		# Long enough for an answer that loss delays by a few retransmissions.
		CALLS_RING_TIMEOUT=6
	else
		CALLS_PER=${E2E_CALLS:-1}
		CALLS_STRICT=1
		CALLS_LINGER=0
		CALLS_TIMEOUT=25
		CALLS_RING_TIMEOUT=2
	fi
	command -v sipp >/dev/null || calls_die "sipp not installed (scripts/deps.sh installs sip-tester)"
	# The X-Twilio-* headers the caller adds in direct mode, standing in for the edge.
	local hex
	hex=$(tr -d '-' </proc/sys/kernel/random/uuid)
	CALLS_XTWILIO=$'\r\n'"X-Twilio-CallSid: CA$hex"$'\r\n'"X-Twilio-AccountSid: AC$hex"$'\r\n'"X-Twilio-ApiVersion: 2010-04-01"
	local ports
	if [ "$E2E_DIRECT" = 1 ]; then
		ports=$(calls_pick_ports 2 "$CALLS_GW") || calls_die "no free ports"
		read -r CALLS_UAS_PORT CALLS_UAC_PORT <<<"$ports"
		CALLS_UAS_IP=$CALLS_GW
		CALLS_UAC_IP=$CALLS_GW
		CALLS_TARGET="$CALLS_GW:$CALLS_UAS_PORT"
		CALLS_CID="%u-%p-leg-b@%s"
		echo "calls/$CALLS_NAME: direct mode (no edge), $CALLS_TRANSPORT, caller $CALLS_GW:$CALLS_UAC_PORT -> callee $CALLS_GW:$CALLS_UAS_PORT, loss $CALLS_LOSS%"
	else
		[ -x "$IXEDGE" ] || calls_die "$IXEDGE not built"
		ports=$(calls_pick_ports 4 "$CALLS_GW" 127.0.0.1) || calls_die "no free ports"
		read -r CALLS_EDGE_PORT CALLS_UAS_PORT CALLS_UAC_PORT CALLS_ADMIN_PORT <<<"$ports"
		CALLS_UAS_IP=127.0.0.1
		CALLS_UAC_IP=127.0.0.1
		CALLS_TARGET="$CALLS_GW:$CALLS_EDGE_PORT"
		CALLS_CID="%u-%p-leg-a@%s"
		CALLS_XTWILIO=""
		echo "calls/$CALLS_NAME: caller 127.0.0.1:$CALLS_UAC_PORT -> edge $CALLS_GW:$CALLS_EDGE_PORT ($CALLS_TRANSPORT) -> callee 127.0.0.1:$CALLS_UAS_PORT, admin 127.0.0.1:$CALLS_ADMIN_PORT, loss $CALLS_LOSS%"
	fi
}

# The lab config with a short ring timeout (and, with loss, a failover timeout that four
# INVITEs dropped in a row do not reach) and, instead of its edges, routes and admin
# listener: one edge with one gateway, the route to the callee, a private admin port.
calls_write_config() {
	local out=$1 params="" media
	[ "$CALLS_TRANSPORT" = tcp ] && params=";transport=tcp"
	media="127.86.$(echo "$CALLS_GW" | cut -d. -f3).1"
	awk -v ring="$CALLS_RING_TIMEOUT" -v loss="$((CALLS_LOSS > 0))" '
		/^[A-Za-z_]+:/ {
			skip = ($1 == "edges:" || $1 == "connections:" || $1 == "routes:" || $1 == "admin:" || $1 == "data_dir:")
			calls = ($1 == "calls:")
			routing = ($1 == "routing:")
			sip = ($1 == "sip:")
		}
		# With loss, short SIP timers: every transaction is over within 64*T1 = 6.4 s,
		# so nothing of one scenario can reach the next one (see calls_wait_quiet).
		sip && /^    t1:/ && loss { print "    t1: 100"; next }
		sip && /^    t2:/ && loss { print "    t2: 400"; next }
		sip && /^    t4:/ && loss { print "    t4: 500"; next }
		/^#/ && skip { next }
		calls && /^  ring_timeout:/ { print "  ring_timeout: " ring; next }
		routing && /^  failover_timeout:/ && loss { print "  failover_timeout: 10"; next }
		!skip { print }
	' "$SRC/etc/lab.yaml" >"$out"
	grep -q "^  ring_timeout: $CALLS_RING_TIMEOUT$" "$out" ||
		printf '\ncalls:\n  ring_timeout: %s\n' "$CALLS_RING_TIMEOUT" >>"$out"
	cat >>"$out" <<EOF

# ---- generated by tests/e2e/lib.sh for calls/$CALLS_NAME
edges:
  - name: ashburn-ix
    kind: interconnect
    region: us-east
    gateways:
      - {address: $CALLS_GW, udp: $CALLS_EDGE_PORT, tcp: $CALLS_EDGE_PORT, tls: $((CALLS_EDGE_PORT + 1))}
    media:
      addresses: [$media]
      ports: 10000-60000

connections: []

admin:
  listen: 127.0.0.1:$CALLS_ADMIN_PORT

data_dir: $WORK/data

routes:
  - match: "*"
    target: "sip:{user}@127.0.0.1:$CALLS_UAS_PORT$params"
EOF
}

calls_start_edge() {
	[ "$E2E_DIRECT" = 1 ] && return 0
	local t
	calls_write_config "$WORK/edge.yaml"
	"$IXEDGE" -c "$WORK/edge.yaml" --data-dir "$WORK/data" --log-level "${E2E_LOG_LEVEL:-info}" \
		>"$WORK/daemon.out" 2>"$WORK/daemon.log" &
	DPID=$!
	for _ in $(seq 1 200); do
		grep -q " ready: " "$WORK/daemon.log" && break
		kill -0 "$DPID" 2>/dev/null || {
			echo "--- generated config ---"
			cat "$WORK/edge.yaml"
			calls_die "ixedge exited during start-up (see its log below)"
		}
		sleep 0.05
	done
	grep -q " ready: " "$WORK/daemon.log" || calls_die "ixedge not ready within 10 s"
	for t in udp tcp; do
		grep -q "listening $t $CALLS_GW:$CALLS_EDGE_PORT " "$WORK/daemon.log" ||
			calls_die "no 'listening $t $CALLS_GW:$CALLS_EDGE_PORT' line"
	done
	echo "ok: ixedge ready (pid $DPID)"
}

# calls_wait_bound IP PORT: until the callee's socket is bound, at most 5 s.
calls_wait_bound() {
	local opt=-Hlun
	[ "$CALLS_TRANSPORT" = tcp ] && opt=-Hltn
	for _ in $(seq 1 100); do
		[ -n "$(ss $opt "sport = :$2" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	return 1
}

# A compact ladder of one SIPp message trace: time, direction, first line, CSeq, the start of
# the Call-ID; and where -lost dropped a message (SIPp notes it right after that message).
calls_ladder() {
	awk '
		{ line = $0; sub(/\r$/, "", line) }
		line ~ /voluntary lost/ { print "  (-lost dropped the message sent above)" }
		line ~ /lost \(recv\)/ { print "  (-lost dropped the message received above)" }
		(i = index(line, "-----------------------------------------------")) > 0 {
			split(substr(line, i + 47), f, " ")
			ts = f[2]
			state = 1
			next
		}
		state == 1 && line ~ /message (sent|received)/ { dir = (line ~ /message sent/) ? ">>" : "<<"; state = 2; next }
		state == 2 && line != "" { first = line; cid = ""; cseq = ""; state = 3; next }
		state == 3 && line ~ /^(Call-ID|i):/ { cid = substr(line, index(line, ":") + 2, 10) }
		state == 3 && line ~ /^CSeq:/ { cseq = substr(line, 7) }
		state == 3 && line == "" {
			printf "  %s %s %-46s %-12s %s\n", ts, dir, substr(first, 1, 46), cseq, cid
			state = 0
		}
	' "$1" | head -n 80
}

# calls_stop_sipp PID: PID is timeout(1) running SIPp.  SIGINT makes SIPp stop and flush its
# traces (SIGTERM, which timeout would pass on, loses them).
calls_stop_sipp() {
	local child
	child=$(pgrep -P "$1" 2>/dev/null | head -n 1) || true
	[ -n "$child" ] && kill -INT "$child" 2>/dev/null
	for _ in $(seq 1 20); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -TERM "$1" 2>/dev/null || true
}

calls_report_failure() {
	local name=$1 dir=$2 f
	echo "--- $name: SIPp output, errors and message ladders ---"
	for f in "$dir"/uac.out "$dir"/uas.out; do
		[ -f "$f" ] || continue
		echo "[$(basename "$f" .out)] $(grep -E 'Successful call|Failed call' "$f" | tr -s ' ' | tr '\n' ' ')"
	done
	# One line per event (the messages they quote are in the ladders).
	for f in "$dir"/uac.errors "$dir"/uas.errors; do
		[ -s "$f" ] || continue
		echo "[$(basename "$f")]"
		grep -aE '^[0-9]{4}-[0-9]{2}-[0-9]{2}' "$f" | cut -f2- | sed -E 's/\t[0-9.]+: / /' | cut -c1-220 | head -n 15
	done
	for f in "$dir"/uac.messages "$dir"/uas.messages; do
		[ -s "$f" ] || continue
		echo "[$(basename "$f" .messages) ladder]"
		if [ "$(calls_ladder "$f" | wc -l)" -ge 3 ]; then
			calls_ladder "$f"
		else
			tail -n 60 "$f"
		fi
	done
	calls_daemon_tail
}

# calls_run SCENARIO: one caller/callee pair, CALLS_PER calls; both SIPp must exit 0.
calls_run() {
	local name=$1 dir="$WORK/$1" user="e2e_$1" mode uac_mode common uas_pid uac_rc=0 uas_rc="" why="" margin
	mkdir -p "$dir"
	cp "$SIPP_DIR/${name}_uac.xml" "$SIPP_DIR/${name}_uas.xml" "$dir/"
	if [ "$CALLS_TRANSPORT" = tcp ]; then
		mode=t1
		uac_mode=t1
		# No retransmissions to linger for; and a peer SIPp that exits closes the
		# connection under a call still lingering, which SIPp counts as failed.
		sed -i '/^  <pause\/>$/d' "$dir/${name}_uac.xml" "$dir/${name}_uas.xml"
	else
		mode=u1
		uac_mode=un
	fi
	common=(-nostdin -timeout "${CALLS_TIMEOUT}s" -timeout_error -recv_timeout "$((CALLS_TIMEOUT * 800))"
		-max_invite_retrans 7 -max_non_invite_retrans 10 -d "$CALLS_LINGER" -m "$CALLS_PER"
		-set gw "$CALLS_GW" -set strict "$CALLS_STRICT")
	[ "$CALLS_LOSS" != 0 ] && common+=(-lost "$CALLS_LOSS")
	(cd "$dir" && exec timeout $((CALLS_TIMEOUT + 15)) sipp -sf "$dir/${name}_uas.xml" "${common[@]}" \
		-t "$mode" -i "$CALLS_UAS_IP" -p "$CALLS_UAS_PORT" -set user "$user" -set direct "$E2E_DIRECT" \
		-trace_err -error_file "$dir/uas.errors" -trace_msg -message_file "$dir/uas.messages" \
		-trace_logs -log_file "$dir/uas.log" -trace_calldebug -calldebug_file "$dir/uas.calldebug" >"$dir/uas.out" 2>&1) &
	uas_pid=$!
	CHILD_PIDS+=("$uas_pid")
	if ! calls_wait_bound "$CALLS_UAS_IP" "$CALLS_UAS_PORT"; then
		why="callee did not start listening"
	else
		(cd "$dir" && exec timeout $((CALLS_TIMEOUT + 15)) sipp -sf "$dir/${name}_uac.xml" "${common[@]}" \
			-t "$uac_mode" -max_socket 64 -i "$CALLS_UAC_IP" -p "$CALLS_UAC_PORT" -s "$user" -r 2 -l "$CALLS_PER" \
			-cid_str "$CALLS_CID" -key xtwilio "$CALLS_XTWILIO" \
			-trace_err -error_file "$dir/uac.errors" -trace_msg -message_file "$dir/uac.messages" \
			-trace_logs -log_file "$dir/uac.log" -trace_calldebug -calldebug_file "$dir/uac.calldebug" "$CALLS_TARGET" >"$dir/uac.out" 2>&1) || uac_rc=$?
	fi
	# The callee ends on its own once its last call has lingered; give it that and a margin
	# (a short one when the caller failed: the callee then usually waits for nothing).
	margin=10
	[ "$uac_rc" != 0 ] && margin=2
	for _ in $(seq 1 $(((CALLS_LINGER / 1000 + margin) * 10))); do
		kill -0 "$uas_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$uas_pid" 2>/dev/null; then
		uas_rc="still running"
		calls_stop_sipp "$uas_pid"
	fi
	wait "$uas_pid" 2>/dev/null && uas_rc=${uas_rc:-0} || uas_rc=${uas_rc:-$?}
	[ -z "$why" ] && [ "$uac_rc" != 0 ] && why="caller exited with $uac_rc"
	[ -z "$why" ] && [ "$uas_rc" != 0 ] && why="callee exited with $uas_rc"
	cat "$dir"/uac.log "$dir"/uas.log 2>/dev/null | sed "s/^/  note ($name): /" | sort -u
	if [ -n "$why" ]; then
		echo "FAIL: $name ($CALLS_PER call(s)): $why"
		calls_report_failure "$name" "$dir"
		FAILED+=("$name")
	else
		echo "ok: $name ($CALLS_PER call(s))"
		PASSED+=("$name")
	fi
}

calls_scenarios() {
	if [ -n "${E2E_SCENARIOS:-}" ]; then
		echo "$E2E_SCENARIOS"
	else
		(cd "$SIPP_DIR" && ls -- *_uac.xml | sed 's/_uac\.xml$//')
	fi
}

# With loss, a scenario that fails is played once more, and only a second failure
# counts: SIPp scenarios cannot express every legal reordering 10% loss makes (a
# BYE overtaking the re-sent ACK of a lost one sends SIPp's global-optional ACK
# back to "wait for BYE"). The first failure's ladder is still printed above.
calls_run_all() {
	local s nfail
	for s in $(calls_scenarios); do
		[ -f "$SIPP_DIR/${s}_uas.xml" ] || calls_die "no scenario pair '$s' in $SIPP_DIR"
		nfail=${#FAILED[@]}
		calls_run "$s"
		if [ "$CALLS_LOSS" != 0 ] && [ ${#FAILED[@]} -gt "$nfail" ]; then
			echo "note: $s failed under loss; playing it once more (a second failure counts)"
			unset 'FAILED[-1]'
			rm -rf "${WORK:?}/$s"
			calls_wait_quiet
			calls_run "$s"
		fi
		calls_wait_quiet
	done
}

# Under loss the edge may still retransmit (a BYE whose 200 was lost...) after a
# scenario's SIPp pair is done; the next pair would get those strays on the same
# ports, and a SIPp callee counts each stray Call-ID against its -m. Wait (bounded)
# until the edge has no live transaction before the next pair starts.
calls_wait_quiet() {
	[ "$CALLS_LOSS" != 0 ] && [ "$E2E_DIRECT" != 1 ] || return 0
	local deadline=$((SECONDS + 20)) n
	while [ $SECONDS -lt $deadline ]; do
		n=$(calls_fetch_metrics 2>/dev/null | awk '$1 == "ixedge_transactions" { print $2 }')
		[ "$n" = 0 ] && return 0
		sleep 0.5
	done
	echo "note: the edge still had live transactions 20 s after a scenario"
}

calls_fetch_metrics() {
	if command -v curl >/dev/null; then
		curl -sf --max-time 2 "http://127.0.0.1:$CALLS_ADMIN_PORT/metrics"
	else
		python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' \
			"http://127.0.0.1:$CALLS_ADMIN_PORT/metrics"
	fi
}

# Live transactions, dialogs and calls must all be back to 0 once the calls are over.
calls_check_idle() {
	[ "$E2E_DIRECT" = 1 ] && return 0
	local deadline=$((SECONDS + ${E2E_IDLE_SECONDS:-45})) text values=""
	while :; do
		text=$(calls_fetch_metrics 2>/dev/null) || text=""
		values=$(printf '%s\n' "$text" | awk '
			$1 == "ixedge_transactions" || $1 == "ixedge_dialogs" || $1 == "ixedge_calls" { v[$1] = $2 }
			END { printf "transactions=%s dialogs=%s calls=%s", v["ixedge_transactions"], v["ixedge_dialogs"], v["ixedge_calls"] }')
		if [ "$values" = "transactions=0 dialogs=0 calls=0" ]; then
			echo "ok: /metrics idle after the calls ($values)"
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "FAIL: /metrics not idle ${E2E_IDLE_SECONDS:-45} s after the calls: ${values}"
			[ -z "$text" ] && echo "  (no answer from http://127.0.0.1:$CALLS_ADMIN_PORT/metrics)"
			printf '%s\n' "$text" | grep -E '^ixedge_(transactions|dialogs|calls)' | head -n 10
			calls_daemon_tail
			FAILED+=("metrics-idle")
			return 0
		fi
		sleep 1
	done
}

calls_finish() {
	local rc=0
	if [ -n "$DPID" ]; then
		if ! kill -0 "$DPID" 2>/dev/null; then
			echo "FAIL: ixedge died during the calls"
			calls_daemon_tail
			FAILED+=("ixedge-alive")
		else
			kill -TERM "$DPID"
			for _ in $(seq 1 50); do
				kill -0 "$DPID" 2>/dev/null || break
				sleep 0.1
			done
			wait "$DPID" 2>/dev/null || rc=$?
			kill -0 "$DPID" 2>/dev/null && rc="still running"
			if [ "$rc" != 0 ]; then
				echo "FAIL: ixedge exit status after SIGTERM: $rc"
				calls_daemon_tail
				FAILED+=("ixedge-exit")
			fi
			DPID=""
		fi
	fi
	echo "calls/$CALLS_NAME: ${#PASSED[@]} passed, ${#FAILED[@]} failed${FAILED[*]:+: ${FAILED[*]}}"
	[ ${#FAILED[@]} -eq 0 ]
}
