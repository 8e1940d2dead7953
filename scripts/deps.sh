#!/usr/bin/env bash
# Installs the Debian 12 packages ixedge needs to build, run and test.
# The one list of packages lives here; make run/test/bench/fuzz call this.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # libraries
  libuv1-dev libyaml-dev libjansson-dev libssl-dev libc-ares-dev libmicrohttpd-dev libsqlite3-dev libexpat1-dev
  # tests and benchmarks
  libcmocka-dev libosip2-dev sip-tester python3 iproute2 procps baresip-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
