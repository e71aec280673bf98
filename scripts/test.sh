#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and runs every test
# with ctest. Usage: scripts/test.sh [extra ctest args]
# Environment: BUILD_DIR (default build), STRATA_SANITIZE ('' | address,undefined | thread),
# CMAKE_BUILD_TYPE (default RelWithDebInfo), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  -DSTRATA_SANITIZE="${STRATA_SANITIZE:-}" \
  -DSTRATA_WERROR=ON -DSTRATA_BUILD_TESTS=ON -DSTRATA_BUILD_BENCHMARKS="${STRATA_BUILD_BENCHMARKS:-ON}"
cmake --build "$BUILD_DIR" -j "$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 -j "$JOBS" "$@"
