#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and runs Strata on an
# embedded default: a local data folder ./data, nothing else to start.
# Extra arguments go to the program.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${JOBS:-2}" --target strata_log_demo
exec ./build/tools/strata_log_demo --data_dir ./data "$@"
