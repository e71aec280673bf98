// Process crash cycles against the real stratad, checked by the history
// harness (RELIABILITY.md, "Process crash").
//
// Each cycle: 4 writers (appends with exact and ANY expected versions,
// RecordClick commands on three links), 2 live subscribers (unfiltered and
// "clicks-") and a reader of the link read models run against stratad for a
// random 30-150 ms; then stratad is killed with SIGKILL at that moment
// (calls in flight become info), restarted on the same data directory, and
// the whole log (a full ReadAll), the subscribers' observations and the read
// models (answers taken during the load, and after the restart live and as of
// a random position, each against a fold of the log) are checked against the
// history with all ten rules. The log keeps growing through the cycles of a
// data directory (rule 6 remembers where every event was first seen); a
// fresh data directory starts every STRATA_HISTORY_CYCLES_PER_DIR cycles
// (default 50) so that each check's full read stays bounded in a long soak.
//
// STRATA_SOAK_CYCLES overrides the cycle count (default 200); STRATA_SEED
// fixes the random choices (printed at the start); STRATA_HISTORY_WRITERS
// (default 4), STRATA_HISTORY_EVENTS_MAX (events per append, default 3) and
// STRATA_HISTORY_REBUILD_MS (pause between rebuilds, default 60) shape the
// load.
//
// A second case stops stratad with SIGTERM instead, under the same load: it
// must exit 0, and every rule must hold after the restart.
//
// HistoryPowerLossTest runs the kill -9 cycles against stratad_power_cut
// (stratad over a lossy file system: a kill is a power cut), and a sync-off
// phase the checker must catch.
#include <signal.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/reliability/history_checker.h"
#include "tests/reliability/history_stratad.h"
#include "tests/reliability/history_workload.h"
#include "tests/testutil/temp_dir.h"

namespace strata::reliability {
namespace {

enum class Stop { kKill9, kSigterm };

struct CycleOptions {
  uint64_t cycles = 200;
  uint64_t cycles_per_dir = 50;
  Stop stop = Stop::kKill9;
  uint64_t seed = 0;
  // The server binary: stratad, or stratad_power_cut (kill -9 = power cut).
  std::string binary = STRATAD_PATH;
  std::vector<std::string> extra_args;
  // A negative control: a failed check is counted (violations_caught), not
  // reported, and the data directory is replaced (its history no longer
  // matches any correct log).
  bool expect_violations = false;
};

struct RunResult {
  uint64_t cycles = 0;
  uint64_t checks_passed = 0;
  uint64_t defined_checks_passed = 0;  // the defined clicks equal to link_clicks
  uint64_t violations_caught = 0;  // checks that failed (expect_violations only)
  // Restarts whose recovered read models were behind a position clients had
  // already been answered at: unsynced projection state was lost (a power
  // cut does that; a process crash cannot, the OS keeps the writes).
  uint64_t model_rollbacks = 0;
  uint64_t recoveries_seen = 0;  // restarts whose recovered checkpoints were read
  std::set<int> rules_caught;
  CheckReport totals;
  OutcomeCounts counts;
  uint64_t max_log = 0;
  uint64_t load_answers = 0;
  uint64_t load_answers_failed = 0;
  uint64_t kurrent_appends_ok = 0;  // acknowledged through the KurrentDB protocol
  uint64_t info_present = 0;  // info ops found in the log (whole), at the last check
  uint64_t info_absent = 0;
  absl::Duration restarts;
  absl::Duration slowest_stop;
  CheckTimings timings;
};

// The lowest checkpoint among the live read models stratad recovered, from
// its start-up lines ("projection X v1 generation 3 (live): recovered at
// checkpoint N, log head H"); nullopt when none was live.
std::optional<uint64_t> LowestRecoveredCheckpoint(const std::string& output) {
  std::optional<uint64_t> lowest;
  constexpr char kMarker[] = "(live): recovered at checkpoint ";
  for (size_t at = output.find(kMarker); at != std::string::npos;
       at = output.find(kMarker, at + 1)) {
    // Only the read models the load queried (not the defined "clicks").
    const size_t line = output.rfind('\n', at);
    const std::string head = output.substr(line == std::string::npos ? 0 : line, at - line);
    if (head.find("projection link_") == std::string::npos) continue;
    const uint64_t checkpoint =
        std::strtoull(output.c_str() + at + sizeof(kMarker) - 1, nullptr, 10);
    lowest = std::min(lowest.value_or(checkpoint), checkpoint);
  }
  return lowest;
}

std::set<int> RulesOf(const CheckReport& report) {
  std::set<int> rules;
  for (const std::string& v : report.violations) {
    int rule = 0;
    if (std::sscanf(v.c_str(), "rule %d", &rule) == 1) rules.insert(rule);
  }
  return rules;
}

// Runs load-stop-restart-check cycles; stops at the first failed check
// (reported with ADD_FAILURE) unless violations are expected.
void RunCycles(const CycleOptions& options, RunResult* result) {
  const uint64_t cycles = options.cycles;
  const uint64_t cycles_per_dir = options.cycles_per_dir;
  const Stop stop = options.stop;
  const uint64_t seed = options.seed;
  std::mt19937_64 rng(seed);
  const absl::Time started = absl::Now();
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  ModelQueries queries;
  queries.links = {"ha", "hb", "hc"};
  queries.from_date = absl::FormatCivilTime(today - 6);
  queries.to_date = absl::FormatCivilTime(today);

  uint64_t& cycle = result->cycles;
  bool failed = false;
  for (int dir_index = 0; cycle < cycles && !failed; ++dir_index) {
    testing::TempDir dir;
    History history;
    Checker checker;
    WorkloadOptions wo;
    wo.links = queries.links;
    wo.first_day = today - 6;
    wo.days = 7;
    wo.from_date = queries.from_date;
    wo.to_date = queries.to_date;
    wo.writers = static_cast<int>(EnvOr("STRATA_HISTORY_WRITERS", 4));
    wo.events_per_append_max = static_cast<int>(EnvOr("STRATA_HISTORY_EVENTS_MAX", 3));
    // Projection rebuilds now and then, so kills also land mid-rebuild.
    wo.rebuild_every = absl::Milliseconds(EnvOr("STRATA_HISTORY_REBUILD_MS", 60));
    Workload workload(&history, wo, seed + dir_index);
    StratadProcess::Options so;
    so.binary = options.binary;
    so.data_dir = dir.Sub("data");
    so.log_path = dir.Sub("stratad.log");
    // A small snapshot interval: as-of queries exercise snapshot + replay.
    so.args = {"--snapshot_interval=50"};
    so.args.insert(so.args.end(), options.extra_args.begin(), options.extra_args.end());

    absl::StatusOr<std::unique_ptr<StratadProcess>> server = StratadProcess::Start(so);
    ASSERT_TRUE(server.ok()) << server.status();
    ASSERT_TRUE((*server)->listening()) << (*server)->Output();
    const absl::Status created = CreateModelLinks(history, (*server)->address(), &queries);
    ASSERT_TRUE(created.ok()) << created;
    // The shipped link_clicks definition, built and rebuilt under the same
    // kills: after every restart it must equal the built-in link_clicks.
    for (const std::string& definition : {ShippedClicksDefinition(), ClicksScriptDefinition()}) {
      const absl::Status defined = DefineProjection((*server)->address(), definition);
      ASSERT_TRUE(defined.ok()) << defined;
    }

    CheckReport last;
    for (uint64_t c = 0; c < cycles_per_dir && cycle < cycles; ++c, ++cycle) {
      workload.Start((*server)->address(), static_cast<int>(cycle), (*server)->kurrent_address());
      std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 121));
      const absl::Time stop_start = absl::Now();
      if (stop == Stop::kKill9) {
        workload.RequestStop();
        (*server)->Kill9();
      } else {
        // The clients keep calling while the server stops.
        const std::optional<int> code = (*server)->Terminate(absl::Seconds(20));
        EXPECT_EQ(code, std::optional<int>(0))
            << "SIGTERM in cycle " << cycle << ":\n" << (*server)->Output();
      }
      result->slowest_stop = std::max(result->slowest_stop, absl::Now() - stop_start);
      workload.Join();
      history.ResolvePending("abandoned when stratad stopped");

      const absl::Time restart_start = absl::Now();
      server = StratadProcess::Start(so);
      result->restarts += absl::Now() - restart_start;
      ASSERT_TRUE(server.ok()) << server.status();
      ASSERT_TRUE((*server)->listening())
          << "stratad did not come back in cycle " << cycle << ":\n" << (*server)->Output();
      std::vector<ReadModelAnswer> answers = workload.TakeModelAnswers();
      result->load_answers += answers.size();
      uint64_t answered = 0;  // highest live position a client was answered at
      for (const ReadModelAnswer& a : answers) {
        if (a.error.empty() && !a.as_of.has_value()) answered = std::max(answered, a.position);
      }
      const std::optional<uint64_t> recovered = LowestRecoveredCheckpoint((*server)->Output());
      if (recovered.has_value()) ++result->recoveries_seen;
      if (recovered.has_value() && *recovered < answered) ++result->model_rollbacks;
      const CheckReport report =
          CheckServer((*server)->address(), (*server)->recovered_head(), history, checker,
                      workload.subscribers(), queries, rng(), std::move(answers),
                      &result->timings);
      result->totals.Merge(report);
      last = report;
      result->max_log = std::max<uint64_t>(result->max_log, report.log_events);
      if (!report.ok() && options.expect_violations) {
        ++result->violations_caught;
        const std::set<int> rules = RulesOf(report);
        result->rules_caught.insert(rules.begin(), rules.end());
        ++cycle;
        break;  // this directory's history no longer matches any correct log
      }
      if (!report.ok()) {
        ADD_FAILURE() << "cycle " << cycle << " (seed " << seed << ", data dir #" << dir_index
                      << "): " << report.Summary();
        failed = true;
        break;
      }
      const std::vector<std::string> clicks_violations =
          CheckDefinedClicks((*server)->address(), queries, report.log_events);
      if (!clicks_violations.empty()) {
        ADD_FAILURE() << "cycle " << cycle << " (seed " << seed << "): the defined clicks "
                      << "projection or script differs from link_clicks: "
                      << clicks_violations.front() << " (and " << clicks_violations.size() - 1
                      << " more)";
        failed = true;
        break;
      }
      ++result->defined_checks_passed;
      ++result->checks_passed;
      if ((cycle + 1) % 25 == 0) {
        std::printf("  cycle %" PRIu64 ": log %" PRIu64 " events, %.1f s\n", cycle + 1,
                    report.log_events, absl::ToDoubleSeconds(absl::Now() - started));
        std::fflush(stdout);
      }
    }
    // A clean stop after the last check of this directory.
    const std::optional<int> code = (*server)->Terminate(absl::Seconds(10));
    EXPECT_EQ(code, std::optional<int>(0)) << (*server)->Output();
    result->load_answers_failed += workload.model_queries_failed();
    result->kurrent_appends_ok += workload.kurrent_appends_ok();
    result->info_present += last.info_present;
    result->info_absent += last.info_absent;
    if (std::getenv("STRATA_HISTORY_VERBOSE") != nullptr) {
      std::map<std::string, int> infos;
      for (const Op& op : history.Snapshot()) {
        if (op.outcome == Outcome::kInfo) ++infos[op.error.substr(0, 60)];
      }
      for (const auto& [e, n] : infos) std::printf("    info x%d: %s\n", n, e.c_str());
    }
    const OutcomeCounts dir_counts = history.Counts();
    result->counts.ok += dir_counts.ok;
    result->counts.fail += dir_counts.fail;
    result->counts.info += dir_counts.info;
    result->counts.pending += dir_counts.pending;
  }
}

void Print(const char* name, const RunResult& r, absl::Duration elapsed) {
  std::printf(
      "%s: %" PRIu64 " cycles, %" PRIu64 " checks passed, %" PRIu64
      " assertions held; ops ok %" PRIu64 " / fail %" PRIu64 " / info %" PRIu64 " (%" PRIu64
      " of them found in the log, %" PRIu64 " not); largest log %" PRIu64 " events; %" PRIu64
      " read model answers taken under load (%" PRIu64 " queries failed); %" PRIu64
      " appends acknowledged through the KurrentDB protocol; %.1f s\n",
      name, r.cycles, r.checks_passed, r.totals.total_passed(), r.counts.ok, r.counts.fail,
      r.counts.info, r.info_present, r.info_absent, r.max_log, r.load_answers,
      r.load_answers_failed, r.kurrent_appends_ok, absl::ToDoubleSeconds(elapsed));
  std::printf("  restarts with a read model behind an answered position: %" PRIu64 " of %" PRIu64
              " with recovered checkpoints\n",
              r.model_rollbacks, r.recoveries_seen);
  std::printf("  restarts after which the defined clicks projection and the clicks script "
              "equalled link_clicks: %" PRIu64 "\n",
              r.defined_checks_passed);
  std::printf("  slowest stop %.0f ms; time in restarts %.1f s, full reads %.1f s, read model "
              "queries %.1f s, checker %.1f s\n",
              absl::ToDoubleSeconds(r.slowest_stop) * 1000, absl::ToDoubleSeconds(r.restarts),
              absl::ToDoubleSeconds(r.timings.read), absl::ToDoubleSeconds(r.timings.models),
              absl::ToDoubleSeconds(r.timings.checker));
  std::printf("  assertions per rule:");
  for (int rule = 1; rule <= kRuleCount; ++rule) {
    std::printf(" %d=%" PRIu64, rule, r.totals.passed[rule]);
  }
  std::printf("\n");
}

// Runs the cycles with a seed from STRATA_SEED (or a random one, printed)
// and prints the figures.
RunResult RunAndPrint(const char* name, CycleOptions options) {
  options.seed = EnvOr("STRATA_SEED", std::random_device()());
  std::printf("%s: %" PRIu64 " cycles, seed %" PRIu64 " (STRATA_SEED)\n", name, options.cycles,
              options.seed);
  const absl::Time started = absl::Now();
  RunResult r;
  RunCycles(options, &r);
  Print(name, r, absl::Now() - started);
  return r;
}

TEST(HistoryCrashTest, KillNineAtRandomMomentsKeepsAllTenRules) {
  CycleOptions options;
  options.cycles = EnvOr("STRATA_SOAK_CYCLES", 200);
  options.cycles_per_dir = EnvOr("STRATA_HISTORY_CYCLES_PER_DIR", 50);
  const RunResult r = RunAndPrint("history crash test (kill -9)", options);
  EXPECT_EQ(r.checks_passed, options.cycles);
  // The run must have exercised every outcome, or it could not catch much.
  EXPECT_GT(r.counts.ok, 0u);
  EXPECT_GT(r.counts.fail, 0u) << "no ABORTED appends: the exact-version path went untested";
  EXPECT_GT(r.counts.info, 0u) << "no call was in flight at a kill";
  EXPECT_GT(r.totals.passed[9], 0u) << "the subscribers saw nothing";
  EXPECT_GT(r.load_answers, 0u) << "no read model answer under load";
  EXPECT_GT(r.kurrent_appends_ok, 0u) << "no append went through the KurrentDB protocol";
  // A process crash loses no read model write the OS got: models never
  // restart behind what clients were shown (the power-cut test's contrast).
  EXPECT_GT(r.recoveries_seen, 0u) << "no recovered checkpoint found in stratad's output";
  EXPECT_EQ(r.model_rollbacks, 0u);
}

TEST(HistoryCrashTest, SigtermUnderLoadExitsZeroAndKeepsAllTenRules) {
  CycleOptions options;
  options.cycles = EnvOr("STRATA_SIGTERM_CYCLES", 8);
  options.cycles_per_dir = options.cycles;
  options.stop = Stop::kSigterm;
  const RunResult r = RunAndPrint("history SIGTERM test", options);
  EXPECT_EQ(r.checks_passed, options.cycles);
}

// Power loss of the whole server (RELIABILITY.md, "Power loss"): the same
// cycles with stratad_power_cut, whose unsynced bytes (log and read models)
// live only in its memory, so each kill -9 is a power cut. Every rule must
// hold: acknowledged appends survive, read models roll back to a consistent
// checkpoint and catch up. STRATA_POWER_CUT_CYCLES overrides the count.
TEST(HistoryPowerLossTest, PowerCutAtRandomMomentsKeepsAllTenRules) {
  CycleOptions options;
  options.cycles = EnvOr("STRATA_POWER_CUT_CYCLES", 200);
  options.cycles_per_dir = EnvOr("STRATA_HISTORY_CYCLES_PER_DIR", 50);
  options.binary = STRATAD_POWER_CUT_PATH;
  const RunResult r = RunAndPrint("history power-cut test (lossy file system, kill -9)", options);
  EXPECT_EQ(r.checks_passed, options.cycles);
  EXPECT_GT(r.counts.ok, 0u);
  EXPECT_GT(r.counts.info, 0u) << "no call was in flight at a power cut";
  EXPECT_GT(r.load_answers, 0u) << "no read model answer under load";
  // Evidence that the cuts reached the read models too: unsynced projection
  // state was lost (and rebuilt from the log) in some cycles.
  EXPECT_GT(r.recoveries_seen, 0u) << "no recovered checkpoint found in stratad's output";
  EXPECT_GT(r.model_rollbacks, 0u) << "no power cut rolled a read model back";
}

// The power-cut test's negative control, in the same run: with syncing
// turned off (--unsafe_no_sync) a power cut loses acknowledged appends, and
// the checker must say so (rule 1), or the power-cut test above proves
// nothing. Each cycle uses a fresh data directory.
TEST(HistoryPowerLossTest, PowerCutWithSyncOffIsCaught) {
  CycleOptions options;
  options.cycles = EnvOr("STRATA_POWER_CUT_CONTROL_CYCLES", 20);
  options.cycles_per_dir = 1;
  options.binary = STRATAD_POWER_CUT_PATH;
  options.extra_args = {"--unsafe_no_sync"};
  options.expect_violations = true;
  const RunResult r = RunAndPrint("history power-cut control (sync off)", options);
  std::printf("  sync off: lost acknowledged writes caught in %" PRIu64 " of %" PRIu64
              " cycles; rules reporting:",
              r.violations_caught, r.cycles);
  for (int rule : r.rules_caught) std::printf(" %d", rule);
  std::printf("\n");
  EXPECT_GT(r.violations_caught, 0u) << "the checker caught no loss with syncing off";
  EXPECT_TRUE(r.rules_caught.count(1)) << "rule 1 (acknowledged appends survive) never fired";
}

// The negative control of the whole pipeline (RELIABILITY.md: a durability
// test that cannot fail proves nothing): the data directory is put back to a
// copy taken earlier, as a store that lost acknowledged writes would look.
// The same reads and checks that pass above must report lost writes (rule
// 1), events seen that are gone (rule 6) and a subscriber ahead of the log
// (rule 9).
TEST(HistoryCrashTest, RestoredOlderCopyIsCaughtAsLostAcknowledgedWrites) {
  const uint64_t seed = EnvOr("STRATA_SEED", std::random_device()());
  std::mt19937_64 rng(seed);
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  ModelQueries queries;
  queries.links = {"na"};
  queries.from_date = absl::FormatCivilTime(today - 6);
  queries.to_date = absl::FormatCivilTime(today);
  testing::TempDir dir;
  History history;
  Checker checker;
  WorkloadOptions wo;
  wo.links = queries.links;
  wo.first_day = today - 6;
  wo.from_date = queries.from_date;
  wo.to_date = queries.to_date;
  Workload workload(&history, wo, seed);
  StratadProcess::Options so;
  so.data_dir = dir.Sub("data");
  so.log_path = dir.Sub("stratad.log");

  auto run_load = [&](StratadProcess& server, int cycle) {
    workload.Start(server.address(), cycle);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    workload.RequestStop();
    workload.Join();
  };
  {
    auto server = StratadProcess::Start(so);
    ASSERT_TRUE(server.ok() && (*server)->listening());
    auto commands = strata::v1::LinkCommands::NewStub(NewChannel((*server)->address()));
    Op op;
    op.link_id = "na";
    op.request_id = "create-na";
    ASSERT_TRUE(RecordedCreateLink(history, *commands, op, absl::Seconds(10)).ok());
    run_load(**server, 0);
    ASSERT_EQ((*server)->Terminate(absl::Seconds(10)), std::optional<int>(0));
  }
  // The copy, taken while nothing runs.
  std::filesystem::copy(so.data_dir, dir.Sub("backup"), std::filesystem::copy_options::recursive);
  {
    auto server = StratadProcess::Start(so);
    ASSERT_TRUE(server.ok() && (*server)->listening());
    const CheckReport report = CheckServer((*server)->address(), (*server)->recovered_head(),
                                           history, checker, workload.subscribers(), queries,
                                           rng(), workload.TakeModelAnswers());
    ASSERT_TRUE(report.ok()) << report.Summary();
    run_load(**server, 1);  // acknowledged writes the copy does not have
    (*server)->Kill9();
  }
  ASSERT_GT(history.Counts().ok, 0u);
  std::filesystem::remove_all(so.data_dir);
  std::filesystem::rename(dir.Sub("backup"), so.data_dir);
  auto server = StratadProcess::Start(so);
  ASSERT_TRUE(server.ok() && (*server)->listening()) << (server.ok() ? (*server)->Output() : "");
  const CheckReport report = CheckServer((*server)->address(), (*server)->recovered_head(),
                                         history, checker, workload.subscribers(), queries,
                                         rng(), workload.TakeModelAnswers());
  const std::set<int> rules = RulesOf(report);
  EXPECT_TRUE(rules.count(1)) << report.Summary(5);
  EXPECT_TRUE(rules.count(6)) << report.Summary(5);
  EXPECT_TRUE(rules.count(9)) << report.Summary(5);
  std::printf("negative control: %zu violations reported, rules", report.violations.size());
  for (int rule : rules) std::printf(" %d", rule);
  std::printf("\n");
}

}  // namespace
}  // namespace strata::reliability
