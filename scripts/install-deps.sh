#!/usr/bin/env bash
# Installs every Debian 12 package Strata needs to build, test and benchmark.
# Idempotent: when everything is already installed it only checks and exits (no apt-get update).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librocksdb-dev
  libflatbuffers-dev flatbuffers-compiler
  libabsl-dev
  libgrpc++-dev protobuf-compiler-grpc libgrpc-dev
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libsimdjson-dev
  libcli11-dev
  liblua5.4-dev
  libre2-dev
  prometheus-cpp-dev libcpp-httplib-dev
  libssl-dev openssl
  chromium fonts-dejavu-core
)

missing=()
# chromium runs the admin web UI test (tests/ui), driven by puppeteer-core.
# Node.js and npm run the KurrentDB client compatibility suite (tests/compat);
# a machine that has them already (any source) keeps its own.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
