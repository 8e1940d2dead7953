# Shared helpers for the daemon e2e tests: sourced, never run.  Start ixedge on a
# private copy of the lab config, wait for it, stop it; always clean up.
# Callers set BUILD and SRC (from "$1" and "$2") before sourcing.

IXEDGE="$BUILD/ixedge"
PROBE="python3 $SRC/tests/e2e/sip_probe.py"
WORK=$(mktemp -d /tmp/ixedge-e2e.XXXXXX)
DPID=""

cleanup() {
  if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
    kill -KILL "$DPID" 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*"
  if [ -f "$WORK/daemon.log" ]; then
    echo "--- daemon log (last 30 lines) ---"
    tail -n 30 "$WORK/daemon.log"
  fi
  exit 1
}

# A port free for UDP and TCP on every lab gateway, so parallel test runs
# (ctest -j, the ASan build) never collide with each other or with `make run`.
pick_port() {
	# shellcheck disable=SC2046
	python3 "$SRC/scripts/free_ports.py" 20000-40000 2 \
		$(for e in 1 2 3 4 5 6 7 8; do echo "127.0.$e.64 127.0.$e.65 127.0.$e.66"; done)
}

# lab_config PORT OUT [EXTRA_SED]: the lab topology with every gateway on PORT
# (udp/tcp) and PORT+1 (tls), the admin endpoint on PORT+2 and the static route
# to PORT+3 (nothing listens there), so parallel tests never share a port.
lab_config() {
  local port=$1 out=$2
  sed -e "s/udp: 5060, tcp: 5060, tls: 5061/udp: $port, tcp: $port, tls: $((port + 1))/" \
      -e "s/listen: 127.0.0.1:9060/listen: 127.0.0.1:$((port + 2))/" \
      -e "s/127.0.0.1:5080/127.0.0.1:$((port + 3))/" \
      ${3:+-e "$3"} "$SRC/etc/lab.yaml" >"$out"
  grep -q "udp: $port, tcp: $port" "$out" || fail "could not rewrite the lab ports"
}

# start_daemon CONFIG [ARGS...]: runs ixedge in the background, waits for "ready".
start_daemon() {
  local cfg=$1
  shift
  "$IXEDGE" -c "$cfg" --data-dir "$WORK/data" "$@" >"$WORK/daemon.out" 2>"$WORK/daemon.log" &
  DPID=$!
  for _ in $(seq 1 200); do
    grep -q " ready: " "$WORK/daemon.log" && return 0
    kill -0 "$DPID" 2>/dev/null || fail "ixedge exited during start-up"
    sleep 0.05
  done
  fail "ixedge not ready within 10s"
}

# stop_daemon SIGNAL: sends it and requires exit code 0 within 5 s.
stop_daemon() {
  local sig=${1:-TERM} rc
  kill -"$sig" "$DPID" || fail "ixedge already gone before SIG$sig"
  for _ in $(seq 1 50); do
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$DPID" 2>/dev/null && fail "ixedge still running 5s after SIG$sig"
  rc=0
  wait "$DPID" || rc=$?
  DPID=""
  [ "$rc" -eq 0 ] || fail "ixedge exited with $rc after SIG$sig"
  grep -q "received SIG$sig; shutting down" "$WORK/daemon.log" || fail "no shutdown log line"
  grep -q " stopped$" "$WORK/daemon.log" || fail "no 'stopped' log line"
}
