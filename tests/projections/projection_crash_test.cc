// Projection runtime recovery after kill -9. Each cycle fork+execs
// strata_projection_crash_child on the same data directory; the child appends
// from 2 threads, runs CounterProjection with small batches and snapshot
// intervals, and rebuilds it at random moments. The test waits for the child's
// "ready" line with poll(), kills it with SIGKILL 30-300 ms later, then opens
// the log and the runtime itself with the same options and checks:
//  - before registering (no worker running), the recovered live state read
//    through Read() equals a fresh fold of the log at the reported checkpoint;
//  - after registering (the worker is advancing), three reads in a row, each
//    equal to a fresh fold at its own reported position;
//  - after WaitFor(head), the state equals a fresh fold at the head;
//  - no generation is failed.
// CounterProjection counts, so an event applied twice or lost shows. A read
// may find no live generation only until one has been live once (the first
// cycles may be killed before the first cut-over). The seed (random, or
// STRATA_TEST_SEED) is printed and recorded.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "gtest/gtest.h"
#include "projections/runtime/runtime.h"
#include "tests/projections/counter_projection.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/temp_dir.h"

#ifndef STRATA_PROJECTION_CRASH_CHILD_PATH
#error "STRATA_PROJECTION_CRASH_CHILD_PATH must name the strata_projection_crash_child executable"
#endif

namespace strata {
namespace {

using ::strata::testing::ChildRun;
using ::strata::testing::ChooseSeed;
using ::strata::testing::CounterProjection;
using ::strata::testing::Dump;
using ::strata::testing::FreshFold;
using ::strata::testing::RunAndKillChild;
using ::strata::testing::TempDir;

using State = std::map<std::string, std::string>;

constexpr int kCycles = 32;
constexpr int kMinComparedCycles = 20;
constexpr int kKillAfterMsMin = 30;
constexpr int kKillAfterMsMax = 300;
constexpr int kReadsAfterRegister = 3;
constexpr absl::Duration kCatchUpWait = absl::Seconds(30);

ProjectionRuntimeOptions Options() {
  ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 50;
  options.batch_events_max = 17;
  return options;
}

// A readable key/value: counters decoded, other values escaped.
std::string Show(const std::string& value) {
  std::optional<uint64_t> counter = DecodeCounter(value);
  if (counter.has_value()) return absl::StrCat("counter ", *counter);
  return absl::StrCat("'", absl::CHexEscape(value), "'");
}

// Names every key whose value differs between `expected` and `actual`.
std::string Diff(const State& expected, const State& actual) {
  std::ostringstream out;
  for (const auto& [key, value] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) {
      out << "\n  " << key << ": expected " << Show(value) << ", missing";
    } else if (it->second != value) {
      out << "\n  " << key << ": expected " << Show(value) << ", actual " << Show(it->second);
    }
  }
  for (const auto& [key, value] : actual) {
    if (expected.count(key) == 0) out << "\n  " << key << ": unexpected, actual " << Show(value);
  }
  return out.str();
}

std::string DescribeStatus(const std::vector<ProjectionStatus>& status) {
  std::string out;
  for (const ProjectionStatus& st : status) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", st.name, " v", st.projection_version, " g",
                    st.generation, " ", GenerationStateName(st.state), " @", st.checkpoint);
    if (!st.error.empty()) absl::StrAppend(&out, " (", st.error, ")");
  }
  return out.empty() ? "no generations" : out;
}

void ExpectNoFailedGeneration(const ProjectionRuntime& runtime, absl::string_view when) {
  const std::vector<ProjectionStatus> status = runtime.Status();
  for (const ProjectionStatus& st : status) {
    EXPECT_NE(st.state, GenerationState::kFailed)
        << when << ": generation " << st.generation << " failed at " << st.error_position << ": "
        << st.error << " [" << DescribeStatus(status) << "]";
  }
}

// One consistent live read: the state and the position it is at.
struct LiveRead {
  absl::Status status;
  State state;
  GlobalPosition position = 0;
};

LiveRead ReadLive(const ProjectionRuntime& runtime) {
  LiveRead out;
  out.status = runtime.Read({"counters"}, std::nullopt,
                            [&](absl::Span<const StateReader* const> readers, GlobalPosition p) {
                              out.state = Dump(*readers[0]);
                              out.position = p;
                              return absl::OkStatus();
                            });
  return out;
}

// Per-run counters, printed at the end.
struct Totals {
  int cycles = 0;
  int compared_cycles = 0;  // cycles whose reads right after Register were compared
  int comparisons = 0;      // live reads compared with a fresh fold
  int unavailable_reads = 0;  // reads that found no live generation yet
  int building_at_reopen = 0;  // cycles that found a rebuild in progress
  int reads_behind_head = 0;   // comparisons at a position below the head
};

class ProjectionCrashTest : public ::testing::Test {
 protected:
  // Compares `read` with a fresh fold of the log at its own position.
  // `ever_live` tracks whether a live generation has existed; before that a
  // FailedPrecondition "no live version yet" (or NotFound before the first
  // registration reached the catalog) is accepted. Sets *compared when the
  // read was compared.
  void CheckRead(const EventLog& log, const LiveRead& read, absl::string_view what,
                 bool* ever_live, bool* compared) {
    *compared = false;
    if (!read.status.ok()) {
      const bool not_live_yet =
          (read.status.code() == absl::StatusCode::kFailedPrecondition &&
           absl::StrContains(read.status.message(), "no live version yet")) ||
          read.status.code() == absl::StatusCode::kNotFound;
      ASSERT_TRUE(not_live_yet && !*ever_live)
          << what << ": Read failed: " << read.status
          << (*ever_live ? " (a generation was live before)" : "");
      ++totals_.unavailable_reads;
      return;
    }
    *ever_live = true;
    const GlobalPosition head = log.Head();
    ASSERT_LE(read.position, head) << what << ": read position beyond the log's head";
    // The log does not change while the test process has it open, so a fold
    // at one position is computed once per cycle.
    auto folded = folds_.find(read.position);
    if (folded == folds_.end()) {
      folded = folds_.emplace(read.position, FreshFold(log, oracle_, read.position)).first;
    }
    const State& expected = folded->second;
    ASSERT_EQ(read.state, expected)
        << what << ": live state at position " << read.position << " (head " << head
        << ") differs from a fresh fold:" << Diff(expected, read.state);
    ++totals_.comparisons;
    if (read.position < head) ++totals_.reads_behind_head;
    *compared = true;
  }

  CounterProjection oracle_{1, "counters"};
  std::map<GlobalPosition, State> folds_;  // fresh folds of this cycle's log, by position
  Totals totals_;
};

TEST_F(ProjectionCrashTest, LiveStateEqualsFreshFoldAfterKillNine) {
  const uint64_t seed = ChooseSeed();
  std::printf("projection_crash_test seed: %llu (set STRATA_TEST_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  ::testing::Test::RecordProperty("seed", absl::StrCat(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (STRATA_TEST_SEED)"));
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
  std::uniform_int_distribution<int> kill_after_ms(kKillAfterMsMin, kKillAfterMsMax);
  std::uniform_int_distribution<int> advance(1, 60);

  TempDir tmp;
  const std::string data_dir = tmp.Sub("data");
  const auto test_start = std::chrono::steady_clock::now();
  bool ever_live = false;
  GlobalPosition head = 0;

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const uint64_t child_seed = (static_cast<uint64_t>(rng()) << 32) | rng();
    const int kill_ms = kill_after_ms(rng);
    SCOPED_TRACE(absl::StrCat("cycle ", cycle, ", kill ", kill_ms, " ms after ready"));

    ChildRun run;
    ASSERT_NO_FATAL_FAILURE(RunAndKillChild(
        {STRATA_PROJECTION_CRASH_CHILD_PATH, data_dir, absl::StrCat(child_seed)},
        {.kill_after = std::chrono::milliseconds(kill_ms), .wait_for_ready = true}, &run));
    ++totals_.cycles;
    folds_.clear();

    const auto check_start = std::chrono::steady_clock::now();
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(data_dir + "/log");
    ASSERT_TRUE(log.ok()) << log.status();
    absl::StatusOr<std::unique_ptr<ProjectionRuntime>> runtime =
        ProjectionRuntime::Open(data_dir + "/projections", log->get(), Options());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    head = (*log)->Head();

    // What the crash left: the catalog as recovered, before any worker runs.
    const std::vector<ProjectionStatus> recovered = (*runtime)->Status();
    for (const ProjectionStatus& st : recovered) {
      if (st.state == GenerationState::kBuilding) ++totals_.building_at_reopen;
    }
    ExpectNoFailedGeneration(**runtime, "after reopen");
    bool compared = false;
    bool compared_after_register = false;
    // The recovered live state with no worker running (Read needs no code
    // when it reads at the live checkpoint).
    const LiveRead before = ReadLive(**runtime);
    ASSERT_NO_FATAL_FAILURE(
        CheckRead(**log, before, "read before Register", &ever_live, &compared));

    STRATA_ASSERT_OK((*runtime)->Register(std::make_shared<CounterProjection>(1, "counters")));
    std::vector<GlobalPosition> positions;
    for (int i = 0; i < kReadsAfterRegister; ++i) {
      const LiveRead read = ReadLive(**runtime);
      ASSERT_NO_FATAL_FAILURE(CheckRead(**log, read, absl::StrCat("read ", i, " after Register"),
                                        &ever_live, &compared));
      compared_after_register = compared_after_register || compared;
      if (!read.status.ok()) break;  // nothing live yet: no point waiting for it to move
      positions.push_back(read.position);
      // Let the worker move on a little before the next read (no sleeps: wait
      // for a position, with a short deadline; DeadlineExceeded is fine).
      if (i + 1 < kReadsAfterRegister && read.position < head) {
        const GlobalPosition target = std::min<GlobalPosition>(head, read.position + advance(rng));
        const absl::Status waited =
            (*runtime)->WaitFor("counters", target, absl::Now() + absl::Milliseconds(200));
        ASSERT_TRUE(waited.ok() || absl::IsDeadlineExceeded(waited)) << waited;
      }
    }
    ExpectNoFailedGeneration(**runtime, "after the reads");

    // Caught up: the state at the head equals a fresh fold of the whole log.
    STRATA_ASSERT_OK((*runtime)->WaitFor("counters", head, absl::Now() + kCatchUpWait));
    const LiveRead caught_up = ReadLive(**runtime);
    ASSERT_TRUE(caught_up.status.ok()) << caught_up.status;
    EXPECT_EQ(caught_up.position, head) << "read after WaitFor(head)";
    ASSERT_NO_FATAL_FAILURE(
        CheckRead(**log, caught_up, "read after WaitFor(head)", &ever_live, &compared));
    ExpectNoFailedGeneration(**runtime, "after WaitFor(head)");
    ASSERT_TRUE(compared);
    if (compared_after_register) ++totals_.compared_cycles;

    const std::string recovered_text = DescribeStatus(recovered);
    runtime->reset();
    log->reset();
    const auto check_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - check_start);
    const std::string before_text =
        before.status.ok() ? absl::StrCat(before.position) : std::string("(none)");
    std::string read_positions;
    for (GlobalPosition p : positions) absl::StrAppend(&read_positions, " ", p);
    std::printf(
        "cycle %d: killed %d ms after ready; head %llu; recovered [%s]; live read before "
        "Register at %s; after Register at%s; checked in %lld ms\n",
        cycle, kill_ms, static_cast<unsigned long long>(head), recovered_text.c_str(),
        before_text.c_str(),
        read_positions.empty() ? " (none)" : read_positions.c_str(),
        static_cast<long long>(check_ms.count()));
    std::fflush(stdout);
  }

  const auto total_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - test_start);
  std::printf(
      "projection_crash_test: %d cycles, %d cycles compared right after Register, %d "
      "comparisons (%d behind the head), %d reads with no live generation yet, %d cycles "
      "recovered a rebuild in progress, %llu events, %lld ms\n",
      totals_.cycles, totals_.compared_cycles, totals_.comparisons, totals_.reads_behind_head,
      totals_.unavailable_reads, totals_.building_at_reopen,
      static_cast<unsigned long long>(head), static_cast<long long>(total_ms.count()));
  ::testing::Test::RecordProperty("events", absl::StrCat(head));
  ::testing::Test::RecordProperty("comparisons", absl::StrCat(totals_.comparisons));
  EXPECT_GE(totals_.compared_cycles, kMinComparedCycles)
      << "too few cycles found a live generation to compare";
  EXPECT_GT(head, 0u) << "the child never appended";
}

}  // namespace
}  // namespace strata
