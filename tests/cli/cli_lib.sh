# The harness of the ixctl script tests: source it after `set -u`, with the test's
# BUILD_DIR SOURCE_DIR arguments still in "$@".  It sets BUILD, SRC, IXCTL and TMP (removed on
# exit) and gives the checks below; a test ends with `cli_done`.  IXCTL_ARGS (an array, empty by
# default) is put before the arguments of every `run`.

BUILD=${1:?usage: $0 BUILD_DIR SOURCE_DIR}
SRC=${2:?usage: $0 BUILD_DIR SOURCE_DIR}
IXCTL="$BUILD/ixctl"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
IXCTL_ARGS=()

[ -x "$IXCTL" ] || { echo "FAIL: $IXCTL not built"; exit 1; }

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
ok() {
	echo "ok: $*"
}

# run [ixctl args...]: sets rc; stdout/stderr in $TMP/out, $TMP/err.  Bounded in time: a hang
# is a failure, not a stuck test run.
run() {
	timeout 20 "$IXCTL" "${IXCTL_ARGS[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# expect_rc WANT LABEL: checks $rc; a signal death (>= 124) is reported as such.
expect_rc() {
	if [ "$rc" -eq "$1" ]; then
		ok "$2 (exit $rc)"
	else
		fail "$2: exit $rc, want $1; stderr: $(head -c 400 "$TMP/err")"
	fi
}

# expect_err REGEX LABEL: stderr matches (extended regex).
expect_err() {
	if grep -Eq -- "$1" "$TMP/err"; then
		ok "$2"
	else
		fail "$2: stderr does not match /$1/: $(head -c 400 "$TMP/err")"
	fi
}

# expect_out REGEX LABEL: stdout matches (extended regex).
expect_out() {
	if grep -Eq -- "$1" "$TMP/out"; then
		ok "$2"
	else
		fail "$2: stdout does not match /$1/: $(head -c 600 "$TMP/out")"
	fi
}

expect_no_stdout() {
	if [ -s "$TMP/out" ]; then
		fail "$1: unexpected stdout: $(head -c 200 "$TMP/out")"
	else
		ok "$1: nothing on stdout"
	fi
}

# cli_done: the summary line and the exit status.
cli_done() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}
