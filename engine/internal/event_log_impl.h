// EventLog::Impl: the event log's state, shared by its three parts:
// event_log.cc (open, close, head and listeners, the public facade),
// event_log_write.cc (the writer thread and group commit) and
// event_log_read.cc (reads and scans). Private to the engine.
#ifndef STRATA_ENGINE_INTERNAL_EVENT_LOG_IMPL_H_
#define STRATA_ENGINE_INTERNAL_EVENT_LOG_IMPL_H_

#ifndef STRATA_ENGINE_INTERNALS
#error \
    "engine/internal/ is private to strata::engine (white-box tests link strata::engine_internals): include the engine's public headers"
#endif

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/base/rocksdb_setup.h"
#include "engine/base/rocksdb_status.h"
#include "engine/event_log.h"
#include "engine/index_streams.h"
#include "engine/internal/codec.h"
#include "engine/internal/follower_registry.h"
#include "engine/internal/index_batch.h"
#include "engine/log_stats.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace strata {

namespace internal {

// Iterator reads of whole ranges: large readahead, no block-cache pollution.
inline rocksdb::ReadOptions ScanReadOptions(const rocksdb::Slice* upper_bound) {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  ro.iterate_upper_bound = upper_bound;
  return ro;
}

inline rocksdb::Slice ToSlice(absl::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

}  // namespace internal

// The engine's own names for the format and storage helpers, in every part.
using internal::DecodeRecord;
using internal::FromRocksDb;
using internal::GetBigEndian64;
using internal::PositionKey;
using internal::ScanReadOptions;
using internal::StreamKey;
using internal::ToSlice;

// One append waiting for, or being handled by, the writer thread.
struct PendingAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<NewEvent> events;
  AppendCallback done;
  // Set for a deletion of `stream` (no events: the writer makes the one it
  // writes to the metastream).
  std::optional<DeleteMode> delete_mode;
  std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
  absl::StatusOr<AppendResult> result = absl::UnknownError("not processed");
  bool wrote = false;            // added records to the group's batch
  bool needs_group_write = false;  // a dedup whose original is in this group
};

class EventLog::Impl {
 public:
  Impl(std::string data_dir, EventLogOptions options)
      : data_dir_(std::move(data_dir)), options_(std::move(options)) {}

  ~Impl() { Close(); }

  absl::Status Open();
  void Close();
  void Enqueue(std::unique_ptr<PendingAppend> append);

  absl::Status Scan(const ReadAllOptions& options, const EventVisitor& visit) const;
  absl::StatusOr<std::vector<RecordedEvent>> ReadStream(absl::string_view stream,
                                                        const ReadStreamOptions& options) const;
  absl::StatusOr<RecordedEvent> ReadEvent(GlobalPosition position) const;

  // Where a stream's versions are indexed: keys StreamKey(name, version) of
  // `cf`, `streams` for a stream's own (a position each), `indexes` for an
  // index stream's (engine/index_streams.h; runs: an IndexRun each).
  // FailedPrecondition for an index stream of a log opened read-only before
  // it was ever indexed.
  struct VersionKeys {
    rocksdb::ColumnFamilyHandle* cf;
    std::string name;
    bool runs = false;
  };
  absl::StatusOr<VersionKeys> KeysOf(absl::string_view stream) const;
  // Reads the events at `positions` (PositionKeys, of `stream`'s index) with
  // one MultiGet and calls `visit(i, event)` for each in order, stopping at
  // its first error; DataLoss for a missing or damaged one.
  absl::Status ReadPositions(const std::vector<std::string>& positions, absl::string_view stream,
                             absl::FunctionRef<absl::Status(size_t, const EventView&)> visit) const;
  // ReadStream of an index stream ($ce-, $et-) whose keys are `keys`, as of
  // `limit`.
  absl::StatusOr<std::vector<RecordedEvent>> ReadIndexStream(absl::string_view stream,
                                                             const IndexStream& index,
                                                             const VersionKeys& keys,
                                                             const ReadStreamOptions& options,
                                                             GlobalPosition limit) const;
  // The last version stored, committed or not.
  absl::StatusOr<std::optional<StreamVersion>> StoredLastVersion(const VersionKeys& keys) const;
  // The position of `version` (NotFound when it is not stored).
  absl::StatusOr<GlobalPosition> PositionOfVersion(const VersionKeys& keys,
                                                   StreamVersion version) const;
  absl::StatusOr<std::vector<StreamSummary>> ListStreams(absl::string_view prefix,
                                                         absl::string_view after,
                                                         size_t limit) const;
  // The last version among the events at positions <= limit.
  absl::StatusOr<std::optional<StreamVersion>> LastVersionAsOf(const VersionKeys& keys,
                                                               GlobalPosition limit) const;
  // With !last_version_wanted, last_version is looked up only when metadata
  // is in force (which needs it); with !with_metadata, none is looked up.
  absl::StatusOr<StreamInfo> InfoAsOf(absl::string_view stream, GlobalPosition limit,
                                      bool last_version_wanted = true,
                                      bool with_metadata = true) const;
  absl::StatusOr<GlobalPosition> ResolveLimit(const std::optional<GlobalPosition>& as_of) const;

  GlobalPosition Head() const { return head_.load(std::memory_order_acquire); }
  absl::Status WaitForHead(GlobalPosition position, absl::Time deadline) const;
  uint64_t AddListener(std::function<void(GlobalPosition)> listener);
  void RemoveListener(uint64_t id);
  // Counts an append's (or deletion's) end in stats_, then calls its `done`.
  void Complete(PendingAppend& append);
  // Counts one that ended before it was queued.
  void CountRejected(const absl::Status& status);
  const LogStats& stats() const { return stats_; }
  absl::StatusOr<StorageStats> GetStorageStats() const;

  absl::Status VerifyChecksums() const {
    return internal::FromRocksDb(db_->VerifyChecksum(), "verify checksums");
  }
  absl::Status Checkpoint(const std::string& dir) const {
    return internal::WriteCheckpoint(db_.get(), dir);
  }

  const std::string& data_dir() const { return data_dir_; }
  const EventLogOptions& options() const { return options_; }
  internal::FollowerRegistry* followers() const { return &followers_; }

 private:
  // An event of the group being committed, for deduplication within it.
  struct GroupEvent {
    GlobalPosition position;
    StreamVersion stream_version;
    const std::string* stream;
    const NewEvent* event;
  };
  // What a stored event id refers to.
  struct StoredEvent {
    GlobalPosition position = 0;
    StreamVersion stream_version = 0;
    std::string stream;
    RecordedEvent event;  // filled for stored events; group events use `pending`
    const NewEvent* pending = nullptr;
  };

  // What the group being committed has added so far.
  struct Group {
    rocksdb::WriteBatch batch;
    GlobalPosition next = 0;  // the next position to hand out
    int64_t now_us = 0;
    absl::flat_hash_map<std::string, std::optional<StreamVersion>> heads;
    absl::flat_hash_map<EventId, GroupEvent> ids;
    absl::flat_hash_set<std::string> tombstoned;                  // streams
    absl::flat_hash_map<std::string, std::string> metadata_json;  // stream -> last $metadata
    internal::IndexBatch index;                                   // the runs of the index streams
    // The event id index entries, written after the rest in id order.
    std::vector<std::pair<EventId, GlobalPosition>> id_entries;
  };

  void WriterLoop();
  void CommitGroup(std::vector<std::unique_ptr<PendingAppend>>& group);
  // The checks and records of one append or deletion; sets its result.
  void AddToGroup(PendingAppend& append, Group& group);
  // Adds `events` to `stream` from `first_version` on.
  AppendResult AddEvents(const std::string& stream, StreamVersion first_version,
                         std::vector<NewEvent>& events, Group& group);
  // The $metadata or $streamDeleted event that deletes a stream whose last
  // version is `current`.
  absl::StatusOr<NewEvent> DeletionEvent(const std::string& stream, DeleteMode mode,
                                         std::optional<StreamVersion> current,
                                         const Group& group) const;
  absl::StatusOr<bool> IsTombstoned(const std::string& stream, const Group& group);
  // The metastream's last $metadata or $streamDeleted event at or before
  // `limit` decides: sets `info`'s metadata or tombstoned_at.
  absl::Status LoadMetadata(absl::string_view stream, GlobalPosition limit, StreamInfo* info) const;
  absl::StatusOr<std::optional<AppendResult>> CheckIdempotency(
      const PendingAppend& append,
      const absl::flat_hash_map<EventId, GroupEvent>& group_ids, bool* in_group) const;
  absl::StatusOr<std::optional<StoredEvent>> FindEventId(
      const EventId& id, const absl::flat_hash_map<EventId, GroupEvent>& group_ids) const;
  absl::StatusOr<std::optional<StreamVersion>> CurrentLastVersion(
      const std::string& stream,
      const absl::flat_hash_map<std::string, std::optional<StreamVersion>>& group_heads);
  // The next version of the index with that `indexes` key name:
  // index_next_cache_'s, else the store's.
  absl::StatusOr<StreamVersion> NextIndexVersion(const std::string& key_name) const;
  // At open: indexes the events of a log written before index streams
  // existed, resuming where an interrupted run stopped.
  absl::Status IndexOldEvents(GlobalPosition head);
  // Logs a warning for streams named like index streams, which an older log
  // may hold (reads of that name now read the index).
  void WarnOfShadowedStreams() const;
  void Publish(GlobalPosition head);
  int64_t NowUs() const {
    return options_.clock_us ? options_.clock_us() : absl::ToUnixMicros(absl::Now());
  }

  const std::string data_dir_;
  const EventLogOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* events_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* ids_cf_ = nullptr;
  // Null when the log was opened read-only before it was ever indexed.
  rocksdb::ColumnFamilyHandle* indexes_cf_ = nullptr;
  // Every event is indexed, and appends index theirs (set at open).
  bool indexes_complete_ = false;
  absl::Status indexes_error_;  // why IndexOldEvents failed at open
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<internal::SecondaryDir> secondary_dir_;  // read-only: the secondary's files

  absl::Mutex queue_mu_;
  std::deque<std::unique_ptr<PendingAppend>> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  // Owned by the writer thread.
  GlobalPosition next_position_ = 1;
  absl::flat_hash_map<std::string, std::optional<StreamVersion>> last_version_cache_;
  absl::flat_hash_map<std::string, bool> tombstone_cache_;
  absl::flat_hash_map<std::string, StreamVersion> index_next_cache_;
  // Ids of events appended without one: time-ordered, so the group's
  // event_ids entries go in next to each other instead of all over the
  // memtable (random ids cost a skip-list search from the top each).
  EventIdSequence id_sequence_;
  absl::Status write_error_;  // sticky: set when a write failed

  LogStats stats_;

  // Whether any metastream exists: until one does, reads skip looking up
  // metadata. Set before the write that adds the first.
  std::atomic<bool> has_metastreams_{false};

  // The committed head, published after each group's write returns.
  std::atomic<GlobalPosition> head_{0};
  mutable absl::Mutex head_mu_;
  GlobalPosition head_guarded_ ABSL_GUARDED_BY(head_mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(head_mu_) = false;

  // Followers waiting for the head to pass their cursor; notified on Publish.
  mutable internal::FollowerRegistry followers_{[this] { return Head(); }};

  absl::Mutex listeners_mu_;
  std::map<uint64_t, std::function<void(GlobalPosition)>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  uint64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
};

}  // namespace strata

#endif  // STRATA_ENGINE_INTERNAL_EVENT_LOG_IMPL_H_
