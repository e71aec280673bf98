// Every named crash point (engine/testing/test_hooks.h) hit many times, each
// hit followed by a restart and a full check of the history (RELIABILITY.md,
// "Crash points").
//
// For each point in strata::testing::kCrashPoints, on its own data directory:
// stratad runs with STRATA_CRASH_POINT=<point>@<k> (k small and random)
// under load (appends with exact and ANY versions, RecordClick commands, a
// live subscriber; for projection.cutover.after_catalog also
// RebuildProjection calls so generations cut over; recovery.after_open fires
// during start-up, so the armed server is only started). Exit code 86 means
// the point was hit. Then stratad restarts without the variable and the
// checker verifies all ten rules on the full log, the subscriber and the link
// read models (answers taken under load, and live and as of a position after
// the restart); then a little more load, killed with SIGKILL mid-way, leaves
// the next armed start a log to recover and read models that may lag. Each point must be hit STRATA_CRASH_POINT_HITS times (default
// 10); a point never hit fails the test by name.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "engine/testing/test_hooks.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/reliability/history_checker.h"
#include "tests/reliability/history_stratad.h"
#include "tests/reliability/history_workload.h"
#include "tests/testutil/temp_dir.h"

namespace strata::reliability {
namespace {

struct PointStats {
  int hits = 0;
  int startup_hits = 0;  // exited before listening
  int attempts = 0;
  int checks = 0;
  uint64_t assertions = 0;
  OutcomeCounts counts;
  double seconds = 0;
};

TEST(CrashPointsTest, EveryPointIsHitAndRecoveredFrom) {
  const int hits_wanted = static_cast<int>(EnvOr("STRATA_CRASH_POINT_HITS", 10));
  const uint64_t seed = EnvOr("STRATA_SEED", std::random_device()());
  std::printf("crash points test: %d hits per point wanted, seed %" PRIu64 " (STRATA_SEED)\n",
              hits_wanted, seed);
  std::mt19937_64 rng(seed);
  const absl::Time started = absl::Now();
  // Per point: give up after this long (a point that cannot be reached must
  // not hang the suite; the assertions below then fail).
  const absl::Duration point_budget = absl::Seconds(EnvOr("STRATA_CRASH_POINT_SECONDS", 20));

  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  ModelQueries queries;
  queries.links = {"pa", "pb"};
  queries.from_date = absl::FormatCivilTime(today - 6);
  queries.to_date = absl::FormatCivilTime(today);

  std::map<std::string, PointStats> stats;
  for (const char* point : testing::kCrashPoints) {
    SCOPED_TRACE(point);
    const std::string name = point;
    PointStats& st = stats[name];
    const absl::Time point_start = absl::Now();
    testing::TempDir dir;
    History history;
    Checker checker;
    WorkloadOptions wo;
    wo.writers = 2;
    wo.links = queries.links;
    wo.first_day = today - 6;
    wo.days = 7;
    wo.click_share = 0.4;
    wo.from_date = queries.from_date;
    wo.to_date = queries.to_date;
    wo.subscriber_prefixes = {""};
    wo.pause_max = absl::Milliseconds(1);
    // Rebuilds make generations cut over; for the other projection points
    // they add commits of building generations.
    if (name == "projection.cutover.after_catalog") {
      // Each rebuild replaces the generation still building, so rebuilds must
      // come slower than a replay of the whole log (several times slower under
      // sanitizers) or no generation ever reaches the head and cuts over.
      wo.rebuild_every = absl::Milliseconds(150);
    } else if (name.rfind("projection.", 0) == 0) {
      wo.rebuild_every = absl::Milliseconds(20);
    }
    Workload workload(&history, wo, seed);
    StratadProcess::Options clean;
    clean.data_dir = dir.Sub("data");
    clean.log_path = dir.Sub("stratad.log");
    clean.args = {"--snapshot_interval=20"};
    StratadProcess::Options armed = clean;
    armed.binary = STRATAD_TEST_HOOKS_PATH;  // the test build: crash points armable

    // A first clean run: the links and some history for recovery to find.
    {
      absl::StatusOr<std::unique_ptr<StratadProcess>> server = StratadProcess::Start(clean);
      ASSERT_TRUE(server.ok()) << server.status();
      ASSERT_TRUE((*server)->listening()) << (*server)->Output();
      const absl::Status created = CreateModelLinks(history, (*server)->address(), &queries);
      ASSERT_TRUE(created.ok()) << created;
      workload.Start((*server)->address(), 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      workload.RequestStop();
      workload.Join();
      (*server)->Kill9();
      history.ResolvePending("abandoned when stratad was killed");
    }

    int cycle = 1;
    while (st.hits < hits_wanted && absl::Now() - point_start < point_budget) {
      ++st.attempts;
      // recovery.after_open is passed once per process; the others many times.
      const int k = name == "recovery.after_open" ? 1
                    : name == "projection.cutover.after_catalog"
                        ? 1 + static_cast<int>(rng() % 2)
                        : 1 + static_cast<int>(rng() % 4);
      armed.env = {absl::StrCat("STRATA_CRASH_POINT=", name, "@", k)};
      absl::StatusOr<std::unique_ptr<StratadProcess>> server = StratadProcess::Start(armed);
      ASSERT_TRUE(server.ok()) << server.status();
      std::optional<int> code;
      if (!(*server)->listening()) {
        code = (*server)->Poll();
        if (code == testing::kCrashPointExitCode) ++st.startup_hits;
      } else {
        workload.Start((*server)->address(), cycle++);
        code = (*server)->WaitExit(name == "projection.cutover.after_catalog" ? absl::Seconds(10)
                                                                               : absl::Seconds(3));
        workload.RequestStop();
        if (!code.has_value()) (*server)->Kill9();  // not reached in time: a miss
        workload.Join();
        history.ResolvePending("abandoned when stratad died");
      }
      if (code.has_value()) {
        ASSERT_EQ(*code, testing::kCrashPointExitCode)
            << "stratad armed with " << name << "@" << k << " exited with " << *code << ":\n"
            << (*server)->Output();
        ++st.hits;
      }

      // Restart without the variable and check everything.
      server = StratadProcess::Start(clean);
      ASSERT_TRUE(server.ok()) << server.status();
      ASSERT_TRUE((*server)->listening())
          << "stratad did not restart after " << name << "@" << k << ":\n"
          << (*server)->Output();
      const CheckReport report =
          CheckServer((*server)->address(), (*server)->recovered_head(), history, checker,
                      workload.subscribers(), queries, rng(), workload.TakeModelAnswers());
      ++st.checks;
      st.assertions += report.total_passed();
      ASSERT_TRUE(report.ok()) << "after " << name << "@" << k << " (attempt " << st.attempts
                               << ", seed " << seed << "): " << report.Summary() << "\n"
                               << (*server)->Output();
      // More work, killed in the middle: the next (armed) start recovers a
      // log with calls cut off and read models that may lag behind it.
      workload.Start((*server)->address(), cycle++);
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng() % 30));
      workload.RequestStop();
      (*server)->Kill9();
      workload.Join();
      history.ResolvePending("abandoned when stratad was killed");
    }
    st.counts = history.Counts();
    st.seconds = absl::ToDoubleSeconds(absl::Now() - point_start);
  }

  std::vector<std::string> never_hit;
  std::printf("crash points test: %.1f s\n", absl::ToDoubleSeconds(absl::Now() - started));
  for (const char* point : testing::kCrashPoints) {
    const PointStats& st = stats[point];
    std::printf("  %-34s hits %2d (%d at start-up) of %2d runs, %2d checks passed (%" PRIu64
                " assertions), ops ok %" PRIu64 " / fail %" PRIu64 " / info %" PRIu64
                ", %.1f s\n",
                point, st.hits, st.startup_hits, st.attempts, st.checks, st.assertions,
                st.counts.ok, st.counts.fail, st.counts.info, st.seconds);
    if (st.hits == 0) never_hit.push_back(point);
    EXPECT_GE(st.hits, hits_wanted) << point << " was hit only " << st.hits << " times";
  }
  ASSERT_TRUE(never_hit.empty()) << "crash points never hit: " << absl::StrJoin(never_hit, ", ");
}

}  // namespace
}  // namespace strata::reliability
