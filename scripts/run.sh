#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and runs the Strata
# server stratad on an embedded default: a local data folder ./data and
# 127.0.0.1:50051, nothing else to start. Extra arguments go to stratad
# (see ./build/server/stratad --help). Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${JOBS:-2}" --target stratad strata
exec ./build/server/stratad --data_dir ./data --listen 127.0.0.1:50051 "$@"
