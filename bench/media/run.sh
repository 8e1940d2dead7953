#!/usr/bin/env bash
# Media benchmark: N bidirectional 20 ms G.711 streams (50 packets/s each way, 172-byte RTP)
# through ixedge's media engine and, in the same run, through rtpengine (userspace forwarding,
# driven over its ng protocol); CPU per 1,000 relayed packets, loss, and the largest N with
# under 0.1% loss.  Prints numbers; never fails on them.
#
# usage: bench/media/run.sh BUILD_DIR
#
# Environment (all bounded; defaults in brackets):
#   MEDIA_STEPS "250 500 1000 2000 3000 4000"   stream counts, in order; a relay stops after
#                       its first step with more than 0.1% loss
#   MEDIA_SECONDS 10    measured seconds per step (BENCH_SECONDS caps it), after MEDIA_WARMUP [2]
#   MEDIA_RTPENGINE 1   0 skips rtpengine; otherwise it is installed with apt-get if missing
#   MEDIA_RELAY_CPU 0   the core both relays are pinned to (the generator takes another)
#   MEDIA_KEEP 0        1 keeps the work directory (logs, the generator's raw result lines)
# Exit status: 0 when the benchmark ran (whatever the numbers), 1 when a tool is missing or a
# relay could not start.
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: bench/media/run.sh BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
RELAY_BIN="$BUILD/bench_media_relay"
GEN_BIN="$BUILD/bench_media_gen"
STEPS=${MEDIA_STEPS:-250 500 1000 2000 3000 4000}
SECS=${MEDIA_SECONDS:-10}
[ -n "${BENCH_SECONDS:-}" ] && [ "$BENCH_SECONDS" -lt "$SECS" ] && SECS=$BENCH_SECONDS
WARM=${MEDIA_WARMUP:-2}
RTPENGINE=${MEDIA_RTPENGINE:-1}
RELAY_CPU=${MEDIA_RELAY_CPU:-0}
IX_ADDR=127.86.48.1 # ixedge's pool: the benchmark's own, apart from the lab's 127.86.128.0/18
RE_ADDR=127.86.49.1 # rtpengine's interface
PORTS=20000-39999   # both relays' port range (2 pairs per stream: 5,000 streams at most)
LOSS_MAX=0.1        # percent
WORK=$(mktemp -d /tmp/ixedge-bench-media.XXXXXX)
PIDS=()

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
	if [ "${MEDIA_KEEP:-0}" = 1 ]; then echo "media: logs and results kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pick_ports COUNT: COUNT even ports, with the next odd one, free for UDP on every address
# (the generator binds the wildcard address), outside the relays' range.
pick_ports() {
	python3 "$HERE/../../scripts/free_ports.py" --udp-only --blocks "$1" 41000-44000 2 0.0.0.0
}

ensure_rtpengine() {
	command -v rtpengine >/dev/null && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "rtpengine is not installed and this is not root: skipping the rtpengine baseline" >&2
		echo "  (install the Debian package 'rtpengine-daemon' to get it)" >&2
		return 1
	fi
	# Only this benchmark needs rtpengine, so it is not in scripts/deps.sh.  In a container
	# without an init system the package's service is not started (policy-rc.d).
	echo "installing the Debian package rtpengine-daemon (used only by this benchmark) ..." >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends rtpengine-daemon >&2 ||
		{
			echo "apt-get install rtpengine-daemon failed: skipping the rtpengine baseline" >&2
			return 1
		}
}

# wait_for TEST SECONDS PID: until TEST succeeds, PID dies (1) or time runs out (1).
wait_for() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		eval "$1" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# start_ixedge N: the relay host on the relay core, its target file in $WORK/targets.
start_ixedge() {
	rm -f "$WORK/targets"
	taskset -c "$RELAY_CPU" "$RELAY_BIN" -n "$1" -A "$PA" -B "$PB" -o "$WORK/targets" \
		-a "$IX_ADDR" -r "$PORTS" -T $((WARM + SECS + 120)) >"$WORK/ixedge.out" 2>"$WORK/ixedge.log" &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	wait_for '[ -s "$WORK/targets" ] && grep -q ready "$WORK/ixedge.out"' 60 "$RELAY_PID" && return 0
	echo "ixedge relay host did not start with $1 streams:" >&2
	tail -n 5 "$WORK/ixedge.log" >&2
	return 1
}

# start_rtpengine N: rtpengine on the relay core, one worker thread, no kernel forwarding;
# the N calls set up over ng.
start_rtpengine() {
	rm -f "$WORK/targets"
	taskset -c "$RELAY_CPU" rtpengine --foreground --table=-1 --interface="$RE_ADDR" \
		--listen-ng="127.0.0.1:$NG_PORT" --port-min="${PORTS%-*}" --port-max="${PORTS#*-}" \
		--num-threads=1 --log-stderr --log-level=4 >"$WORK/rtpengine.log" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	if ! wait_for '[ -n "$(ss -Hlun "sport = :$NG_PORT" 2>/dev/null)" ]' 20 "$RELAY_PID"; then
		echo "rtpengine did not start:" >&2
		tail -n 5 "$WORK/rtpengine.log" >&2
		return 1
	fi
	python3 "$HERE/ng.py" "127.0.0.1:$NG_PORT" "$1" "$PA" "$PB" "$WORK/targets" >"$WORK/ng.out" 2>&1 && return 0
	echo "rtpengine: setting up $1 calls over ng failed:" >&2
	tail -n 5 "$WORK/ng.out" "$WORK/rtpengine.log" >&2
	return 1
}

# cpu_jiffies CPU: "busy total" clock ticks of one core from /proc/stat.
cpu_jiffies() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# busy_pct BEFORE AFTER: how busy the core was in between, whoever ran on it.
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'; }

val() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# measure NAME N: one step against the relay that is running; prints a row, sets R_<name>_<n>_*.
measure() {
	local name=$1 n=$2 out r0 g0 notes
	r0=$(cpu_jiffies "$RELAY_CPU") g0=$(cpu_jiffies "$GEN_CPU")
	out=$(taskset -c "$GEN_CPU" "$GEN_BIN" -n "$n" -A "$PA" -B "$PB" -t "$WORK/targets" \
		-p "$RELAY_PID" -w "$WARM" -d "$SECS" 2>&1) || {
		echo "  $name: generator failed: $out" >&2
		return 1
	}
	echo "$out" >>"$WORK/results.txt"
	# The cores' total load shows other processes on the machine; the generator falling behind
	# (its own CPU near a core, late ticks, drops in its socket buffers) makes the loss its own.
	local br bg
	br=$(busy_pct "$r0" "$(cpu_jiffies "$RELAY_CPU")") bg=$(busy_pct "$g0" "$(cpu_jiffies "$GEN_CPU")")
	notes="cores $br%/$bg% busy"
	# Other processes took more than 15% of a core: the step says little about the relay.
	CONTAM=$(awk -v br="$br" -v bg="$bg" -v r="$(val "$out" relay_cpu_pct)" -v g="$(val "$out" gen_cpu_pct)" \
		'BEGIN { print (br - r > 15 || bg - g > 15) ? 1 : 0 }')
	[ "$CONTAM" = 1 ] && notes+=" (OTHERS BUSY)"
	notes+=", late ticks $(val "$out" ticks_late), late/dup $(val "$out" late_or_dup), misrouted $(val "$out" misrouted)"
	if awk -v c="$(val "$out" gen_cpu_pct)" -v l="$(val "$out" ticks_late)" -v d="$(val "$out" gen_rx_drops)" \
		-v t=$((SECS * 1000)) 'BEGIN { exit !(c > 90 || l > t / 20 || d > 0) }'; then
		notes+=", GENERATOR-BOUND (gen drops $(val "$out" gen_rx_drops))"
		eval "GB_${name}_$n=' (gen-bound)'"
	fi
	printf '  %-9s %6d %8d %10s %8s %9s %8s %8s %9s %s\n' "$name" "$n" "$(val "$out" recv)" \
		"$(val "$out" relay_cpu_ms_per_1000)" "$(val "$out" loss_pct)%" "$(val "$out" relay_cpu_pct)%" \
		"$(val "$out" gen_cpu_pct)%" "$(val "$out" lat_p50_us)" "$(val "$out" lat_p99_us)" "$notes"
	eval "CPU_${name}_$n=$(val "$out" relay_cpu_ms_per_1000) LOSS_${name}_$n=$(val "$out" loss_pct)"
}

# measure_step NAME N: measure, and once more when loss came with other processes on the cores.
measure_step() {
	measure "$1" "$2" || return 1
	if [ "$CONTAM" = 1 ] && over_loss "$(eval echo "\${LOSS_$1_$2}")"; then
		echo "  (other processes were on the cores during that step: measuring it again)"
		measure "$1" "$2"
	fi
}

over_loss() { awk -v l="$1" -v m="$LOSS_MAX" 'BEGIN { exit !(l > m) }'; }

# --------------------------------------------------------------------------- start

for tool in taskset python3 ss; do
	command -v $tool >/dev/null || {
		echo "$tool not installed (scripts/deps.sh)" >&2
		exit 1
	}
done
for b in "$RELAY_BIN" "$GEN_BIN"; do
	[ -x "$b" ] || {
		echo "$b not built (cmake -DIXEDGE_BENCH=ON)" >&2
		exit 1
	}
done
if [ "$(nproc)" -ge 2 ]; then
	GEN_CPU=$(((RELAY_CPU + 1) % $(nproc)))
else
	echo "media: only one CPU: relay and generator share it (the CPU figures still hold)" >&2
	GEN_CPU=$RELAY_CPU
fi
read -r PA NG_PORT <<<"$(pick_ports 2)" || exit 1
[ -n "$NG_PORT" ] || exit 1
PB=$((PA + 1))
# Each relay holds 4 sockets per stream (RTP and RTCP on both sides): stay under the fd limit.
max_n=$((($(ulimit -Hn) - 256) / 4))

have_rtpengine=0
if [ "$RTPENGINE" = 1 ] && ensure_rtpengine; then
	have_rtpengine=1
fi

echo "media: N bidirectional PCMU streams, 20 ms packets (172 bytes: 12 RTP + 160), 50/s each way"
echo "  generator: $GEN_BIN on CPU $GEN_CPU, stream i from 127.88.X.Y:$PA (side A) and :$PB (side B)"
echo "  relays on CPU $RELAY_CPU, one at a time, fresh per step; ${WARM} s warm-up, then $SECS s measured"
echo "  ixedge: $RELAY_BIN (the daemon's media engine, 1 media thread, RTP+RTCP sockets, pool $IX_ADDR $PORTS)"
if [ $have_rtpengine = 1 ]; then
	echo "  rtpengine: $(rtpengine --version 2>&1 | head -n 1) userspace (--table=-1), --num-threads=1, interface $RE_ADDR, calls set up over ng"
fi
echo "  cpu/1000: relay's utime+stime (/proc/PID/stat, all threads) over the measured seconds per 1,000 packets relayed"
echo "  loss: packets sent in the measured seconds and not received by the other side (after a 0.5 s drain)"
echo "  notes: how busy the relay/generator cores were (all processes; others share this machine)"
echo "  load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '  %-9s %6s %8s %10s %9s %9s %8s %8s %9s %s\n' relay streams relayed cpu/1000 loss "relay cpu" "gen cpu" "p50 us" "p99 us" notes

running_ix=1
running_re=$have_rtpengine
failed=()
steps_run=()
for n in $STEPS; do
	if [ "$n" -gt "$max_n" ]; then
		echo "  $n streams: over the fd limit ($(ulimit -Hn) files: at most $max_n streams); stopping"
		break
	fi
	[ $running_ix = 0 ] && [ $running_re = 0 ] && break
	steps_run+=("$n")
	if [ $running_ix = 1 ]; then
		if start_ixedge "$n" && measure_step ixedge "$n"; then
			over_loss "$(eval echo "\${LOSS_ixedge_$n}")" && running_ix=0
		else
			failed+=("ixedge@$n")
			running_ix=0
		fi
		stop_pid "$RELAY_PID"
		# Where the loss was: the engine's own totals (lost before it, or dropped by it).
		[ "$(eval echo "\${LOSS_ixedge_$n:-0}")" != 0.0000 ] && sed -n 's/^relay_host: /    engine: /p' "$WORK/ixedge.log"
	fi
	if [ $running_re = 1 ]; then
		if start_rtpengine "$n" && measure_step rtpengine "$n"; then
			over_loss "$(eval echo "\${LOSS_rtpengine_$n}")" && running_re=0
		else
			failed+=("rtpengine@$n")
			running_re=0
		fi
		stop_pid "$RELAY_PID"
	fi
done

echo
echo "== summary (CPU ms per 1,000 relayed packets; loss %)"
printf '  %7s  %16s  %16s  %s\n' streams ixedge rtpengine "ixedge/rtpengine CPU"
best_ix=0 best_re=0
for n in "${steps_run[@]}"; do
	ci=$(eval echo "\${CPU_ixedge_$n:-}") li=$(eval echo "\${LOSS_ixedge_$n:-}")
	cr=$(eval echo "\${CPU_rtpengine_$n:-}") lr=$(eval echo "\${LOSS_rtpengine_$n:-}")
	[ -n "$li" ] && ! over_loss "$li" && best_ix=$n
	[ -n "$lr" ] && ! over_loss "$lr" && best_re=$n
	ratio=-
	if [ -n "$ci" ] && [ -n "$cr" ]; then
		ratio=$(awk -v a="$ci" -v b="$cr" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	fi
	printf '  %7d  %7s %7s%%  %7s %7s%%  %s%s%s\n' "$n" "${ci:--}" "${li:--}" "${cr:--}" "${lr:--}" "$ratio" \
		"$(eval echo "\"\${GB_ixedge_$n:+, ixedge step generator-bound}\"")" \
		"$(eval echo "\"\${GB_rtpengine_$n:+, rtpengine step generator-bound}\"")"
done
echo "  largest N with loss <= $LOSS_MAX%: ixedge $best_ix, rtpengine $([ $have_rtpengine = 1 ] && echo $best_re || echo "not run")"
echo "  issue 6 targets: ixedge/rtpengine CPU per packet at most 0.50; 2000 streams on one core under 0.1% loss"

if [ ${#failed[@]} -ne 0 ]; then
	echo "media: could not run: ${failed[*]}" >&2
	exit 1
fi
exit 0
