// Power loss, simulated: each cycle fork+execs strata_power_loss_child, which
// opens the log through a lossy FaultEnv (unsynced bytes live only in the
// child's memory), appends from 4 threads and prints one line per
// acknowledged append. Once the child has printed "ready" (the log is open),
// the test waits a random 10-60 ms, SIGKILLs it (losing exactly what a power
// cut would: everything not synced), drains the pipe, reopens the log with
// RocksDB's default Env and checks (RecoveredLogChecker::CheckNew):
//  - the head never moves back; positions are dense, each stream's versions
//    dense from 0 (also through StreamLastVersion and ReadStream), each event id
//    stored once, each event's data the bytes derived from its id;
//  - every event acknowledged in the cycle is at the position its reply
//    named, in its stream at its version, and so is a random sample of the
//    events acknowledged in earlier cycles.
// Every 25 cycles, and after the last, the store is compacted (as a running
// server would) and checked in full (RecoveredLogChecker::CheckAll): the whole
// log, every event still where the previous check saw it, every
// acknowledgement of every cycle, checksums.
//
// Phase 1 (Durability::kSync) must lose nothing. Phase 2, the negative
// control, runs the same cycles with Durability::kUnsafeNoSync on a fresh
// store; there the checker must catch lost acknowledged events in at least
// one cycle, or the test fails: a checker that cannot fail proves nothing.
//
// STRATA_TEST_SEED repeats a run; STRATA_POWER_LOSS_CYCLES and
// STRATA_POWER_LOSS_CONTROL_CYCLES change the number of cycles (defaults 200
// and 20).

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/event.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/crash_child_util.h"
#include "tests/testutil/temp_dir.h"

#ifndef STRATA_POWER_LOSS_CHILD_PATH
#error "STRATA_POWER_LOSS_CHILD_PATH must name the strata_power_loss_child executable"
#endif

namespace strata {
namespace {

using ::strata::testing::ChildRun;
using ::strata::testing::ChooseSeed;
using ::strata::testing::RunAndKillChild;
using ::strata::testing::TempDir;

constexpr int kDefaultCycles = 200;
constexpr int kDefaultControlCycles = 20;
constexpr int kKillAfterReadyMsMin = 10;
constexpr int kKillAfterReadyMsMax = 60;
// The sync phase compacts the store (see CompactStore) and checks it fully
// every this many cycles; the cycles between check what changed.
constexpr int kFullCheckEvery = 25;
// How many acknowledgements of earlier cycles an incremental check reads back.
constexpr int kEarlierAcksSampled = 32;

int CyclesFromEnv(const char* name, int default_value) {
  const char* env = std::getenv(name);
  int n = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &n) && n > 0) return n;
  return default_value;
}

// Drops RocksDB's info log (plain RocksDB would otherwise write a LOG file
// into the store).
class QuietLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// Compacts the closed store with plain RocksDB, as a long-running server's
// background compaction would. Each check's reopen flushes the recovered WAL
// into new L0 files, and a writer killed after 10-60 ms rarely finishes a
// compaction, so without this L0 grows by about three files a cycle: every
// open reads more files, and past 36 files per column family RocksDB would
// stop the child's writes.
void CompactStore(const std::string& data_dir) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                      {"events", {}},
                                                      {"streams", {}},
                                                      {"event_ids", {}},
                                                      {"indexes", {}}};
  rocksdb::DBOptions options;
  options.info_log = std::make_shared<QuietLogger>();
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.paranoid_checks = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, data_dir, cfs, &handles, &raw);
  ASSERT_TRUE(s.ok()) << "compaction: open: " << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 1; i < handles.size(); ++i) {
    s = db->CompactRange(rocksdb::CompactRangeOptions(), handles[i], nullptr, nullptr);
    EXPECT_TRUE(s.ok()) << "compaction: " << s.ToString();
  }
  for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  s = db->Close();
  EXPECT_TRUE(s.ok()) << "compaction: close: " << s.ToString();
}

struct PhaseTotals {
  int cycles = 0;
  size_t acked_appends = 0;
  size_t acked_events = 0;
  size_t checked = 0;  // acknowledged-event checks
  int full_checks = 0;
  int cycles_with_loss = 0;
  size_t lost = 0;
  GlobalPosition head = 0;
  std::chrono::nanoseconds child_time{0};  // fork to EOF after the kill
  std::chrono::nanoseconds check_time{0};  // reopen, check, close (and compaction)
};

// Runs `cycles` kill cycles of the child in `mode` on `data_dir`. With
// `durable`, any lost acknowledgement fails the test, acknowledgements
// accumulate across cycles, and every kFullCheckEvery cycles (and after the
// last) the store is compacted and fully checked against all of them.
// Otherwise (the control) each cycle checks its own acknowledgements and
// losses are counted.
void RunPhase(const char* phase, const std::string& data_dir, const char* mode, int cycles,
              bool durable, std::mt19937_64& rng, PhaseTotals* totals) {
  std::uniform_int_distribution<int> kill_after_ms(kKillAfterReadyMsMin, kKillAfterReadyMsMax);
  std::vector<crashtest::Ack> acks;
  crashtest::RecoveredLogChecker checker(data_dir, "p-");
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const uint64_t child_seed = rng();
    const int kill_ms = kill_after_ms(rng);
    SCOPED_TRACE(absl::StrCat(phase, " cycle ", cycle, ", kill ", kill_ms, " ms after ready"));

    ChildRun run;
    const auto child_start = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(RunAndKillChild(
        {STRATA_POWER_LOSS_CHILD_PATH, data_dir, absl::StrCat(child_seed), mode},
        {.kill_after = std::chrono::milliseconds(kill_ms), .wait_for_ready = true}, &run));

    if (!durable) acks.clear();
    const size_t new_from = acks.size();
    size_t events = 0;
    STRATA_ASSERT_OK(crashtest::ParseAcks(run.output, &acks, &events));
    totals->acked_appends += acks.size() - new_from;
    totals->acked_events += events;

    crashtest::CheckOutcome outcome;
    const auto check_start = std::chrono::steady_clock::now();
    totals->child_time += check_start - child_start;
    STRATA_ASSERT_OK(checker.CheckNew(acks, new_from, kEarlierAcksSampled, rng, &outcome));
    if (durable) {
      ASSERT_EQ(outcome.lost, 0u) << outcome.first_loss;
    }
    const bool full = durable && ((cycle + 1) % kFullCheckEvery == 0 || cycle + 1 == cycles);
    if (full) {
      ASSERT_NO_FATAL_FAILURE(CompactStore(data_dir));
      crashtest::CheckOutcome full_outcome;
      STRATA_ASSERT_OK(checker.CheckAll(acks, &full_outcome));
      ASSERT_EQ(full_outcome.lost, 0u) << full_outcome.first_loss;
      outcome.checked += full_outcome.checked;
      ++totals->full_checks;
    }
    totals->check_time += std::chrono::steady_clock::now() - check_start;
    totals->checked += outcome.checked;
    totals->lost += outcome.lost;
    totals->head = outcome.head;
    ++totals->cycles;
    if (outcome.lost > 0) ++totals->cycles_with_loss;
    if (!durable || full) {
      std::printf("%s cycle %d: %zu appends acknowledged (%zu events), head %llu, %zu lost%s%s%s\n",
                  phase, cycle, acks.size() - new_from, events,
                  static_cast<unsigned long long>(outcome.head), outcome.lost,
                  outcome.lost > 0 ? ", e.g. " : "", outcome.first_loss.c_str(),
                  full ? "; compacted and fully checked" : "");
      std::fflush(stdout);
    }
  }
}

TEST(PowerLossTest, SyncedAppendsSurvivePowerLossAndUnsyncedOnesAreCaught) {
  const uint64_t seed = ChooseSeed();
  std::printf("power_loss_test seed: %llu (set STRATA_TEST_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", absl::StrCat(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (STRATA_TEST_SEED)"));
  std::mt19937_64 rng(seed);
  const int cycles = CyclesFromEnv("STRATA_POWER_LOSS_CYCLES", kDefaultCycles);
  const int control_cycles =
      CyclesFromEnv("STRATA_POWER_LOSS_CONTROL_CYCLES", kDefaultControlCycles);

  TempDir tmp;
  const auto start = std::chrono::steady_clock::now();
  PhaseTotals sync;
  ASSERT_NO_FATAL_FAILURE(
      RunPhase("sync", tmp.Sub("sync"), "sync", cycles, /*durable=*/true, rng, &sync));
  const auto sync_end = std::chrono::steady_clock::now();
  PhaseTotals control;
  ASSERT_NO_FATAL_FAILURE(RunPhase("control(nosync)", tmp.Sub("nosync"), "nosync", control_cycles,
                                   /*durable=*/false, rng, &control));
  const auto end = std::chrono::steady_clock::now();
  auto ms = [](auto d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };

  std::printf(
      "power_loss_test: sync phase: %d cycles in %lld ms (children %lld ms, checks %lld ms), "
      "%zu appends / %zu events acknowledged, head %llu, %zu acknowledged-event checks "
      "(%d full checks), %zu lost\n",
      sync.cycles, ms(sync_end - start), ms(sync.child_time), ms(sync.check_time),
      sync.acked_appends, sync.acked_events, static_cast<unsigned long long>(sync.head),
      sync.checked, sync.full_checks, sync.lost);
  std::printf(
      "power_loss_test: control phase (kUnsafeNoSync): %d cycles in %lld ms, %zu events "
      "acknowledged, %d of %d cycles caught losing acknowledged events (%zu events lost)\n",
      control.cycles, ms(end - sync_end), control.acked_events, control.cycles_with_loss,
      control.cycles, control.lost);
  ::testing::Test::RecordProperty("cycles", sync.cycles);
  ::testing::Test::RecordProperty("acknowledged_events", absl::StrCat(sync.acked_events));
  ::testing::Test::RecordProperty("event_checks", absl::StrCat(sync.checked));
  ::testing::Test::RecordProperty("control_cycles", control.cycles);
  ::testing::Test::RecordProperty("control_cycles_caught", control.cycles_with_loss);

  EXPECT_GT(sync.acked_events, 0u) << "the child never acknowledged an append with sync on";
  EXPECT_EQ(sync.lost, 0u);
  EXPECT_GT(control.acked_events, 0u) << "the control child never acknowledged an append";
  EXPECT_GE(control.cycles_with_loss, 1)
      << "with sync off, no cycle lost an acknowledged event: the lossy Env or the checker "
         "cannot detect lost writes, so the sync phase proves nothing";
}

}  // namespace
}  // namespace strata
