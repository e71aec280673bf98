#!/usr/bin/env bash
# Clang's thread-safety analysis over every library and binary: builds with
# clang-14 -Wthread-safety -Werror in build-clang, so the ABSL_GUARDED_BY /
# ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations are checked, not decorative.
# A negative control runs first: tests/thread_safety/unguarded_access.cc (a
# guarded member written without its mutex) must be refused.
# Environment: BUILD_DIR (default build-clang), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if ! command -v clang++-14 >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends clang-14
fi
BUILD_DIR=${BUILD_DIR:-build-clang}
JOBS=${JOBS:-2}

if clang++-14 -std=c++20 -Wthread-safety -Werror -fsyntax-only \
     tests/thread_safety/unguarded_access.cc 2>/dev/null; then
  echo "thread-safety: FAIL: the negative control compiled; the analysis is not running" >&2
  exit 1
fi
echo "thread-safety: negative control refused as expected"

start=$(date +%s)
CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug -DSTRATA_THREAD_SAFETY=ON -DSTRATA_WERROR=ON \
  -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_BENCHMARKS=OFF -DSTRATA_BUILD_SERVER=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "thread-safety: clang -Wthread-safety -Werror build passed in $(( $(date +%s) - start ))s"
