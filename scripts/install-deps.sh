#!/usr/bin/env bash
# install-deps.sh - installs the Debian packages Chorus builds and tests with.
# Idempotent and quiet: does nothing when every package is present, otherwise
# one apt-get update and one apt-get install.
# Usage: scripts/install-deps.sh [--bench | --build]
#   --bench  adds what the benchmarks use
#   --build  only what building chorusd and the dashboard needs (the container image's builder stage)
set -euo pipefail

# Building chorusd, the chorus client and the dashboard (ca-certificates: npm fetches over HTTPS).
pkgs=(build-essential cmake pkg-config ca-certificates
  libleveldb-dev libmicrohttpd-dev libgnutls28-dev libjansson-dev uuid-dev libuv1-dev libssl-dev libmsgpack-dev
  libcurl4-openssl-dev)
# The dashboard needs Node.js and npm; any install will do (Debian's, or one whose nodejs ships npm).
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
# The test suites: sanitizer and fuzz builds, unit tests, browser tests, network namespaces,
# and the container test (podman with its network stack, runc, mmdebstrap for the base image,
# docker-compose to check the compose file).
[[ ${1:-} == --build ]] || pkgs+=(clang libclang-rt-14-dev libcmocka-dev
  python3 python3-yaml curl openssl jq cppcheck iptables iproute2 chromium
  podman runc netavark aardvark-dns mmdebstrap docker-compose)
[[ ${1:-} == --bench ]] && pkgs+=(wrk serf python3-msgpack)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
