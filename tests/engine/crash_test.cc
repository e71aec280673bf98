// Recovery after kill -9. Each cycle fork+execs strata_crash_child on the same
// data directory; the child appends from 4 threads and prints one line per
// acknowledged append on a pipe. The test reads the pipe with poll() until a
// random moment 20-300 ms after the start, kills the child with SIGKILL, drains
// the pipe, then reopens the log and checks (RecoveredLogChecker::CheckAll)
// that every append acknowledged in any cycle so far (complete lines only) is
// stored exactly once at its reported positions with its stream, version, id
// and data; that positions are dense 1..Head(); that each stream's versions
// are dense; that the head never moves back and every event stays where an
// earlier cycle found it; and that checksums verify. The seed (random, or
// STRATA_TEST_SEED) is printed and recorded.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/crash_child_util.h"
#include "tests/testutil/temp_dir.h"

#ifndef STRATA_CRASH_CHILD_PATH
#error "STRATA_CRASH_CHILD_PATH must name the strata_crash_child executable"
#endif

namespace strata {
namespace {

using ::strata::testing::ChildRun;
using ::strata::testing::ChooseSeed;
using ::strata::testing::RunAndKillChild;
using ::strata::testing::TempDir;

constexpr int kCycles = 25;
constexpr int kKillAfterMsMin = 20;
constexpr int kKillAfterMsMax = 300;

TEST(CrashTest, AcknowledgedAppendsSurviveKillNine) {
  const uint64_t seed = ChooseSeed();
  std::printf("crash_test seed: %llu (set STRATA_TEST_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", absl::StrCat(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (STRATA_TEST_SEED)"));
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
  std::uniform_int_distribution<int> kill_after_ms(kKillAfterMsMin, kKillAfterMsMax);

  TempDir tmp;
  const std::string data_dir = tmp.Sub("db");
  crashtest::RecoveredLogChecker checker(data_dir, "c-");
  std::vector<crashtest::Ack> acks;
  size_t checked_total = 0;
  size_t acked_events = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const uint64_t child_seed = (static_cast<uint64_t>(rng()) << 32) | rng();
    const int kill_ms = kill_after_ms(rng);
    SCOPED_TRACE(absl::StrCat("cycle ", cycle, ", kill after ", kill_ms, " ms"));

    ChildRun run;
    ASSERT_NO_FATAL_FAILURE(
        RunAndKillChild({STRATA_CRASH_CHILD_PATH, data_dir, absl::StrCat(child_seed)},
                        {.kill_after = std::chrono::milliseconds(kill_ms)}, &run));
    const size_t acks_before = acks.size();
    STRATA_ASSERT_OK(crashtest::ParseAcks(run.output, &acks, &acked_events));

    crashtest::CheckOutcome outcome;
    const auto check_start = std::chrono::steady_clock::now();
    STRATA_ASSERT_OK(checker.CheckAll(acks, &outcome));
    ASSERT_EQ(outcome.lost, 0u) << outcome.first_loss;
    checked_total += outcome.checked;
    const auto check_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - check_start);
    std::printf("cycle %d: killed after %d ms, %zu acknowledged appends, checked in %lld ms\n",
                cycle, kill_ms, acks.size() - acks_before,
                static_cast<long long>(check_ms.count()));
  }
  std::printf("crash_test: %d cycles, %zu acknowledged events, %zu event checks\n", kCycles,
              acked_events, checked_total);
  ::testing::Test::RecordProperty("acknowledged_events", absl::StrCat(acked_events));
  EXPECT_GT(acked_events, 0u) << "the child never acknowledged an append";
}

}  // namespace
}  // namespace strata
