// strata_projection_crash_child: the running half of projection_crash_test.
// Usage:
//   strata_projection_crash_child <data_dir> <seed>
// Opens the EventLog at <data_dir>/log and the ProjectionRuntime at
// <data_dir>/projections (snapshot_interval_events = 50, batch_events_max = 17,
// so batches, snapshots and cut-overs happen often), registers
// CounterProjection (v1, "counters"), and then runs until killed:
//  - 2 threads append batches of 1-4 events, ExpectedVersion::Any, to streams
//    "s-0".."s-7", of type "Click" or "View" and rarely "Reset";
//  - the main thread calls Rebuild("counters") at seeded random intervals
//    (0-600 ms, ~300 ms on average), so kills also land during background
//    rebuilds and cut-overs.
// Once started it writes "ready\n" to stdout in a single write(2)
// (tests/testutil/crash_child_util.h).
// Exit codes: 2 usage, 3 open failed, 4 an append failed, 5 stdout failed,
// 6 register or rebuild failed.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "projections/runtime/runtime.h"
#include "tests/projections/counter_projection.h"
#include "tests/testutil/crash_child_util.h"

namespace {

constexpr char kProgram[] = "strata_projection_crash_child";
constexpr int kThreads = 2;
constexpr int kStreams = 8;
constexpr int kBatchMin = 1;
constexpr int kBatchMax = 4;
constexpr int kResetOneIn = 25;       // event types: 1 in 25 is a Reset
constexpr int kRebuildMaxGapMs = 600;  // uniform 0-600 ms between rebuilds

void AppendForever(strata::EventLog* log, uint64_t seed, int thread_index) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(thread_index)};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<int> batch_size(kBatchMin, kBatchMax);
  std::uniform_int_distribution<int> stream_index(0, kStreams - 1);
  std::uniform_int_distribution<int> type_pick(0, kResetOneIn - 1);
  uint64_t counter = 0;
  for (;;) {
    const std::string stream = absl::StrCat("s-", stream_index(rng));
    std::vector<strata::NewEvent> events(batch_size(rng));
    for (strata::NewEvent& e : events) {
      const int t = type_pick(rng);
      e.type = t == 0 ? "Reset" : (t % 2 == 0 ? "Click" : "View");
      e.data = absl::StrCat(seed, "/", thread_index, "/", counter++);
    }
    absl::StatusOr<strata::AppendResult> r =
        log->Append(stream, strata::ExpectedVersion::Any(), std::move(events));
    if (!r.ok()) {
      std::fprintf(stderr, "strata_projection_crash_child: append to %s failed: %s\n",
                   stream.c_str(), r.status().ToString().c_str());
      std::_Exit(4);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<uint64_t> parsed_seed =
      strata::crashtest::ParseChildArgs(kProgram, argc, argv, /*extra_args=*/0, "");
  if (!parsed_seed.has_value()) return 2;
  const uint64_t seed = *parsed_seed;
  const std::string data_dir = argv[1];

  std::unique_ptr<strata::EventLog> log =
      strata::crashtest::OpenLogOrExit(kProgram, data_dir + "/log");
  strata::ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 50;
  options.batch_events_max = 17;
  absl::StatusOr<std::unique_ptr<strata::ProjectionRuntime>> runtime =
      strata::ProjectionRuntime::Open(data_dir + "/projections", log.get(), options);
  if (!runtime.ok()) {
    std::fprintf(stderr, "strata_projection_crash_child: open runtime failed: %s\n",
                 runtime.status().ToString().c_str());
    return 3;
  }
  absl::Status registered =
      (*runtime)->Register(std::make_shared<strata::testing::CounterProjection>(1, "counters"));
  if (!registered.ok()) {
    std::fprintf(stderr, "strata_projection_crash_child: register failed: %s\n",
                 registered.ToString().c_str());
    return 6;
  }

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(AppendForever, log.get(), seed, t);
  strata::crashtest::WriteToStdout(kProgram, "ready\n");

  // Rebuilds at random moments; this is pacing, not synchronization.
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::uniform_int_distribution<int> gap_ms(0, kRebuildMaxGapMs);
  for (;;) {
    absl::SleepFor(absl::Milliseconds(gap_ms(rng)));
    absl::Status rebuilt = (*runtime)->Rebuild("counters");
    if (!rebuilt.ok()) {
      std::fprintf(stderr, "strata_projection_crash_child: rebuild failed: %s\n",
                   rebuilt.ToString().c_str());
      std::_Exit(6);
    }
  }
  // Unreachable: the process runs until SIGKILL.
}
