// LogCursor and Follower (log_cursor.h) on the log's read path, and the
// registry that wakes armed followers after each commit.
#include "engine/log_cursor.h"

#include <algorithm>
#include <utility>

#include "engine/internal/follower_registry.h"

namespace strata {
namespace {

// Positions a Follower scans per step when its filter matches nothing, so a
// sparse filter over a long stretch of the log returns between steps.
constexpr uint64_t kFollowScanMax = 4096;

// The first chunk of a one-stream page (LogCursor::Next); later chunks are
// sized from the bytes per event seen.
constexpr uint64_t kStreamChunkFirst = 64;

// Appends the events `options` selects to `page`, stopping after the one that
// brings their payload to `max_bytes` (then `*full` is set); returns how
// many, and the position of the last one in `*last`.
absl::StatusOr<uint64_t> ScanInto(const EventLog& log, const ReadAllOptions& options,
                                  size_t max_bytes, std::vector<RecordedEvent>* page,
                                  GlobalPosition* last, bool* full) {
  uint64_t count = 0;
  size_t bytes = 0;
  *full = false;
  absl::Status s = log.ScanAll(options, [&](const EventView& e) {
    page->push_back(e.ToRecorded());
    *last = e.position;
    ++count;
    bytes += page->back().payload_bytes();
    *full = bytes >= max_bytes;
    return !*full;
  });
  if (!s.ok()) return s;
  return count;
}

}  // namespace

// ---- LogCursor ----

LogCursor::LogCursor(const EventLog* log, CursorOptions options, GlobalPosition as_of)
    : log_(log), options_(std::move(options)), as_of_(as_of), remaining_(options_.max_count) {
  const bool forward = options_.direction == ReadDirection::kForward;
  const uint64_t first = options_.stream.empty() ? 1 : 0;
  next_ = options_.from.has_value() ? *options_.from : forward ? first : kReadFromEnd;
  done_ = remaining_ == 0 || (options_.stream.empty() && !forward && next_ < first);
}

absl::Status LogCursor::Next(size_t max_events, std::vector<RecordedEvent>* page,
                             size_t max_bytes) {
  if (done_ || max_events == 0) return absl::OkStatus();
  const uint64_t want = std::min<uint64_t>(remaining_, max_events);
  const bool forward = options_.direction == ReadDirection::kForward;
  uint64_t got = 0;
  uint64_t last = 0;  // version or position of the last event read
  bool full = false;  // stopped by max_bytes, not by the end
  if (!options_.stream.empty()) {
    // In chunks sized from the events seen so far, so that a byte bound
    // reached early does not read (and drop) the rest of `want`.
    size_t bytes = 0;
    uint64_t chunk = std::min<uint64_t>(want, kStreamChunkFirst);
    while (got < want && !full) {
      ReadStreamOptions o;
      o.from_version = got == 0 ? next_ : forward ? last + 1 : last - 1;
      o.direction = options_.direction;
      o.max_count = chunk;
      o.as_of_position = as_of_;
      o.apply_metadata = options_.apply_metadata;
      absl::StatusOr<std::vector<RecordedEvent>> events = log_->ReadStream(options_.stream, o);
      if (!events.ok()) return events.status();
      for (RecordedEvent& e : *events) {
        bytes += e.payload_bytes();
        last = e.index_version.value_or(e.stream_version);
        page->push_back(std::move(e));
        ++got;
        full = bytes >= max_bytes;
        if (full) break;
      }
      if (full || got == want) break;
      if (events->size() < chunk || (!forward && last == 0)) break;  // the stream's end
      const uint64_t average = std::max<uint64_t>(1, bytes / got);
      chunk = std::clamp<uint64_t>(max_bytes == SIZE_MAX ? want - got
                                                         : (max_bytes - bytes) / average + 1,
                                   1, want - got);
    }
  } else {
    ReadAllOptions o;
    o.from_position = next_;
    o.direction = options_.direction;
    o.max_count = want;
    o.as_of_position = as_of_;
    o.filter = options_.filter;
    absl::StatusOr<uint64_t> scanned = ScanInto(*log_, o, max_bytes, page, &last, &full);
    if (!scanned.ok()) return scanned.status();
    got = *scanned;
  }
  remaining_ -= got;
  // Fewer than asked and not stopped by size: nothing is left before the end
  // (or the start).
  done_ = (got < want && !full) || remaining_ == 0;
  if (got > 0) {
    const uint64_t first = options_.stream.empty() ? 1 : 0;
    if (forward) {
      next_ = last + 1;
    } else if (last <= first) {
      done_ = true;
    } else {
      next_ = last - 1;
    }
  }
  return absl::OkStatus();
}

// ---- Follower ----

Follower::Follower(const EventLog* log, internal::FollowerRegistry* registry,
                   GlobalPosition after, ReadFilter filter)
    : log_(log), registry_(registry), filter_(std::move(filter)), cursor_(after) {}

Follower::~Follower() { Disarm(); }

absl::Status Follower::Next(size_t max_events, std::vector<RecordedEvent>* page,
                            size_t max_bytes) {
  if (max_events == 0) return absl::OkStatus();
  const GlobalPosition head = log_->Head();
  GlobalPosition cursor = cursor_.load(std::memory_order_relaxed);
  uint64_t found = 0;
  // Scan a bounded range per step; stop at the first step that finds events.
  while (cursor < head && found == 0) {
    ReadAllOptions o;
    o.from_position = cursor + 1;
    o.as_of_position = std::min(head, cursor + kFollowScanMax);
    o.max_count = max_events;
    o.filter = filter_;
    GlobalPosition last = 0;
    bool full = false;
    absl::StatusOr<uint64_t> scanned = ScanInto(*log_, o, max_bytes, page, &last, &full);
    if (!scanned.ok()) return scanned.status();
    found = *scanned;
    cursor = found == max_events || full ? last : *o.as_of_position;
  }
  cursor_.store(cursor, std::memory_order_release);
  return absl::OkStatus();
}

void Follower::NotifyWhenReady(std::function<void()> ready) {
  // Arm keeps the call only when the head has not passed the cursor yet.
  if (!registry_->Arm(&armed_id_, cursor(), &ready)) ready();
}

void Follower::Disarm() { registry_->Disarm(&armed_id_); }

// ---- FollowerRegistry ----

namespace internal {

bool FollowerRegistry::Arm(uint64_t* id, GlobalPosition cursor, std::function<void()>* ready) {
  absl::MutexLock lock(&mu_);
  EraseLocked(id);
  // Read under the lock: a commit that moves the head after this read calls
  // Notify, which waits for the lock and then sees this entry.
  if (head_() > cursor) return false;
  *id = next_id_++;
  by_id_[*id] = by_cursor_.emplace(cursor, Armed{id, std::move(*ready)});
  return true;
}

void FollowerRegistry::Disarm(uint64_t* id) {
  absl::MutexLock lock(&mu_);
  EraseLocked(id);
}

void FollowerRegistry::EraseLocked(uint64_t* id) {
  if (*id == 0) return;
  auto it = by_id_.find(*id);
  if (it != by_id_.end()) {
    by_cursor_.erase(it->second);
    by_id_.erase(it);
  }
  *id = 0;
}

void FollowerRegistry::Notify(GlobalPosition head) {
  absl::MutexLock lock(&mu_);
  while (!by_cursor_.empty() && by_cursor_.begin()->first < head) {
    Armed armed = std::move(by_cursor_.begin()->second);
    by_id_.erase(*armed.id);
    by_cursor_.erase(by_cursor_.begin());
    *armed.id = 0;
    armed.ready();
  }
}

}  // namespace internal
}  // namespace strata
