// ProjectionRuntime against a real EventLog and real RocksDB in a temp dir:
// golden content of a counter projection, incremental equals rebuild,
// version bump with the old version answering until cut-over, time travel at
// random positions equal to a fresh fold, consistent multi-projection reads,
// read-your-writes waits, and a failing projection isolated from the rest.
#include "projections/runtime/runtime.h"

#include <atomic>
#include <random>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/projections/counter_projection.h"
#include "tests/testutil/plain_store.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using ::strata::testing::CounterProjection;
using ::strata::testing::Dump;
using ::strata::testing::FreshFold;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenAll(); }

  void OpenAll(ProjectionRuntimeOptions options = {}) {
    runtime_.reset();
    log_.reset();
    auto log = EventLog::Open(dir_.Sub("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    options.logger = LineLogger(/*json=*/false, [this](const std::string& line) {
      absl::MutexLock lock(&lines_mu_);
      lines_.push_back(line);
    });
    auto rt = ProjectionRuntime::Open(dir_.Sub("projections"), log_.get(), options);
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = std::move(*rt);
  }

  GlobalPosition AppendN(const std::string& stream, int n, const std::string& type = "Click") {
    std::vector<NewEvent> events;
    for (int i = 0; i < n; ++i) {
      NewEvent e;
      e.type = type;
      e.data = absl::StrCat(stream, "#", i);
      events.push_back(std::move(e));
    }
    auto r = log_->Append(stream, ExpectedVersion::Any(), std::move(events));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_position : 0;
  }

  std::map<std::string, std::string> ReadLive(const std::string& name,
                                              std::optional<GlobalPosition> as_of = std::nullopt,
                                              GlobalPosition* at = nullptr) {
    std::map<std::string, std::string> out;
    absl::Status s = runtime_->Read({name}, as_of, [&](auto readers, GlobalPosition p) {
      out = Dump(*readers[0]);
      if (at != nullptr) *at = p;
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  strata::testing::TempDir dir_;
  absl::Mutex lines_mu_;  // before the runtime, which logs into lines_
  std::vector<std::string> lines_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<ProjectionRuntime> runtime_;
};

TEST_F(RuntimeTest, GoldenCounterContent) {
  AppendN("a", 3);
  AppendN("b", 2, "View");
  AppendN("a", 1, "Reset");
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", 6, absl::Now() + kWait));
  GlobalPosition at = 0;
  std::map<std::string, std::string> state = ReadLive("counters", std::nullopt, &at);
  EXPECT_EQ(at, 6u);
  std::map<std::string, std::string> expected = {
      {"last/a", "a#0"},  // the Reset event's own data
      {"last/b", "b#1"},
      {"stream/b", EncodeCounter(2)},
      {"total", EncodeCounter(6)},
      {"type/Click", EncodeCounter(3)},
      {"type/Reset", EncodeCounter(1)},
      {"type/View", EncodeCounter(2)},
  };
  EXPECT_EQ(state, expected);
}

TEST_F(RuntimeTest, IncrementalEqualsRebuild) {
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) AppendN(absl::StrCat("s", i % 7), 1 + i % 5, i % 3 ? "A" : "B");
  });
  writer.join();
  const GlobalPosition head = log_->Head();
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", head, absl::Now() + kWait));
  std::map<std::string, std::string> incremental = ReadLive("counters");
  uint64_t first_generation = 0;
  for (const auto& st : runtime_->Status()) {
    if (st.state == GenerationState::kLive) first_generation = st.generation;
  }
  ASSERT_NE(first_generation, 0u);
  STRATA_ASSERT_OK(runtime_->Rebuild("counters"));
  // Wait for the cut-over: the live generation changes.
  absl::Time deadline = absl::Now() + kWait;
  bool cut_over = false;
  while (!cut_over && absl::Now() < deadline) {
    for (const auto& st : runtime_->Status()) {
      if (st.state == GenerationState::kLive && st.generation != first_generation) cut_over = true;
    }
    if (!cut_over) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(cut_over);
  EXPECT_EQ(ReadLive("counters"), incremental);
  CounterProjection oracle;
  EXPECT_EQ(incremental, FreshFold(*log_, oracle, head));
}

TEST_F(RuntimeTest, TimeTravelEqualsFreshFold) {
  ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 100;
  options.batch_events_max = 37;
  OpenAll(options);
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    AppendN(absl::StrCat("s", rng() % 11), 1 + rng() % 4, rng() % 5 == 0 ? "Reset" : "Click");
  }
  const GlobalPosition head = log_->Head();
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", head, absl::Now() + kWait));
  CounterProjection oracle;
  std::vector<GlobalPosition> positions = {0, 1, 99, 100, 101, head};
  for (int i = 0; i < 50; ++i) positions.push_back(rng() % (head + 1));
  for (GlobalPosition p : positions) {
    GlobalPosition at = 0;
    EXPECT_EQ(ReadLive("counters", p, &at), FreshFold(*log_, oracle, p)) << "as of " << p;
    EXPECT_EQ(at, p);
  }
  absl::Status beyond = runtime_->Read({"counters"}, head + 1, [](auto, GlobalPosition) {
    return absl::OkStatus();
  });
  EXPECT_EQ(beyond.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(beyond.message()), HasSubstr("beyond the head"));
  // After a restart the snapshots are still there.
  OpenAll(options);
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  for (int i = 0; i < 10; ++i) {
    GlobalPosition p = rng() % (head + 1);
    EXPECT_EQ(ReadLive("counters", p), FreshFold(*log_, oracle, p)) << "as of " << p;
  }
}

// Live batches of one event each: a key changed in several batches between
// two snapshots gets one dirty marker (the worker remembers it), and its value
// still goes into the next snapshot, also when a restart in between made the
// worker forget which markers it wrote.
TEST_F(RuntimeTest, LiveBatchesAcrossARestartKeepTimeTravelExact) {
  ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 10;
  OpenAll(options);
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  std::mt19937 rng(5);
  auto append_one_by_one = [&](int n) {
    for (int i = 0; i < n; ++i) {
      AppendN(absl::StrCat("s", rng() % 3), 1, rng() % 7 == 0 ? "Reset" : "Click");
      STRATA_ASSERT_OK(runtime_->WaitFor("counters", log_->Head(), absl::Now() + kWait));
    }
  };
  append_one_by_one(24);  // two snapshots, then 4 events past the second
  OpenAll(options);
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  append_one_by_one(23);
  const GlobalPosition head = log_->Head();
  ASSERT_EQ(head, 47u);
  CounterProjection oracle;
  for (GlobalPosition p = 0; p <= head; ++p) {
    EXPECT_EQ(ReadLive("counters", p), FreshFold(*log_, oracle, p)) << "as of " << p;
  }
}

// Keys changed after the last snapshot and before a restart, and never again,
// still reach the next snapshot's history: the restarted worker recovers them
// by replaying the events since that snapshot. The dirty markers that stores
// written before 2026-12-05 hold are deleted on the way.
TEST_F(RuntimeTest, KeysChangedOnlyBeforeARestartReachTheNextSnapshot) {
  ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 10;
  OpenAll(options);
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  AppendN("a", 24);  // snapshots at 10 and 20; 21-24 change stream/a and last/a
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", 24, absl::Now() + kWait));
  runtime_.reset();
  const std::string generation_cf = "p/counters/v1/g1";
  {
    strata::testing::PlainStore store(dir_.Sub("projections"));
    ASSERT_NE(store.cf(generation_cf), nullptr);
    ASSERT_TRUE(
        store.db()->Put(rocksdb::WriteOptions(), store.cf(generation_cf), "dlast/a", "").ok());
  }
  OpenAll(options);
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  AppendN("b", 23);  // snapshots at 30 and 40: stream/a and last/a unchanged
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", 47, absl::Now() + kWait));
  CounterProjection oracle;
  for (GlobalPosition p = 0; p <= 47; ++p) {
    EXPECT_EQ(ReadLive("counters", p), FreshFold(*log_, oracle, p)) << "as of " << p;
  }
  runtime_.reset();
  strata::testing::PlainStore store(dir_.Sub("projections"));
  std::string value;
  EXPECT_TRUE(store.db()
                  ->Get(rocksdb::ReadOptions(), store.cf(generation_cf), "dlast/a", &value)
                  .IsNotFound());
}

// A range of at least 16,384 events is read on a ReadAhead thread (several
// chunks of 4,096): the fold sees every event once, in order, also when the
// runtime closes mid-replay and the next one resumes from the checkpoint.
TEST_F(RuntimeTest, LongReplayReadAheadEqualsFreshFold) {
  std::mt19937 rng(7);
  while (log_->Head() < 40'000) {
    AppendN(absl::StrCat("s", rng() % 13), 400 + rng() % 200, rng() % 9 == 0 ? "Reset" : "Click");
  }
  const GlobalPosition head = log_->Head();
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  OpenAll();  // closes the runtime while its worker is (most likely) reading ahead
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", head, absl::Now() + kWait));
  CounterProjection oracle;
  const std::map<std::string, std::string> expected = FreshFold(*log_, oracle, head);
  EXPECT_EQ(expected.at("total"), EncodeCounter(head));
  EXPECT_EQ(ReadLive("counters"), expected);
  for (GlobalPosition p : {GlobalPosition{10'000}, GlobalPosition{16'385}, head - 1}) {
    EXPECT_EQ(ReadLive("counters", p), FreshFold(*log_, oracle, p)) << "as of " << p;
  }
}

// A projection's own snapshot interval: reads as of any position replay at
// most K-1 events (counted by the projection itself) and equal a fresh fold.
TEST_F(RuntimeTest, ProjectionsOwnSnapshotIntervalBoundsTimeTravelReplay) {
  class EveryThirteen : public CounterProjection {
   public:
    uint64_t snapshot_interval_events() const override { return 13; }
    absl::Status Apply(const EventView& e, ProjectionWriter& w) override {
      applied.fetch_add(1);
      return CounterProjection::Apply(e, w);
    }
    std::atomic<uint64_t> applied{0};
  };
  ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 100'000;  // the runtime's: never reached here
  options.batch_events_max = 5;
  OpenAll(options);
  auto projection = std::make_shared<EveryThirteen>();
  ASSERT_TRUE(runtime_->Register(projection).ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 100; ++i) AppendN(absl::StrCat("s", rng() % 5), 1 + rng() % 3);
  const GlobalPosition head = log_->Head();
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", head, absl::Now() + kWait));
  CounterProjection oracle;
  for (int i = 0; i < 40; ++i) {
    const GlobalPosition p = 1 + rng() % head;
    const uint64_t before = projection->applied.load();
    EXPECT_EQ(ReadLive("counters", p), FreshFold(*log_, oracle, p)) << "as of " << p;
    const uint64_t replayed = projection->applied.load() - before;
    EXPECT_EQ(replayed, p == head ? 0 : p % 13) << "as of " << p;
  }
}

// A worker that remembers options.dirty_keys_max changed keys ends its next
// batch on a snapshot, off the snapshot interval: here every 4th event (each
// event to a new stream changes 2 new keys and 2 it changed before).
TEST_F(RuntimeTest, ManyChangedKeysBringTheNextSnapshotForward) {
  class Counted : public CounterProjection {
   public:
    absl::Status Apply(const EventView& e, ProjectionWriter& w) override {
      applied.fetch_add(1);
      return CounterProjection::Apply(e, w);
    }
    std::atomic<uint64_t> applied{0};
  };
  ProjectionRuntimeOptions options;
  options.snapshot_interval_events = 100'000;  // never reached here
  options.batch_events_max = 1;
  options.dirty_keys_max = 8;
  OpenAll(options);
  auto projection = std::make_shared<Counted>();
  ASSERT_TRUE(runtime_->Register(projection).ok());
  for (int i = 0; i < 22; ++i) AppendN(absl::StrCat("s", i), 1);
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", 22, absl::Now() + kWait));
  CounterProjection oracle;
  for (GlobalPosition p = 1; p < 22; ++p) {
    const uint64_t before = projection->applied.load();
    EXPECT_EQ(ReadLive("counters", p), FreshFold(*log_, oracle, p)) << "as of " << p;
    EXPECT_EQ(projection->applied.load() - before, p % 4) << "as of " << p;
  }
}

TEST_F(RuntimeTest, VersionBumpKeepsOldAnswersUntilCutOver) {
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>(1)).ok());
  for (int i = 0; i < 20; ++i) AppendN("s", 500);
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", log_->Head(), absl::Now() + kWait));
  EXPECT_EQ(ReadLive("counters")["total"], EncodeCounter(10000));
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>(2)).ok());
  // Until v2 is live, every read answers v1's counts.
  absl::Time deadline = absl::Now() + kWait;
  bool saw_v2 = false;
  while (!saw_v2 && absl::Now() < deadline) {
    std::string total = ReadLive("counters")["total"];
    if (total == EncodeCounter(20000)) {
      saw_v2 = true;
    } else {
      ASSERT_EQ(total, EncodeCounter(10000));
    }
  }
  ASSERT_TRUE(saw_v2);
  std::vector<ProjectionStatus> status = runtime_->Status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].projection_version, 2u);
  EXPECT_EQ(status[0].state, GenerationState::kLive);
  // Version 1's data is gone after a restart too: only v2 is in the catalog.
  OpenAll();
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>(2)).ok());
  status = runtime_->Status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].projection_version, 2u);
  EXPECT_EQ(ReadLive("counters")["total"], EncodeCounter(20000));
}

TEST_F(RuntimeTest, ConsistentReadAcrossProjections) {
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>(1, "one")).ok());
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>(1, "two")).ok());
  for (int i = 0; i < 50; ++i) AppendN("s", 3);
  STRATA_ASSERT_OK(runtime_->WaitFor("one", log_->Head(), absl::Now() + kWait));
  STRATA_ASSERT_OK(runtime_->WaitFor("two", log_->Head(), absl::Now() + kWait));
  for (GlobalPosition p : {GlobalPosition{0}, GlobalPosition{7}, GlobalPosition{150}}) {
    absl::Status s = runtime_->Read({"one", "two"}, p, [&](auto readers, GlobalPosition at) {
      EXPECT_EQ(at, p);
      auto a = readers[0]->GetCounter("total");
      auto b = readers[1]->GetCounter("total");
      EXPECT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(*a, p);
      EXPECT_EQ(*b, p);
      return absl::OkStatus();
    });
    STRATA_EXPECT_OK(s);
  }
}

// A projection whose worker stops before folding past `gate` until released;
// the same code applied on any other thread (a read's catch-up) never waits.
// The worker is the thread of the first Apply (the test reads nothing before
// the worker has folded up to the gate).
class GatedCounter : public CounterProjection {
 public:
  GatedCounter(std::string name, GlobalPosition gate)
      : CounterProjection(1, std::move(name)), gate_(gate) {}
  absl::Status Apply(const EventView& e, ProjectionWriter& w) override {
    std::thread::id none;
    worker_.compare_exchange_strong(none, std::this_thread::get_id());
    if (e.position > gate_ && worker_.load() == std::this_thread::get_id()) {
      released_.WaitForNotification();
    }
    return CounterProjection::Apply(e, w);
  }
  // Idempotent: also called when the test ends early.
  void Release() {
    if (!released_.HasBeenNotified()) released_.Notify();
  }

 private:
  const GlobalPosition gate_;
  std::atomic<std::thread::id> worker_{};
  absl::Notification released_;
};

// Without as_of, a read of projections a few events apart waits (up to
// options.laggard_wait) for the ones behind to reach the highest checkpoint;
// it answers at the lowest stored checkpoint whatever happens, so an answer
// never runs ahead of what a read model has stored.
class LaggardReadTest : public RuntimeTest {
 protected:
  // "fast" and "slow" (gated at position 30) over 30 events, then `more`.
  std::shared_ptr<GatedCounter> Start(int more) {
    ProjectionRuntimeOptions options;
    options.laggard_wait = absl::Seconds(30);
    OpenAll(options);
    for (int i = 0; i < 10; ++i) AppendN("s", 3);
    auto slow = std::make_shared<GatedCounter>("slow", 30);
    EXPECT_TRUE(runtime_->Register(std::make_shared<CounterProjection>(1, "fast")).ok());
    EXPECT_TRUE(runtime_->Register(slow).ok());
    STRATA_EXPECT_OK(runtime_->WaitFor("slow", 30, absl::Now() + kWait));
    AppendN("t", more);
    STRATA_EXPECT_OK(runtime_->WaitFor("fast", 30 + more, absl::Now() + kWait));
    return slow;
  }
  // The totals of slow and fast, and the position answered at.
  std::tuple<uint64_t, uint64_t, GlobalPosition> ReadTotals() {
    std::tuple<uint64_t, uint64_t, GlobalPosition> out{};
    STRATA_EXPECT_OK(runtime_->Read({"slow", "fast"}, std::nullopt,
                                    [&](auto readers, GlobalPosition p) -> absl::Status {
                                      auto a = readers[0]->GetCounter("total");
                                      auto b = readers[1]->GetCounter("total");
                                      if (!a.ok()) return a.status();
                                      if (!b.ok()) return b.status();
                                      out = {*a, *b, p};
                                      return absl::OkStatus();
                                    }));
    return out;
  }
};

TEST_F(LaggardReadTest, AReadWaitsForAProjectionAFewEventsBehind) {
  std::shared_ptr<GatedCounter> slow = Start(5);  // fast at 35, slow at 30
  struct ReleaseAtExit {
    GatedCounter* gated;
    ~ReleaseAtExit() { gated->Release(); }
  } release_at_exit{slow.get()};
  std::atomic<bool> answered{false};
  std::tuple<uint64_t, uint64_t, GlobalPosition> totals;
  std::thread reader([&] {
    totals = ReadTotals();
    answered = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(answered.load());  // waiting for slow
  slow->Release();
  reader.join();
  EXPECT_EQ(totals, std::make_tuple(uint64_t{35}, uint64_t{35}, GlobalPosition{35}));
}

TEST_F(LaggardReadTest, FurtherBehindTheReadAnswersAtTheLowestCheckpointAtOnce) {
  std::shared_ptr<GatedCounter> slow = Start(4'097);  // fast at 4,127, slow at 30
  struct ReleaseAtExit {
    GatedCounter* gated;
    ~ReleaseAtExit() { gated->Release(); }
  } release_at_exit{slow.get()};
  const absl::Time start = absl::Now();
  EXPECT_EQ(ReadTotals(), std::make_tuple(uint64_t{30}, uint64_t{30}, GlobalPosition{30}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));  // not the 30 s wait
  slow->Release();
  STRATA_ASSERT_OK(runtime_->WaitFor("slow", 4'127, absl::Now() + kWait));
  EXPECT_EQ(ReadTotals(), std::make_tuple(uint64_t{4'127}, uint64_t{4'127}, GlobalPosition{4'127}));
}

// Counts the events of stream "s" only (other events write nothing) and every
// Apply call, on any thread.
class SparseCounter : public Projection {
 public:
  std::string name() const override { return "sparse"; }
  ProjectionVersion version() const override { return 1; }
  absl::Status Apply(const EventView& e, ProjectionWriter& w) override {
    ++applied;
    if (e.stream == "s") w.Add("total", 1);
    return absl::OkStatus();
  }
  std::atomic<uint64_t> applied{0};
};

// A read model whose state has not changed since the answer's position is
// read as it is (no replay), and the read does not wait for the others.
TEST_F(LaggardReadTest, AModelUnchangedSinceTheLowestCheckpointIsReadWithoutReplayOrWait) {
  ProjectionRuntimeOptions options;
  options.laggard_wait = absl::Seconds(30);
  OpenAll(options);
  for (int i = 0; i < 10; ++i) AppendN("s", 3);
  auto slow = std::make_shared<GatedCounter>("slow", 30);
  struct ReleaseAtExit {
    GatedCounter* gated;
    ~ReleaseAtExit() { gated->Release(); }
  } release_at_exit{slow.get()};
  auto sparse = std::make_shared<SparseCounter>();
  ASSERT_TRUE(runtime_->Register(sparse).ok());
  ASSERT_TRUE(runtime_->Register(slow).ok());
  STRATA_ASSERT_OK(runtime_->WaitFor("slow", 30, absl::Now() + kWait));
  AppendN("t", 5);  // positions 31-35: sparse writes nothing
  STRATA_ASSERT_OK(runtime_->WaitFor("sparse", 35, absl::Now() + kWait));
  sparse->applied = 0;
  auto read = [&](std::vector<std::string> names, std::optional<GlobalPosition> as_of) {
    std::pair<uint64_t, GlobalPosition> out{};
    STRATA_EXPECT_OK(
        runtime_->Read(names, as_of, [&](auto readers, GlobalPosition p) -> absl::Status {
          auto total = readers.back()->GetCounter("total");
          if (!total.ok()) return total.status();
          out = {*total, p};
          return absl::OkStatus();
        }));
    return out;
  };
  const absl::Time start = absl::Now();
  EXPECT_EQ(read({"slow", "sparse"}, std::nullopt),
            std::make_pair(uint64_t{30}, GlobalPosition{30}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));  // not the 30 s wait for slow
  EXPECT_EQ(read({"sparse"}, 32), std::make_pair(uint64_t{30}, GlobalPosition{32}));
  EXPECT_EQ(sparse->applied.load(), 0u);  // both answered from the stored state
  // Before its last change the state is replayed from the snapshot (none: from 0).
  EXPECT_EQ(read({"sparse"}, 20), std::make_pair(uint64_t{20}, GlobalPosition{20}));
  EXPECT_EQ(sparse->applied.load(), 20u);
}

TEST_F(RuntimeTest, FailingProjectionStopsAloneWithErrorAndPosition) {
  ASSERT_TRUE(runtime_->Register(std::make_shared<strata::testing::PoisonedProjection>()).ok());
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  AppendN("s", 4);
  AppendN("s", 1, "Poison");
  AppendN("s", 2);
  STRATA_ASSERT_OK(runtime_->WaitFor("counters", 7, absl::Now() + kWait));
  absl::Status wait = runtime_->WaitFor("poisoned", 7, absl::Now() + kWait);
  EXPECT_EQ(wait.code(), absl::StatusCode::kFailedPrecondition);
  bool found = false;
  for (const auto& st : runtime_->Status()) {
    if (st.name != "poisoned") continue;
    found = true;
    EXPECT_EQ(st.state, GenerationState::kFailed);
    EXPECT_EQ(st.error_position, 5u);
    EXPECT_THAT(st.error, HasSubstr("cannot digest Poison"));
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(ReadLive("counters")["total"], EncodeCounter(7));
}

TEST_F(RuntimeTest, WaitForDeadlineAndUnknownNames) {
  ASSERT_TRUE(runtime_->Register(std::make_shared<CounterProjection>()).ok());
  absl::Status s = runtime_->WaitFor("counters", 5, absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(runtime_->WaitFor("nope", 1, absl::Now()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Rebuild("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Read({"nope"}, std::nullopt, [](auto, GlobalPosition) {
    return absl::OkStatus();
  }).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Register(std::make_shared<CounterProjection>(1, "bad name!")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime_->Register(std::make_shared<CounterProjection>()).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace strata
