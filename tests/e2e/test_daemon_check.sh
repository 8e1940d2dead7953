#!/usr/bin/env bash
# e2e: `ixedge --check` on the shipped configs and on broken ones; usage errors; --version.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
. "$SRC/tests/e2e/daemon_lib.sh"

[ -x "$IXEDGE" ] || fail "$IXEDGE not built"

# matches FILE RE: an empty RE means FILE must be empty.
matches() {
  if [ -z "$2" ]; then [ ! -s "$1" ]; else grep -Eq -- "$2" "$1"; fi
}

# expect CODE STDOUT_RE STDERR_RE -- ARGS...
expect() {
  local code=$1 out_re=$2 err_re=$3 rc=0
  shift 4
  timeout 10 "$IXEDGE" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" -eq "$code" ] || { cat "$WORK/out" "$WORK/err"; fail "ixedge $*: exit $rc, want $code"; }
  matches "$WORK/out" "$out_re" || { cat "$WORK/out"; fail "ixedge $*: stdout !~ '$out_re'"; }
  matches "$WORK/err" "$err_re" || { cat "$WORK/err"; fail "ixedge $*: stderr !~ '$err_re'"; }
}

cd "$SRC"
expect 0 '^etc/lab.yaml: ok: 8 edges, 24 gateways, 8 regions, 0 connections, 2 base domains$' '' \
  -- --check -c etc/lab.yaml
expect 0 '^etc/profiles/interconnect.yaml: ok: 8 edges, 24 gateways, 8 regions' '' \
  -- --check -c etc/profiles/interconnect.yaml

# A typo in a key and a bad port: one line each, naming file, line, column and key.
sed 's/^    gateways:/    gatways:/' etc/lab.yaml >"$WORK/typo.yaml"
expect 1 '' "^$WORK/typo.yaml:[0-9]+:5: edges\[0\]\.gatways: unknown key \(expected one of: name, legacy, kind, region, gateways, media\)$" \
  -- --check -c "$WORK/typo.yaml"
awk '/address: 127.0.2.65/ { sub(/udp: 5060/, "udp: 65536") } { print }' etc/lab.yaml >"$WORK/port.yaml"
line=$(grep -n 'udp: 65536' "$WORK/port.yaml" | cut -d: -f1)
[ -n "$line" ] || fail "could not make the bad-port file"
expect 1 '' "^$WORK/port.yaml:$line:[0-9]+: edges\[1\]\.gateways\[1\]\.udp: port must be 1-65535$" \
  -- --check -c "$WORK/port.yaml"
[ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "the error must be one line"

# Without --check a bad config also stops the daemon before it binds anything.
expect 1 '' 'port must be 1-65535' -- -c "$WORK/port.yaml" --data-dir "$WORK/data"
grep -q listening "$WORK/err" && fail "bound sockets despite a bad config"

expect 1 '' "^$WORK/missing.yaml: cannot open: No such file or directory$" \
  -- --check -c "$WORK/missing.yaml"
expect 2 '' 'ixedge: -c FILE is required' -- --check
expect 2 '' 'log-level must be' -- --log-level loud -c etc/lab.yaml
expect 2 '' 'usage: ixedge' -- --bogus
expect 0 '^ixedge [0-9]+\.[0-9]+\.[0-9]+$' '' -- --version
expect 0 '^usage: ixedge -c FILE' '' -- --help
echo "ok: --check, usage errors and --version"
