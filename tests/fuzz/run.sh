#!/usr/bin/env bash
# Runs every libFuzzer target for N seconds each, seeded from the test vectors.
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#        (make fuzz FUZZ_SECONDS=N [FUZZ_TARGETS="fuzz_sip_msg ..."])
set -euo pipefail
build=${1:?build dir}
secs=${2:-60}
shift 2 || true
only=" $* "
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  [ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || continue
  corpus="$root/tests/fuzz/corpus-$name"
  mkdir -p "$corpus"
  seeds=("$root/tests/fuzz/seeds/$name")
  [ "$name" != fuzz_sip_uri ] && seeds+=("$root/tests/sip/rfc4475" "$root/tests/sip/rfc5118" "$root/bench/sip_parse/corpus")
  args=()
  for s in "${seeds[@]}"; do [ -d "$s" ] && args+=("$s"); done
  echo "fuzz: $name for ${secs}s"
  # -close_fd_mask=3 keeps the log readable; findings land in tests/fuzz/findings/.
  mkdir -p "$root/tests/fuzz/findings"
  if ! "$bin" "$corpus" "${args[@]}" -max_total_time="$secs" -max_len=70000 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$root/tests/fuzz/findings/$name-" \
      -print_final_stats=1 2>"$build/$name.log"; then
    echo "fuzz: $name FOUND A PROBLEM (see $build/$name.log and tests/fuzz/findings/)"
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/$name.log" | tail -2 || true
done
exit $status
