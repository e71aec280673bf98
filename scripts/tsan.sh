#!/usr/bin/env bash
# ThreadSanitizer job: builds the concurrency tests with -fsanitize=thread in
# build-tsan (gcc, the project's compiler) and runs them with halt_on_error=1.
#
# Debian's Abseil, RocksDB and gRPC are not built with TSan. Suppressions alone
# cannot fix that (the false reports land in OUR code), so the tests run with a
# preloaded shim, tests/tsan/tsan_shim.cc (a build target of this build; it
# says what it does and why); tests/tsan/tsan.supp then only holds a few
# library-level suppressions, each with its reason (the tests also pass with it
# empty).
# Negative controls run first (tests/tsan/CMakeLists.txt): an unsynchronized
# access next to an absl::Mutex must be reported, the same access under the
# mutex must not, and every symbol the shim wraps must exist in Debian's
# libraries.
#
# Not run here: server_test. gRPC's callback API hands calls, messages and
# completion tags between gRPC's threads through uninstrumented gRPC core, so
# TSan reports our reactors' messages (written in Pump, read by gRPC's
# serializer on another thread) and gRPC's own call teardown; no library-level
# suppression separates those from our code. That needs a TSan-built gRPC.
#
# Usage: scripts/tsan.sh [extra ctest args]
# Environment: BUILD_DIR (default build-tsan), JOBS (default 2),
#   TSAN_TARGETS (test binaries to build), TSAN_TESTS (ctest -R regex).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
./scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build-tsan}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
JOBS=${JOBS:-2}
# Group commit under many writers, the contended stream, head waits and
# listeners, async appends (every EventLog test runs the writer thread); the
# projection runtime's workers (live, rebuild, cut-over, time travel,
# consistent reads, failure); the link read models on the real runtime.
TSAN_TARGETS_SET=${TSAN_TARGETS:+1}
TSAN_TARGETS=${TSAN_TARGETS:-event_log_test stream_metadata_test projection_runtime_test read_ahead_test links_test json_events_test}
TSAN_TESTS=${TSAN_TESTS:-'^(EventLogTest|EventLogReadTest|StreamMetadataTest|RuntimeTest|LaggardReadTest|ReadAheadTest|LinksRuntimeTest|JsonEventsTest)\.'}

start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_SANITIZE=thread \
  -DSTRATA_WERROR=ON -DSTRATA_BUILD_TESTS=ON -DSTRATA_BUILD_BENCHMARKS=OFF >/dev/null
# The model fuzzer's corpus replay drives projection rebuilds, cut-overs and
# reopens through the runtime's threads: run it too when it is part of the build.
if [ -z "${TSAN_TARGETS_SET:-}" ] && cmake --build "$BUILD_DIR" --target help | grep -q '^fuzz_corpus_test:'; then
  TSAN_TARGETS="$TSAN_TARGETS fuzz_corpus_test"
  TSAN_TESTS="$TSAN_TESTS|^FuzzCorpusTest\.Model$"
fi
# shellcheck disable=SC2086  # a list of targets
cmake --build "$BUILD_DIR" -j "$JOBS" --target strata_tsan_shim tsan_control $TSAN_TARGETS
echo "tsan: build took $(( $(date +%s) - start ))s"

# ---- Negative controls: the setup still finds a race next to an absl::Mutex ----
if ! (cd "$BUILD_DIR" && ctest --output-on-failure -R '^Tsan(Control|Shim)\.'); then
  echo "tsan: a negative control failed: the shim or the setup is broken" >&2
  exit 1
fi
echo "tsan: negative controls passed (locked: clean; unlocked: reported; wrapped symbols exist)"

export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan/tsan.supp halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export LD_PRELOAD="$BUILD_DIR/tests/tsan/libstrata_tsan_shim.so${LD_PRELOAD:+:$LD_PRELOAD}"

start=$(date +%s)
cd "$BUILD_DIR"
# Binaries not built show up as *_NOT_BUILT tests, which the regex leaves out.
ctest --output-on-failure --timeout 900 -j "$JOBS" -R "$TSAN_TESTS" "$@"
echo "tsan: tests took $(( $(date +%s) - start ))s"
