// Figures of the log's write path for monitoring (EventLog::stats()): append
// outcomes, events appended, and histograms of append latency, group-commit
// size and sync time. Updated with relaxed atomic adds where the work happens
// (the writer thread, the appending thread) and read by anyone at any time
// without a lock, so a metrics scrape never slows the write path. A reader
// sees each figure as of some moment during its read; figures are not
// mutually consistent to the event.
#ifndef STRATA_ENGINE_LOG_STATS_H_
#define STRATA_ENGINE_LOG_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace strata {

struct AppendResult;

// A histogram with fixed bucket upper bounds; Observe is lock-free.
class AtomicHistogram {
 public:
  // `bounds`: the buckets' upper bounds (inclusive), ascending; a last bucket
  // (+Inf) is implied.
  explicit AtomicHistogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> counts;  // per bucket, bounds.size() + 1 (the last is +Inf)
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// How an append (or a deletion) ended.
enum class AppendOutcome {
  kOk,
  kDeduplicated,          // an identical earlier append's result; nothing written
  kWrongExpectedVersion,  // Aborted
  kRejected,              // invalid, too large, conflicting id, tombstoned stream
  kUnavailable,           // queue full, closing, refusing after a write error
  kFailed,                // the write failed (outcome unknown) or the store is damaged
};
inline constexpr size_t kAppendOutcomes = 6;
// "ok", "deduplicated", "wrong_expected_version", "rejected", "unavailable", "failed".
const char* AppendOutcomeName(AppendOutcome outcome);
AppendOutcome AppendOutcomeOf(const absl::StatusOr<AppendResult>& result);

struct LogStats {
  LogStats();

  std::array<std::atomic<uint64_t>, kAppendOutcomes> appends{};
  std::atomic<uint64_t> events_appended{0};  // by acknowledged appends
  AtomicHistogram append_seconds;            // call to acknowledgement
  AtomicHistogram group_events;              // events per group commit
  AtomicHistogram sync_seconds;              // one group's synced write

  uint64_t Appends(AppendOutcome outcome) const {
    return appends[static_cast<size_t>(outcome)].load(std::memory_order_relaxed);
  }
};

// RocksDB's own figures for the log's store (EventLog::GetStorageStats).
struct StorageStats {
  uint64_t live_sst_bytes = 0;      // table files of the current version
  uint64_t memtable_bytes = 0;      // active and immutable memtables
  uint64_t block_cache_bytes = 0;   // block cache in use
  uint64_t pending_compaction_bytes = 0;
  bool writes_stopped = false;      // RocksDB stopped writes (a stall)
  uint64_t delayed_write_rate = 0;  // bytes/s while writes are slowed; 0 when not
};

}  // namespace strata

#endif  // STRATA_ENGINE_LOG_STATS_H_
