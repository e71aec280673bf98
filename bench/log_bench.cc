// strata_log_bench: EventLog throughput against plain-RocksDB baselines, in
// one run on one machine, so that the ratios between them mean something.
//
// Workloads (every payload is 200 bytes of pseudo-random data):
//   BM_Append/events:{1,100}/threads:{1,8,64}
//       Durable appends (Durability::kSync, the default) to one shared
//       EventLog; each benchmark thread appends to its own stream with
//       ExpectedVersion::Any(). Concurrent appends share a synced write
//       (group commit). items = events, plus appends_per_s.
//   BM_RocksDbSyncedPut/threads:{1,64}
//       Baseline: a plain rocksdb::DB, one Put (8-byte key, 200-byte value)
//       per iteration with WriteOptions::sync = true. threads:1 is the
//       baseline of the append target; threads:64 (RocksDB's own grouping of
//       concurrent synced writes) is for information.
//   BM_ReadAllScan
//       EventLog::ScanAll (the zero-copy visitor) over a log of 1,000,000
//       events, built once per process with Durability::kUnsafeNoSync in
//       appends of 1,000 events. items = events visited.
//   BM_ReadAllVector
//       The same log read with EventLog::ReadAll in chunks of 10,000 events
//       (copies every event into a RecordedEvent).
//   BM_RocksDbIterate
//       Baseline: a plain rocksdb::DB of 1,000,000 records (8-byte big-endian
//       key, 300-byte value, about the size of a stored event record) read
//       with one forward Iterator. items = records.
//
// After the table it prints the ratios the targets are stated in:
//   ratio append64x1/synced_put   (target >= 20x: group commit works)
//   ratio readall/iterate         (target >= 0.5)
//
// Both scanned stores are closed and reopened after they are built (so their
// data sits in SST files, not memtables) and scanned once before timing.
// Every store lives in a temporary directory under $TMPDIR (or /tmp) that is
// removed at exit. Output is always the console table (this program installs
// its own console reporter); --benchmark_out=FILE still writes JSON.
//
// Usage: strata_log_bench [--benchmark_filter=REGEX] [other benchmark flags]

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_common.h"
#include "benchmark/benchmark.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace strata::bench {
namespace {

// kPayloadBytes, kScanEvents and kBuildEventsPerAppend: see bench_common.h.
constexpr size_t kPlainValueBytes = 300;  // about one stored event record
constexpr uint64_t kReadChunkEvents = 10'000;
constexpr char kEventType[] = "bench.event";

// ---------------------------------------------------------------------------
// Helpers

std::string BigEndianKey(uint64_t n) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  return key;
}

// Options for the plain baselines: the settings the engine's stores share
// that matter for speed (see engine/internal/rocksdb_setup.cc), RocksDB's
// defaults otherwise, and the engine's default 64 MiB block cache.
rocksdb::Options PlainOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.keep_log_file_num = 2;
  o.paranoid_checks = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenPlainDb(const std::string& dir) {
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(PlainOptions(), dir, &db);
  if (!s.ok()) return absl::InternalError(absl::StrCat("rocksdb open '", dir, "': ", s.ToString()));
  return std::unique_ptr<rocksdb::DB>(db);
}

// Setup functions cannot fail a benchmark; they leave the reason here and the
// benchmark body reports it with SkipWithError.
std::string& SetupError() {
  static std::string* error = new std::string;
  return *error;
}

// ---------------------------------------------------------------------------
// BM_Append: durable appends to one EventLog shared by all threads.
//
// Google Benchmark calls Setup once (on the main thread) before it starts
// the benchmark's threads and Teardown once after joining them, for every
// run (including the runs that size the iteration count), so each run gets a
// fresh, empty log.

std::unique_ptr<EventLog>& AppendLog() {
  static auto* log = new std::unique_ptr<EventLog>;
  return *log;
}
std::string& AppendDir() {
  static auto* dir = new std::string;
  return *dir;
}

void AppendSetup(const benchmark::State&) {
  SetupError().clear();
  AppendDir() = FreshDir("append");
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(AppendDir());  // kSync
  if (!log.ok()) {
    SetupError() = absl::StrCat("EventLog::Open: ", log.status().ToString());
    return;
  }
  AppendLog() = *std::move(log);
}

void AppendTeardown(const benchmark::State&) {
  AppendLog().reset();  // waits for the writer, closes the store
  RemoveDir(AppendDir());
}

void BM_Append(benchmark::State& state) {
  const size_t events_per_append = static_cast<size_t>(state.range(0));
  EventLog* log = AppendLog().get();
  bool failed = false;
  if (log == nullptr) {
    state.SkipWithError(SetupError().empty() ? "no log" : SetupError().c_str());
    failed = true;
  }
  const std::string stream = absl::StrCat("append-", state.thread_index());
  Random64 rng(0x5eed0000u + static_cast<uint64_t>(state.thread_index()));
  const std::string payload = rng.Bytes(kPayloadBytes);
  int64_t appends = 0;

  for (auto _ : state) {
    // Never `break` here: with several threads every one of them must reach
    // the end of the loop (a barrier), so a failed thread idles instead.
    if (failed) continue;
    std::vector<NewEvent> events;
    events.reserve(events_per_append);
    for (size_t i = 0; i < events_per_append; ++i) events.push_back(MakeEvent(kEventType, payload));
    absl::StatusOr<AppendResult> result =
        log->Append(stream, ExpectedVersion::Any(), std::move(events));
    if (!result.ok()) {
      state.SkipWithError(absl::StrCat("Append: ", result.status().ToString()).c_str());
      failed = true;
      continue;
    }
    benchmark::DoNotOptimize(result->last_position);
    ++appends;
  }

  const int64_t events = appends * static_cast<int64_t>(events_per_append);
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(events * static_cast<int64_t>(kPayloadBytes));
  state.counters["appends_per_s"] =
      benchmark::Counter(static_cast<double>(appends), benchmark::Counter::kIsRate);
}
// Synced writes cost milliseconds here: MinTime keeps each case to a few
// seconds whatever the speed; real time, since the threads mostly wait.
BENCHMARK(BM_Append)
    ->ArgName("events")
    ->Arg(1)
    ->Arg(100)
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->MinTime(2.0)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Setup(AppendSetup)
    ->Teardown(AppendTeardown);

// ---------------------------------------------------------------------------
// BM_RocksDbSyncedPut: the plain single-thread synced write baseline.

std::unique_ptr<rocksdb::DB>& PutDb() {
  static auto* db = new std::unique_ptr<rocksdb::DB>;
  return *db;
}
std::string& PutDir() {
  static auto* dir = new std::string;
  return *dir;
}

void PutSetup(const benchmark::State&) {
  SetupError().clear();
  PutDir() = FreshDir("put");
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> db = OpenPlainDb(PutDir());
  if (!db.ok()) {
    SetupError() = db.status().ToString();
    return;
  }
  PutDb() = *std::move(db);
}

void PutTeardown(const benchmark::State&) {
  PutDb().reset();
  RemoveDir(PutDir());
}

void BM_RocksDbSyncedPut(benchmark::State& state) {
  rocksdb::DB* db = PutDb().get();
  bool failed = false;
  if (db == nullptr) {
    state.SkipWithError(SetupError().c_str());
    failed = true;
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  const std::string value = Random64(42).Bytes(kPayloadBytes);
  // Each thread writes its own key range: the thread index in the top bits.
  uint64_t n = static_cast<uint64_t>(state.thread_index()) << 40;
  int64_t puts = 0;
  for (auto _ : state) {
    if (failed) continue;  // as in BM_Append: never `break` with threads
    rocksdb::Status s = db->Put(write_options, BigEndianKey(++n), value);
    if (!s.ok()) {
      state.SkipWithError(absl::StrCat("Put: ", s.ToString()).c_str());
      failed = true;
      continue;
    }
    ++puts;
  }
  state.SetItemsProcessed(puts);
  state.SetBytesProcessed(puts * static_cast<int64_t>(8 + kPayloadBytes));
}
// threads:1 is the baseline of the targets. threads:64 is for information
// only: RocksDB's own group commit, the most any grouping gets from this disk.
BENCHMARK(BM_RocksDbSyncedPut)
    ->Threads(1)
    ->Threads(64)
    ->MinTime(2.0)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Setup(PutSetup)
    ->Teardown(PutTeardown);

// ---------------------------------------------------------------------------
// Scan fixtures, built once per process and kept open until main's end.

// The scan log of this program: a stream of its own per append ("scan-<n>",
// created by it), every event of type kEventType.
void ScanLogSetup(const benchmark::State&) {
  BuildScanLogOnce({.stream = [](uint64_t append) { return absl::StrCat("scan-", append); },
                    .type = [](GlobalPosition) { return std::string(kEventType); },
                    .expected_version = ExpectedVersion::NoStream()});
}

struct PlainScanDb {
  std::string dir;
  std::unique_ptr<rocksdb::DB> db;
  std::string error;
};

PlainScanDb& ThePlainScanDb() {
  static auto* plain = new PlainScanDb;
  return *plain;
}

absl::Status IterateOnce(rocksdb::DB* db, uint64_t* records, uint64_t* value_bytes) {
  *records = 0;
  *value_bytes = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++*records;
    *value_bytes += it->value().size();
  }
  if (!it->status().ok()) return absl::InternalError(it->status().ToString());
  return absl::OkStatus();
}

absl::Status BuildPlainScanDb(PlainScanDb* plain) {
  const auto start = std::chrono::steady_clock::now();
  plain->dir = FreshDir("scan-plain");
  {
    absl::StatusOr<std::unique_ptr<rocksdb::DB>> db = OpenPlainDb(plain->dir);
    if (!db.ok()) return db.status();
    Random64 rng(11);
    rocksdb::WriteOptions write_options;  // no sync, as the log's build
    for (uint64_t n = 1; n <= kScanEvents;) {
      rocksdb::WriteBatch batch;
      for (uint64_t i = 0; i < kBuildEventsPerAppend && n <= kScanEvents; ++i, ++n) {
        batch.Put(BigEndianKey(n), rng.Bytes(kPlainValueBytes));
      }
      rocksdb::Status s = (*db)->Write(write_options, &batch);
      if (!s.ok()) return absl::InternalError(s.ToString());
    }
  }  // closed, then reopened as the log is
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> db = OpenPlainDb(plain->dir);
  if (!db.ok()) return db.status();
  plain->db = *std::move(db);
  uint64_t records = 0, bytes = 0;
  absl::Status s = IterateOnce(plain->db.get(), &records, &bytes);
  if (!s.ok()) return s;
  if (records != kScanEvents) {
    return absl::InternalError(absl::StrCat("warm-up iteration saw ", records, " records"));
  }
  std::fprintf(stderr, "strata_log_bench: built a %llu-record RocksDB in %.1f s\n",
               static_cast<unsigned long long>(kScanEvents),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return absl::OkStatus();
}

void PlainScanSetup(const benchmark::State&) {
  PlainScanDb& plain = ThePlainScanDb();
  if (plain.db != nullptr || !plain.error.empty()) return;
  absl::Status s = BuildPlainScanDb(&plain);
  if (!s.ok()) {
    plain.error = absl::StrCat("building the plain RocksDB: ", s.ToString());
    plain.db.reset();
  }
}

// ---------------------------------------------------------------------------
// BM_ReadAllScan / BM_ReadAllVector / BM_RocksDbIterate

void BM_ReadAllScan(benchmark::State& state) { RunScanLogBenchmark(state); }
BENCHMARK(BM_ReadAllScan)
    ->MinTime(2.0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Setup(ScanLogSetup);

void BM_ReadAllVector(benchmark::State& state) {
  ScanLog& scan = TheScanLog();
  if (scan.log == nullptr) state.SkipWithError(scan.error.c_str());
  uint64_t total_events = 0;
  for (auto _ : state) {
    uint64_t events = 0, data_bytes = 0;
    ReadAllOptions options;
    options.max_count = kReadChunkEvents;
    absl::Status error;
    for (;;) {
      absl::StatusOr<std::vector<RecordedEvent>> chunk = scan.log->ReadAll(options);
      if (!chunk.ok()) {
        error = chunk.status();
        break;
      }
      if (chunk->empty()) break;
      for (const RecordedEvent& e : *chunk) data_bytes += e.data.size();
      events += chunk->size();
      options.from_position = chunk->back().position + 1;
    }
    if (!error.ok() || events != kScanEvents) {
      state.SkipWithError(
          absl::StrCat("ReadAll: ", error.ToString(), ", ", events, " events").c_str());
      break;
    }
    benchmark::DoNotOptimize(data_bytes);
    total_events += events;
  }
  state.SetItemsProcessed(static_cast<int64_t>(total_events));
  state.SetBytesProcessed(static_cast<int64_t>(total_events * kPayloadBytes));
}
BENCHMARK(BM_ReadAllVector)
    ->MinTime(2.0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Setup(ScanLogSetup);

void BM_RocksDbIterate(benchmark::State& state) {
  PlainScanDb& plain = ThePlainScanDb();
  if (plain.db == nullptr) state.SkipWithError(plain.error.c_str());
  uint64_t total_records = 0;
  for (auto _ : state) {
    uint64_t records = 0, value_bytes = 0;
    absl::Status s = IterateOnce(plain.db.get(), &records, &value_bytes);
    if (!s.ok() || records != kScanEvents) {
      state.SkipWithError(
          absl::StrCat("Iterator: ", s.ToString(), ", ", records, " records").c_str());
      break;
    }
    benchmark::DoNotOptimize(value_bytes);
    total_records += records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(total_records));
  state.SetBytesProcessed(static_cast<int64_t>(total_records * (8 + kPlainValueBytes)));
}
BENCHMARK(BM_RocksDbIterate)
    ->MinTime(2.0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Setup(PlainScanSetup);

// ---------------------------------------------------------------------------
// The console table, plus the items/s of every run, kept for the ratios.

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& reports) override {
    benchmark::ConsoleReporter::ReportRuns(reports);
    for (const Run& run : reports) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = run.counters.find("items_per_second");
      if (it == run.counters.end()) continue;
      Mean& m = rates_[Key(run.run_name.function_name, run.run_name.args, run.threads)];
      m.sum += it->second.value;
      ++m.count;
    }
  }

  // Mean items/s over the repetitions of one benchmark instance, if it ran.
  std::optional<double> ItemsPerSecond(const std::string& function, const std::string& args,
                                       int64_t threads) const {
    auto it = rates_.find(Key(function, args, threads));
    if (it == rates_.end() || it->second.count == 0) return std::nullopt;
    return it->second.sum / it->second.count;
  }

 private:
  struct Mean {
    double sum = 0;
    int count = 0;
  };
  static std::string Key(const std::string& function, const std::string& args, int64_t threads) {
    return absl::StrCat(function, "|", args, "|", threads);
  }
  std::map<std::string, Mean> rates_;
};

void PrintRatio(const char* name, std::optional<double> numerator,
                std::optional<double> denominator, const char* unit, double target) {
  if (!numerator || !denominator || *denominator <= 0) {
    std::printf("ratio %-28s = n/a (a benchmark did not run or failed)\n", name);
    return;
  }
  const double ratio = *numerator / *denominator;
  if (target > 0) {
    std::printf("ratio %-28s = %.2f%s  (target >= %g%s: %s)\n", name, ratio, unit, target, unit,
                ratio >= target ? "met" : "MISSED");
  } else {
    std::printf("ratio %-28s = %.2f%s\n", name, ratio, unit);
  }
}

void PrintRatios(const RatioReporter& r) {
  const auto append = [&](int events, int threads) {
    return r.ItemsPerSecond("BM_Append", absl::StrCat("events:", events), threads);
  };
  const std::optional<double> put = r.ItemsPerSecond("BM_RocksDbSyncedPut", "", 1);
  const std::optional<double> put64 = r.ItemsPerSecond("BM_RocksDbSyncedPut", "", 64);
  const std::optional<double> iterate = r.ItemsPerSecond("BM_RocksDbIterate", "", 1);
  std::printf("\n");
  // For events:1, items/s is appends/s: one synced append against one synced Put.
  PrintRatio("append1x1/synced_put", append(1, 1), put, "x", 0);
  PrintRatio("append8x1/synced_put", append(1, 8), put, "x", 0);
  PrintRatio("append64x1/synced_put", append(1, 64), put, "x", 20);
  // For events:100 these compare events/s against Puts/s.
  PrintRatio("append1x100/synced_put", append(100, 1), put, "x", 0);
  PrintRatio("append64x100/synced_put", append(100, 64), put, "x", 0);
  // What plain RocksDB's own grouping of 64 synced writers reaches, and how
  // much of it the log's group commit gets.
  PrintRatio("rocksdb_put64/synced_put", put64, put, "x", 0);
  PrintRatio("append64x1/rocksdb_put64", append(1, 64), put64, "x", 0);
  PrintRatio("readall/iterate", r.ItemsPerSecond("BM_ReadAllScan", "", 1), iterate, "", 0.5);
  PrintRatio("readall_vector/iterate", r.ItemsPerSecond("BM_ReadAllVector", "", 1), iterate, "",
             0);
  std::fflush(stdout);
}

void CloseAndRemoveAll() {
  TheScanLog().log.reset();
  ThePlainScanDb().db.reset();
  AppendLog().reset();
  PutDb().reset();
  RemoveDir(RootDir());
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  strata::bench::InitProgram("strata_log_bench");  // its temporary root, removed at exit

  // Colour only on a terminal, like the library's own console reporter.
  strata::bench::RatioReporter reporter(isatty(STDOUT_FILENO)
                                            ? benchmark::ConsoleReporter::OO_Color
                                            : benchmark::ConsoleReporter::OO_None);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  strata::bench::PrintRatios(reporter);
  benchmark::Shutdown();
  strata::bench::CloseAndRemoveAll();
  return 0;
}
