// What strata_log_bench and strata_projection_bench share: the payload
// generator, the temporary directories every store lives in, and the
// 1,000,000-event "scan log" both programs scan (BM_ReadAllScan, BM_LogScan),
// built once per process with Durability::kUnsafeNoSync in appends of 1,000
// events, closed and reopened (so its data sits in SST files, not memtables)
// and scanned once, untimed, before any benchmark uses it.
#ifndef STRATA_BENCH_BENCH_COMMON_H_
#define STRATA_BENCH_BENCH_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "engine/event.h"
#include "engine/event_log.h"

namespace strata::bench {

inline constexpr size_t kPayloadBytes = 200;
inline constexpr uint64_t kScanEvents = 1'000'000;
inline constexpr uint64_t kBuildEventsPerAppend = 1'000;
inline constexpr size_t kBuildAppendsInFlightMax = 16;
inline constexpr char kContentType[] = "application/octet-stream";

// splitmix64: fast, deterministic, incompressible enough for block
// compression to be no help.
class Random64 {
 public:
  explicit Random64(uint64_t seed) : state_(seed) {}
  // The next 64 pseudo-random bits.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // `n` pseudo-random bytes.
  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = Next();
      for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
    }
    return out;
  }

 private:
  uint64_t state_;
};

// Names the program (in messages and in RootDir()), creates RootDir() and removes it at exit.
void InitProgram(const char* program);

// The program's name as given to InitProgram ("strata_bench" before that).
const char* ProgramName();

// The root of every store this process creates, made on the first call; removed at exit.
const std::string& RootDir();

// A new path under RootDir(); the store creates the directory.
std::string FreshDir(absl::string_view name);

// Removes `dir` and everything in it, ignoring errors.
void RemoveDir(const std::string& dir);

// An event of `type` with `data`, content type kContentType.
NewEvent MakeEvent(std::string type, std::string data);

// How the scan log is filled: kScanEvents / kBuildEventsPerAppend appends of
// kBuildEventsPerAppend events of kPayloadBytes random bytes each.
struct ScanLogLayout {
  std::string (*stream)(uint64_t append);        // the stream of append `append` (0-based)
  std::string (*type)(GlobalPosition position);  // the type of the event at `position`
  ExpectedVersion expected_version = ExpectedVersion::Any();  // of every append
};

// The scan log: built once per process and kept open until main's end.
struct ScanLog {
  std::string dir;
  std::unique_ptr<EventLog> log;
  std::string error;  // set when building failed
  double build_s = 0;
};

// The process's one scan log (empty until BuildScanLogOnce).
ScanLog& TheScanLog();

// Builds TheScanLog() as `layout` says on the first call, then does nothing; failures go to .error.
void BuildScanLogOnce(const ScanLogLayout& layout);

// The body of BM_ReadAllScan and BM_LogScan: EventLog::ScanAll over TheScanLog(); items = events.
void RunScanLogBenchmark(benchmark::State& state);

}  // namespace strata::bench

#endif  // STRATA_BENCH_BENCH_COMMON_H_
