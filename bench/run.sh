#!/usr/bin/env bash
# Runs every benchmark built in BUILD_DIR and prints its numbers (never judges time).
# Exit status is non-zero only when a benchmark could not run at all.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BUILD_DIR" >&2
  exit 2
fi
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)

echo "machine: $(nproc) CPUs, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cache_get() { grep -m1 "^$1:" "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2-; }
cc=$(cache_get CMAKE_C_COMPILER)
echo "kernel:  $(uname -sr)"
echo "build:   $build, ${cc:+$("$cc" --version 2>/dev/null | head -1), }$(cache_get CMAKE_BUILD_TYPE)"
echo

failed=()
ran=0

# name, binary, arguments: one line per benchmark; later issues add signalling and media.
run_bench() {
  local name=$1 bin=$2
  shift 2
  echo "== $name"
  if [ ! -x "$bin" ]; then
    echo "$name: $bin not built" >&2
    failed+=("$name")
    return
  fi
  "$bin" "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "$name: exited with status $rc" >&2
    failed+=("$name")
  fi
  ran=$((ran + 1))
  echo
}

# BENCH_SECONDS caps each benchmark's timed runs (default: the benchmark's own, 40 s).
run_bench sip_parse "$build/bench_sip_parse" ${BENCH_SECONDS:+-t "$BENCH_SECONDS"} \
  "$src/bench/sip_parse/corpus"
# Signalling (SIPp -> ixedge -> SIPp, Kamailio baseline): once ixedge completes a probe call.
if "$src/bench/signalling/run.sh" --probe "$build" >/dev/null 2>&1; then run_bench signalling "$src/bench/signalling/run.sh" "$build"; else echo "== signalling: skipped, ixedge did not complete a probe call"; echo; fi
# Media (N RTP streams through ixedge's media engine, rtpengine baseline): bench/media/run.sh.
run_bench media "$src/bench/media/run.sh" "$build"

if [ ${#failed[@]} -ne 0 ]; then
  echo "bench: could not run: ${failed[*]}" >&2
  exit 1
fi
echo "bench: $ran benchmark(s) ran"
