#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz and runs
# each from its committed seed corpus for FUZZ_SECONDS. The committed corpus
# is copied to a scratch directory first, so runs never modify the repository.
# Usage: scripts/fuzz.sh [target ...]   (default: every target)
# Environment:
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_BUILD_DIR build directory (default build-fuzz)
#   JOBS           build parallelism (default 2)
#   FUZZ_NO_BUILD  set to 1 to skip configure + build (the `fuzz` CMake target)
#   FUZZ_OUT       where crash inputs and logs go (default $FUZZ_BUILD_DIR/fuzz-out)
# Exit status: non-zero when a target found a crash; its input is printed,
# with how to turn it into a regression test (tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECONDS_EACH=${FUZZ_SECONDS:-30}
JOBS=${JOBS:-2}
OUT=${FUZZ_OUT:-$BUILD/fuzz-out}
ALL_TARGETS=(record_decode key_order request_handlers model json_quote)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")

# Longest input per target: the model runs at most 64 operations (~500 bytes).
max_len() {
  case "$1" in
    model) echo 512 ;;
    key_order) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  ./scripts/install-deps.sh
  if ! command -v clang++-14 >/dev/null ||
     ! ls /usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    echo "fuzz: installing clang-14 and its libFuzzer runtime"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      clang-14 libclang-rt-14-dev
  fi
  start=$(date +%s)
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRATA_BUILD_FUZZERS=ON -DSTRATA_SANITIZE=address,undefined \
    -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_BENCHMARKS=OFF -DSTRATA_BUILD_SERVER=ON \
    -DSTRATA_WERROR=ON >/dev/null
  cmake --build "$BUILD" -j "$JOBS" --target fuzzers
  echo "fuzz: build took $(( $(date +%s) - start ))s"
fi

mkdir -p "$OUT"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/strata-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# Leaks are checked (libFuzzer reports them as findings). Container-overflow
# annotations are off as in the ASan CI job: Debian's libraries are not
# instrumented.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_container_overflow=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  bin="$BUILD/tests/fuzz/fuzz_$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: no binary $bin" >&2
    failed+=("$t(missing)")
    continue
  fi
  mkdir -p "$SCRATCH/$t" "$OUT/$t"
  cp -r "tests/fuzz/corpus/$t/." "$SCRATCH/$t/"
  seeds=$(ls "$SCRATCH/$t" | wc -l)
  log="$OUT/$t/fuzz.log"
  echo "fuzz: $t for ${SECONDS_EACH}s from $seeds committed inputs"
  # The model keeps its RocksDB scratch directory in TMPDIR: tmpfs when there is one.
  tmp=${TMPDIR:-/tmp}
  [ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm
  rc=0
  TMPDIR=$tmp "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -max_len="$(max_len "$t")" -timeout=60 -rss_limit_mb=4096 \
    -artifact_prefix="$OUT/$t/" "$SCRATCH/$t" >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  corpus=$(ls "$SCRATCH/$t" | wc -l)
  line="$t: $execs executions in ${SECONDS_EACH}s, coverage $cov edges, corpus $seeds -> $corpus"
  if [ $rc -ne 0 ]; then
    line="$line, FAILED (exit $rc)"
    failed+=("$t")
    tail -n 60 "$log"
    for crash in "$OUT/$t"/crash-* "$OUT/$t"/leak-* "$OUT/$t"/timeout-* "$OUT/$t"/oom-*; do
      [ -e "$crash" ] || continue
      echo "fuzz: $t input: $crash"
      echo "fuzz:   reproduce: $bin $crash"
      echo "fuzz:   keep as a regression test: cp $crash tests/fuzz/corpus/$t/regression-<what>"
    done
  fi
  echo "fuzz: $line"
  summary+=("$line")
done

echo "fuzz: summary"
for l in "${summary[@]}"; do echo "  $l"; done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (logs and inputs in $OUT)"
  exit 1
fi
