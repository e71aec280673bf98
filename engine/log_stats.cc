// The write-path figures of log_stats.h: AtomicHistogram, the latency and
// group-size bucket bounds, and an append's result as an AppendOutcome and its
// name.
#include "engine/log_stats.h"

#include <algorithm>
#include <utility>

#include "engine/event_log.h"

namespace strata {
namespace {

// Seconds: 50 us to 10 s (an fsync on this kind of machine takes 1-20 ms).
std::vector<double> LatencyBounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
}

std::vector<double> GroupBounds() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}; }

}  // namespace

AtomicHistogram::AtomicHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void AtomicHistogram::Observe(double value) {
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

AtomicHistogram::Snapshot AtomicHistogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const char* AppendOutcomeName(AppendOutcome outcome) {
  switch (outcome) {
    case AppendOutcome::kOk:
      return "ok";
    case AppendOutcome::kDeduplicated:
      return "deduplicated";
    case AppendOutcome::kWrongExpectedVersion:
      return "wrong_expected_version";
    case AppendOutcome::kRejected:
      return "rejected";
    case AppendOutcome::kUnavailable:
      return "unavailable";
    case AppendOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

AppendOutcome AppendOutcomeOf(const absl::StatusOr<AppendResult>& result) {
  if (result.ok()) return result->deduplicated ? AppendOutcome::kDeduplicated : AppendOutcome::kOk;
  switch (result.status().code()) {
    case absl::StatusCode::kAborted:
      return AppendOutcome::kWrongExpectedVersion;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return AppendOutcome::kRejected;
    case absl::StatusCode::kUnavailable:
      return AppendOutcome::kUnavailable;
    default:
      return AppendOutcome::kFailed;
  }
}

LogStats::LogStats()
    : append_seconds(LatencyBounds()), group_events(GroupBounds()), sync_seconds(LatencyBounds()) {}

}  // namespace strata
