// Reading the log a page at a time: LogCursor for a finite read (the whole log
// or one stream, either direction, filtered, as of a position) and Follower
// for an endless one (the events after a position, pushed as the head moves).
//
// Both keep no RocksDB iterator between pages (each page seeks afresh), so an
// idle or stalled reader pins no memtable or table file, and memory is bounded
// by the page the caller asks for.
//
// Thread-safety: a LogCursor or Follower is used by one thread at a time
// (Follower::cursor() and NotifyWhenReady/Disarm may be called from any
// thread). Both must not outlive the EventLog that made them.
#ifndef STRATA_ENGINE_LOG_CURSOR_H_
#define STRATA_ENGINE_LOG_CURSOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/event.h"
#include "engine/event_log.h"

namespace strata {

namespace internal {
class FollowerRegistry;
}  // namespace internal

struct CursorOptions {
  // One stream's events by stream version, or (empty) the whole log by
  // position.
  std::string stream;
  ReadDirection direction = ReadDirection::kForward;
  // The first stream version (one stream) or position (whole log) to return.
  // Default: the first (forward) or the last (backward).
  std::optional<uint64_t> from;
  // Whole log only: which events to return.
  ReadFilter filter;
  // See the log as of this position. Default: the head when the cursor is
  // made, so that every page agrees with the first.
  std::optional<GlobalPosition> as_of_position;
  // Most events returned in all. Default: no limit.
  uint64_t max_count = UINT64_MAX;
  // One stream only: false reads every stored version, as
  // ReadStreamOptions::apply_metadata.
  bool apply_metadata = true;
};

class LogCursor {
 public:
  LogCursor(LogCursor&&) = default;
  LogCursor& operator=(LogCursor&&) = default;

  // Appends the next events, at most `max_events`, to `page`, stopping after
  // the event that brings their payload (data + metadata) to `max_bytes`, so
  // at least one event. Adds nothing once the read is done. DataLoss for a
  // damaged record.
  absl::Status Next(size_t max_events, std::vector<RecordedEvent>* page,
                    size_t max_bytes = SIZE_MAX);
  bool done() const { return done_; }
  GlobalPosition as_of_position() const { return as_of_; }

 private:
  friend class EventLog;
  LogCursor(const EventLog* log, CursorOptions options, GlobalPosition as_of);

  const EventLog* log_;
  CursorOptions options_;
  GlobalPosition as_of_;
  uint64_t next_;  // the next version / position to read
  uint64_t remaining_;
  bool done_ = false;
};

class Follower {
 public:
  ~Follower();  // disarms
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Appends the matching events after the cursor, up to the head and at most
  // `max_events` and `max_bytes` (as LogCursor::Next), to `page`, and moves
  // the cursor past what it read. Adds nothing when the cursor is at the head
  // (caught up). DataLoss for a damaged record.
  absl::Status Next(size_t max_events, std::vector<RecordedEvent>* page,
                    size_t max_bytes = SIZE_MAX);

  // Every matching event at or before this position has been returned.
  GlobalPosition cursor() const { return cursor_.load(std::memory_order_acquire); }

  // Arms a one-shot call of `ready` for when the head passes the cursor. When
  // it already has, `ready` runs at once on this thread; otherwise on the
  // log's writer thread right after the commit that moves the head, so keep it
  // short (hand the reading to another thread). Replaces an armed call.
  void NotifyWhenReady(std::function<void()> ready);
  // Cancels an armed call; when it is running on another thread, waits for it
  // to return.
  void Disarm();

 private:
  friend class EventLog;
  Follower(const EventLog* log, internal::FollowerRegistry* registry, GlobalPosition after,
           ReadFilter filter);

  const EventLog* log_;
  internal::FollowerRegistry* registry_;
  ReadFilter filter_;
  std::atomic<GlobalPosition> cursor_;
  uint64_t armed_id_ = 0;  // 0: none (guarded by the registry's lock)
};

}  // namespace strata

#endif  // STRATA_ENGINE_LOG_CURSOR_H_
