#!/usr/bin/env bash
# Signalling benchmark: SIPp caller -> ixedge (B2BUA) -> SIPp callee, basic calls at fixed
# rates, then the same load through Kamailio 5.6 as a stateful tm proxy for a ratio, then
# the memory of many calls held open.  Prints numbers; never fails on them.
#
# usage: bench/signalling/run.sh BUILD_DIR            the whole benchmark
#        bench/signalling/run.sh --probe BUILD_DIR    exit 0 if BUILD_DIR/ixedge completes a call
#
# Environment (all bounded; defaults in brackets):
#   SIG_RATES "200 500"   call rates (calls/s), each run SIG_SECONDS [BENCH_SECONDS or 20] long
#   SIG_CALL_MS 1000      how long each call stays up in the rate runs
#   SIG_HELD 10000        calls held open at once for the memory test (0 skips it)
#   SIG_KAMAILIO 1        0 skips Kamailio; otherwise it is installed with apt-get if missing
#   SIG_KAMAILIO_CHILDREN 2   Kamailio UDP worker processes
#   SIG_SDP 1             0: INVITEs and 200s carry no SDP, so ixedge anchors no media (signalling
#                         alone, like for like with Kamailio as a proxy); 1: SDP, media anchored
# Exit status: 0 when every part ran (whatever the numbers), 1 when one could not run.
set -uo pipefail

probe=0
if [ "${1:-}" = --probe ]; then
	probe=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: bench/signalling/run.sh [--probe] BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
IXEDGE="$BUILD/ixedge"
RATES=${SIG_RATES:-200 500}
SECONDS_PER_RATE=${SIG_SECONDS:-${BENCH_SECONDS:-20}}
CALL_MS=${SIG_CALL_MS:-1000}
HELD=${SIG_HELD:-10000}
KAMAILIO=${SIG_KAMAILIO:-1}
KCHILDREN=${SIG_KAMAILIO_CHILDREN:-2}
SDP=${SIG_SDP:-1}
GW=127.0.40.64 # the benchmark's own gateway address, apart from the tests' and the lab's
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/ixedge-bench-sig.XXXXXX)
PIDS=()
problems=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.3
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pick_ports COUNT HOST...: COUNT ports free for UDP and TCP (and port+1) on every HOST.
pick_ports() {
	python3 "$SRC/scripts/free_ports.py" --blocks "$1" 33000-40000 2 "${@:2}"
}

# tree PID: PID and all its descendants.
tree() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1" 2>/dev/null); do
		tree "$c"
	done
}

# cpu_ticks PID...: user + system clock ticks of those processes (fields 14 and 15 of stat,
# counted after the ")" that ends the command name).
cpu_ticks() {
	local p total=0 rest
	for p in "$@"; do
		rest=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		set -- $rest
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# pss_kib PID...: proportional set size, so that shared memory is counted once.
pss_kib() {
	local p total=0 v
	for p in "$@"; do
		v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

metric() {
	curl -sf --max-time 2 "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null |
		awk -v m="$1" '$1 == m { print $2 }'
}

# SIPp's final screen: the cumulative column of a counter.
sipp_count() { awk -F'|' -v n="$2" '$1 ~ n { v = $3 } END { gsub(/ /, "", v); print v + 0 }' "$1"; }

# SIPp's final scenario screen: retransmissions summed over its messages.
sipp_retrans() {
	awk '/Scenario Screen/ { n = 0 } $1 ~ /^(-+>|<-+)$/ && $4 ~ /^[0-9]+$/ { n += $4 } END { print n + 0 }' "$1"
}

# scenario NAME: the SIPp scenario file to use; without SDP (SIG_SDP=0) a copy with the body and
# its Content-Type removed (SIPp's [len] then gives Content-Length: 0).
scenario() {
	if [ "$SDP" = 0 ]; then
		awk '/Content-Type: application\/sdp/ { next } /^ *v=0/ { body = 1 } body && /^ *$/ { body = 0 }
		     !body { print }' "$HERE/$1.xml" >"$WORK/$1-nosdp.xml"
		echo "$WORK/$1-nosdp.xml"
	else
		echo "$HERE/$1.xml"
	fi
}

start_uas() {
	(cd "$WORK" && exec timeout 600 sipp -sf "$(scenario uas)" -i 127.0.0.1 -p "$UAS_PORT" -t u1 \
		-nostdin -timeout 590s -max_recv_loops 5000 -max_sched_loops 5000 >"$WORK/uas.out" 2>&1) &
	UAS_PID=$!
	PIDS+=("$UAS_PID")
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hlun "sport = :$UAS_PORT" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	echo "callee (SIPp) did not start" >&2
	return 1
}

stop_pid() {
	local child
	child=$(pgrep -P "$1" 2>/dev/null | head -n 1)
	kill -INT ${child:-$1} 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

write_ixedge_config() {
	awk '
		/^[A-Za-z_]+:/ { skip = ($1 == "edges:" || $1 == "connections:" || $1 == "routes:" || $1 == "admin:" || $1 == "data_dir:" || $1 == "log:") }
		/^#/ && skip { next }
		!skip { print }
	' "$SRC/etc/lab.yaml" >"$1"
	cat >>"$1" <<EOF

# ---- generated by bench/signalling/run.sh
log:
  level: warn
edges:
  - name: ashburn-ix
    kind: interconnect
    region: us-east
    gateways:
      - {address: $GW, udp: $EDGE_PORT, tcp: $EDGE_PORT, tls: $((EDGE_PORT + 1))}
    media:
      addresses: [127.86.40.1]
      ports: 10000-60000
connections: []
admin:
  listen: 127.0.0.1:$ADMIN_PORT
data_dir: $WORK/data
# The held calls send no RTP: no media timeout while they are held.
media: {timeout: 0}
routes:
  - match: "*"
    target: "sip:{user}@127.0.0.1:$UAS_PORT"
EOF
}

start_ixedge() {
	write_ixedge_config "$WORK/ixedge.yaml"
	"$IXEDGE" -c "$WORK/ixedge.yaml" --data-dir "$WORK/data" >"$WORK/ixedge.out" 2>"$WORK/ixedge.log" &
	TARGET_PID=$!
	PIDS+=("$TARGET_PID")
	# Ready when the admin listener answers (the "ready" line is at info, below warn).
	for _ in $(seq 1 200); do
		curl -sf --max-time 1 "http://127.0.0.1:$ADMIN_PORT/health" >/dev/null 2>&1 && return 0
		kill -0 "$TARGET_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "ixedge did not start:" >&2
	tail -n 20 "$WORK/ixedge.log" >&2
	return 1
}

kamailio_mpath() {
	local d
	for d in /usr/lib/x86_64-linux-gnu/kamailio/modules /usr/lib/kamailio/modules \
		/usr/lib/$(uname -m)-linux-gnu/kamailio/modules; do
		[ -f "$d/tm.so" ] && echo "$d/" && return 0
	done
	return 1
}

ensure_kamailio() {
	command -v kamailio >/dev/null && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "kamailio is not installed and this is not root: skipping the Kamailio baseline" >&2
		echo "  (install the Debian package 'kamailio' to get it)" >&2
		return 1
	fi
	# Only this benchmark needs Kamailio, so it is not in scripts/deps.sh.  The Debian
	# package does not start a service by itself (RUN_KAMAILIO=no in /etc/default/kamailio).
	echo "installing the Debian package kamailio (used only by this benchmark) ..." >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends kamailio >&2 ||
		{
			echo "apt-get install kamailio failed: skipping the Kamailio baseline" >&2
			return 1
		}
}

start_kamailio() {
	local mpath
	mpath=$(kamailio_mpath) || {
		echo "Kamailio modules (tm.so) not found" >&2
		return 1
	}
	sed -e "s|@LISTEN@|127.0.0.1:$KAM_PORT|" -e "s|@CALLEE@|127.0.0.1:$UAS_PORT|" \
		-e "s|@CHILDREN@|$KCHILDREN|" -e "s|@MPATH@|$mpath|" "$HERE/kamailio.cfg" >"$WORK/kamailio.cfg"
	kamailio -c -f "$WORK/kamailio.cfg" >"$WORK/kamailio.check" 2>&1 || {
		echo "kamailio rejects the configuration:" >&2
		tail -n 20 "$WORK/kamailio.check" >&2
		return 1
	}
	kamailio -f "$WORK/kamailio.cfg" -DD -E -m 256 -M 16 -w "$WORK" >"$WORK/kamailio.log" 2>&1 &
	TARGET_PID=$!
	PIDS+=("$TARGET_PID")
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hlun "sport = :$KAM_PORT" 2>/dev/null)" ] && [ "$(tree "$TARGET_PID" | wc -l)" -gt "$KCHILDREN" ] &&
			return 0
		kill -0 "$TARGET_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "kamailio did not start:" >&2
	tail -n 20 "$WORK/kamailio.log" >&2
	return 1
}

# run_calls TARGET_ADDR RATE COUNT CALL_MS OUT [PORT]: the SIPp caller, bounded by count and time.
run_calls() {
	local limit=$(($2 * ($4 / 1000 + 4)))
	[ "$limit" -lt 100 ] && limit=100
	(cd "$WORK" && timeout $(($3 / $2 + $4 / 1000 + 120)) sipp -sf "$(scenario uac)" -i 127.0.0.1 \
		-p "${6:-$UAC_PORT}" -t u1 -s bench -r "$2" -m "$3" -l "$limit" -d "$4" -nostdin \
		-timeout $(($3 / $2 + $4 / 1000 + 90))s -max_recv_loops 5000 -max_sched_loops 5000 \
		"$1" >"$5" 2>&1)
}

# rate_run NAME RATE: one measured run against the target that is running; prints a row.
rate_run() {
	local name=$1 rate=$2 count=$(($2 * SECONDS_PER_RATE)) pids t0 t1 ok failed retrans cpu_us rss idle
	# What the target burns doing nothing (timer processes, polling), for the reader to weigh.
	pids=$(tree "$TARGET_PID")
	t0=$(cpu_ticks $pids)
	sleep 3
	idle=$((($(cpu_ticks $pids) - t0) * 1000 / CLK_TCK / 3))
	t0=$(cpu_ticks $pids)
	run_calls "$TARGET_ADDR" "$rate" "$count" "$CALL_MS" "$WORK/uac-$name-$rate.out"
	sleep 0.5
	pids=$(tree "$TARGET_PID")
	t1=$(cpu_ticks $pids)
	ok=$(sipp_count "$WORK/uac-$name-$rate.out" "Successful call")
	failed=$(sipp_count "$WORK/uac-$name-$rate.out" "Failed call")
	retrans=$(sipp_retrans "$WORK/uac-$name-$rate.out")
	if [ "$name" = ixedge ]; then
		rss="$(($(status_kib "$TARGET_PID" VmHWM) / 1024)) MiB peak RSS"
	else
		rss="$(($(pss_kib $pids) / 1024)) MiB PSS, $(echo "$pids" | wc -w) processes"
	fi
	if [ "$ok" -gt 0 ]; then
		cpu_us=$(((t1 - t0) * 1000000 / CLK_TCK / ok))
	else
		cpu_us=-
	fi
	printf '  %-9s %6d %6d %6d  %7s  %8s us  %7s s  %s\n' "$name" "$count" "$ok" "$failed" \
		"$(awk -v o="$ok" -v c="$count" 'BEGIN { printf "%.2f%%", c ? 100 * o / c : 0 }')" \
		"$cpu_us" "$(awk -v t=$((t1 - t0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')" \
		"$rss, idle $idle ms CPU/s, $retrans retransmissions"
	eval "CPU_US_$name=$cpu_us"
}

# --------------------------------------------------------------------------- start

command -v sipp >/dev/null || {
	echo "sipp not installed (scripts/deps.sh installs sip-tester)" >&2
	exit 1
}
[ -x "$IXEDGE" ] || {
	echo "$IXEDGE not built" >&2
	exit 1
}
read -r EDGE_PORT UAS_PORT UAC_PORT ADMIN_PORT KAM_PORT UAC2_PORT <<<"$(pick_ports 6 "$GW" 127.0.0.1)" || exit 1
[ -n "$UAC2_PORT" ] || exit 1
TARGET_ADDR="$GW:$EDGE_PORT"

if [ $probe = 1 ]; then
	start_uas && start_ixedge || exit 1
	run_calls "$TARGET_ADDR" 1 1 0 "$WORK/probe.out" && [ "$(sipp_count "$WORK/probe.out" "Successful call")" = 1 ]
	exit $?
fi

echo "signalling: SIPp caller -> target -> SIPp callee, UDP on loopback, basic calls of $CALL_MS ms"
if [ "$SDP" = 0 ]; then
	echo "  no SDP (SIG_SDP=0): ixedge anchors no media, signalling alone"
else
	echo "  with SDP: ixedge anchors each call's media (two port pairs) and writes its call records"
fi
echo "  ixedge: $IXEDGE (B2BUA, log level warn); caller 127.0.0.1:$UAC_PORT, callee 127.0.0.1:$UAS_PORT"
echo "  cpu/call: the target's user+system CPU time (/proc/PID/stat, all its processes) over the run / calls that completed"
echo "  SIPp caller and callee share the machine's $(nproc) CPUs with the target"

have_kamailio=0
if [ "$KAMAILIO" = 1 ]; then
	if ensure_kamailio; then
		have_kamailio=1
		echo "  kamailio: $(kamailio -v 2>/dev/null | head -n 1) (stateful tm proxy, record-route, $KCHILDREN UDP workers)"
	else
		problems+=("kamailio")
	fi
fi

for rate in $RATES; do
	echo
	echo "== $rate calls/s for $SECONDS_PER_RATE s ($((rate * SECONDS_PER_RATE)) calls)"
	printf '  %-9s %6s %6s %6s  %8s  %11s  %9s  %s\n' target calls ok failed success cpu/call "cpu total" memory
	unset CPU_US_ixedge CPU_US_kamailio
	if start_uas && start_ixedge; then
		TARGET_ADDR="$GW:$EDGE_PORT"
		rate_run ixedge "$rate"
	else
		problems+=("ixedge@$rate")
	fi
	stop_pid "$TARGET_PID"
	stop_pid "$UAS_PID"
	if [ $have_kamailio = 1 ]; then
		if start_uas && start_kamailio; then
			TARGET_ADDR="127.0.0.1:$KAM_PORT"
			rate_run kamailio "$rate"
		else
			problems+=("kamailio@$rate")
		fi
		stop_pid "$TARGET_PID"
		stop_pid "$UAS_PID"
	fi
	if [ -n "${CPU_US_ixedge:-}" ] && [ -n "${CPU_US_kamailio:-}" ] && [ "$CPU_US_ixedge" != - ] &&
		[ "$CPU_US_kamailio" != - ] && [ "$CPU_US_kamailio" -gt 0 ]; then
		echo "  ratio ixedge/kamailio CPU per call: $(awk -v a="$CPU_US_ixedge" -v b="$CPU_US_kamailio" 'BEGIN { printf "%.2f", a / b }') (issue 3 target: at most 0.50)"
	fi
done

# wait_settled WANT SECONDS: until /metrics shows at least WANT calls and no transaction
# (the setup's transactions linger 64*T1 = 32 s, RFC 3261 / RFC 6026), at most SECONDS.
wait_settled() {
	local deadline=$((SECONDS + $2)) calls tx
	UP_RSS=""
	while [ $SECONDS -lt "$deadline" ]; do
		sleep 1
		calls=$(metric ixedge_calls)
		tx=$(metric ixedge_transactions)
		if [ -z "$UP_RSS" ] && [ "${calls:-0}" -ge "$1" ]; then
			UP_RSS=$(status_kib "$TARGET_PID" VmRSS)
			UP_CALLS=$calls
			UP_TX=$tx
		fi
		[ -n "$UP_RSS" ] && [ "${tx:-1}" = 0 ] && break
	done
	SET_RSS=$(status_kib "$TARGET_PID" VmRSS)
	SET_CALLS=$(metric ixedge_calls)
	SET_TX=$(metric ixedge_transactions)
}

if [ "$HELD" -gt 0 ]; then
	echo
	ramp=500
	half=$((HELD / 2))
	rest=$((HELD - half))
	phase_s=$((half / ramp + 40))
	echo "== $HELD calls held open through ixedge: $half, then $rest more, set up at $ramp calls/s"
	echo "  RSS is read once each half is up and its setup transactions have expired; glibc keeps"
	echo "  freed memory, so the second half reuses what the first half's transactions left"
	if start_uas && start_ixedge; then
		TARGET_ADDR="$GW:$EDGE_PORT"
		run_calls "$TARGET_ADDR" 200 200 0 "$WORK/warmup.out"
		wait_settled 0 40
		rss0=$SET_RSS
		run_calls "$TARGET_ADDR" "$ramp" "$half" $(((2 * phase_s + 10) * 1000)) "$WORK/held1.out" &
		PIDS+=("$!")
		held1=$!
		wait_settled "$half" "$phase_s"
		rss_a=$SET_RSS calls_a=$SET_CALLS tx_a=$SET_TX
		run_calls "$TARGET_ADDR" "$ramp" "$rest" $(((phase_s + 10) * 1000)) "$WORK/held2.out" "$UAC2_PORT" &
		PIDS+=("$!")
		held2=$!
		wait_settled "$HELD" "$phase_s"
		rss_b=$SET_RSS calls_b=$SET_CALLS tx_b=$SET_TX
		wait "$held1" "$held2"
		peak=$(status_kib "$TARGET_PID" VmHWM)
		ok=$(($(sipp_count "$WORK/held1.out" "Successful call") + $(sipp_count "$WORK/held2.out" "Successful call")))
		failed=$(($(sipp_count "$WORK/held1.out" "Failed call") + $(sipp_count "$WORK/held2.out" "Failed call")))
		per() { [ "${2:-0}" -gt 0 ] && echo "$(($1 * 1024 / $2)) bytes per call" || echo "-"; }
		echo "  after 200 warm-up calls: RSS $((rss0 / 1024)) MiB"
		echo "  all $HELD up (${UP_CALLS:-?} calls, ${UP_TX:-?} transactions): RSS $((${UP_RSS:-0} / 1024)) MiB, $(per $((${UP_RSS:-0} - rss0)) "$HELD")"
		echo "  first half settled (${calls_a:-?} calls, ${tx_a:-?} transactions): RSS $((rss_a / 1024)) MiB, $(per $((rss_a - rss0)) "$half")"
		echo "  all settled (${calls_b:-?} calls, ${tx_b:-?} transactions): RSS $((rss_b / 1024)) MiB, $(per $((rss_b - rss0)) "$HELD")"
		echo "  second half alone: $(per $((rss_b - rss_a)) "$rest") (issue 3 target: under 8 KiB = 8192)"
		echo "  peak RSS $((peak / 1024)) MiB; calls completed $ok, failed $failed"
	else
		problems+=("held")
	fi
	stop_pid "$TARGET_PID"
	stop_pid "$UAS_PID"
fi

if [ ${#problems[@]} -ne 0 ]; then
	echo "signalling: could not run: ${problems[*]}" >&2
	exit 1
fi
exit 0
