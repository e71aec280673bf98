// EventLog implementation: one RocksDB instance, three column families (see
// engine/FORMAT.md), and one writer thread doing group commit.
#include "engine/event_log.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/base/hook_point.h"
#include "engine/base/macros.h"
#include "engine/internal/codec.h"
#include "engine/internal/follower_registry.h"
#include "engine/base/rocksdb_setup.h"
#include "engine/base/rocksdb_status.h"
#include "engine/base/validate.h"
#include "engine/log_cursor.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace strata {

using internal::DecodeRecord;
using internal::FromRocksDb;
using internal::GetBigEndian64;
using internal::PositionKey;
using internal::StreamKey;

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no_stream";
    case Kind::kStreamExists:
      return "stream_exists";
    case Kind::kExact:
      return absl::StrCat(version_);
  }
  return "?";
}

bool ReadFilter::Matches(absl::string_view stream, absl::string_view type) const {
  if (!absl::StartsWith(stream, stream_prefix)) return false;
  if (event_types.empty()) return true;
  return std::find(event_types.begin(), event_types.end(), type) != event_types.end();
}

namespace {

constexpr char kCfEvents[] = "events";
constexpr char kCfStreams[] = "streams";
constexpr char kCfEventIds[] = "event_ids";

// Iterator reads of whole ranges: large readahead, no block-cache pollution.
rocksdb::ReadOptions ScanReadOptions(const rocksdb::Slice* upper_bound) {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  ro.fill_cache = false;
  ro.iterate_upper_bound = upper_bound;
  return ro;
}

rocksdb::Slice ToSlice(absl::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

std::string DescribeVersion(const std::optional<StreamVersion>& v) {
  return v.has_value() ? absl::StrCat("stream is at ", *v) : "stream does not exist";
}

}  // namespace

// One append waiting for, or being handled by, the writer thread.
struct PendingAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<NewEvent> events;
  AppendCallback done;
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
  absl::StatusOr<std::optional<StreamVersion>> StoredStreamHead(absl::string_view stream) const;
  absl::StatusOr<GlobalPosition> ResolveLimit(const std::optional<GlobalPosition>& as_of) const;

  GlobalPosition Head() const { return head_.load(std::memory_order_acquire); }
  absl::Status WaitForHead(GlobalPosition position, absl::Time deadline) const;
  uint64_t AddListener(std::function<void(GlobalPosition)> listener);
  void RemoveListener(uint64_t id);
  absl::Status VerifyChecksums() const {
    return FromRocksDb(db_->VerifyChecksum(), "verify checksums");
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

  void WriterLoop();
  void CommitGroup(std::vector<std::unique_ptr<PendingAppend>>& group);
  absl::StatusOr<std::optional<AppendResult>> CheckIdempotency(
      const PendingAppend& append,
      const absl::flat_hash_map<EventId, GroupEvent>& group_ids, bool* in_group) const;
  absl::StatusOr<std::optional<StoredEvent>> FindEventId(
      const EventId& id, const absl::flat_hash_map<EventId, GroupEvent>& group_ids) const;
  absl::StatusOr<std::optional<StreamVersion>> CurrentStreamHead(
      const std::string& stream,
      const absl::flat_hash_map<std::string, std::optional<StreamVersion>>& group_heads);
  absl::StatusOr<GlobalPosition> PositionOfVersion(absl::string_view stream,
                                                   StreamVersion version) const;
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
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<internal::SecondaryDir> secondary_dir_;  // read-only: the secondary's files

  absl::Mutex queue_mu_;
  std::deque<std::unique_ptr<PendingAppend>> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  // Owned by the writer thread.
  GlobalPosition next_position_ = 1;
  absl::flat_hash_map<std::string, std::optional<StreamVersion>> head_cache_;
  absl::Status write_error_;  // sticky: set when a write failed

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

absl::Status EventLog::Impl::Open() {
  if (options_.limits.event_bytes_max == 0 || options_.limits.events_per_append_max == 0 ||
      options_.append_queue_max == 0 || options_.group_events_max == 0) {
    return absl::InvalidArgumentError("event log options: limits and queue bounds must be > 0");
  }
  STRATA_RETURN_IF_ERROR(internal::CheckNotHeadless(data_dir_));
  const bool create = options_.create_if_missing && !options_.read_only;
  STRATA_RETURN_IF_ERROR(internal::CreateDirIfAllowed(data_dir_, create));
  rocksdb::DBOptions db_options = internal::StrataDbOptions(create);
  if (options_.env != nullptr) db_options.env = options_.env;

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  auto make_cf = [&](bool bloom, size_t block_size) {
    rocksdb::ColumnFamilyOptions cf;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.block_size = block_size;
    if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return cf;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, make_cf(false, 4096)},
      {kCfEvents, make_cf(false, 32 << 10)},
      {kCfStreams, make_cf(true, 4096)},
      {kCfEventIds, make_cf(true, 4096)},
  };
  if (options_.read_only) {
    STRATA_ASSIGN_OR_RETURN(secondary_dir_, internal::SecondaryDir::Make());
    STRATA_RETURN_IF_ERROR(internal::OpenSecondary(db_options, data_dir_, *secondary_dir_, cfs,
                                                   &handles_, &db_));
  } else {
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, data_dir_, cfs, &handles_, &raw);
    if (!s.ok()) return FromRocksDb(s, absl::StrCat("open event log '", data_dir_, "'"));
    db_.reset(raw);
  }
  events_cf_ = handles_[1];
  streams_cf_ = handles_[2];
  ids_cf_ = handles_[3];

  // Recover the head: the last key of `events`. O(1), no replay.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
  it->SeekToLast();
  GlobalPosition head = 0;
  if (it->Valid()) {
    if (it->key().size() != 8) {
      return absl::DataLossError(
          absl::StrCat("event log '", data_dir_, "': malformed key in the events column family"));
    }
    head = GetBigEndian64(it->key().data());
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "recover head"));
  next_position_ = head + 1;
  head_.store(head, std::memory_order_release);
  {
    absl::MutexLock lock(&head_mu_);
    head_guarded_ = head;
  }
  if (options_.read_only) return absl::OkStatus();
  HookPoint("recovery.after_open");
  writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

void EventLog::Impl::Close() {
  {
    absl::MutexLock lock(&queue_mu_);
    closing_ = true;
  }
  if (writer_.joinable()) writer_.join();
  {
    absl::MutexLock lock(&head_mu_);
    closed_ = true;
  }
  if (db_ != nullptr) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles_.clear();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

void EventLog::Impl::Enqueue(std::unique_ptr<PendingAppend> append) {
  absl::Status rejected;
  {
    absl::MutexLock lock(&queue_mu_);
    if (options_.read_only) {
      rejected = absl::FailedPreconditionError(
          absl::StrCat("event log '", data_dir_, "' is open read-only"));
    } else if (closing_) {
      rejected = absl::UnavailableError("event log is closing");
    } else if (queue_.size() >= options_.append_queue_max) {
      rejected = absl::UnavailableError(absl::StrCat(
          "append queue is full (", options_.append_queue_max, " waiting appends); retry later"));
    } else {
      queue_.push_back(std::move(append));
      return;
    }
  }
  append->done(rejected);
}

void EventLog::Impl::WriterLoop() {
  while (true) {
    std::vector<std::unique_ptr<PendingAppend>> group;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !self->queue_.empty() || self->closing_;
          },
          this));
      if (queue_.empty()) return;  // closing, and everything queued is done
      size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() ||
              events + queue_.front()->events.size() <= options_.group_events_max)) {
        events += queue_.front()->events.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
  }
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::StoredStreamHead(
    absl::string_view stream) const {
  const std::string end = internal::StreamKeyEnd(stream);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_cf_));
  it->SeekForPrev(StreamKey(stream, UINT64_MAX));
  std::optional<StreamVersion> head;
  if (it->Valid()) {
    absl::string_view key_stream;
    StreamVersion version;
    const rocksdb::Slice key = it->key();
    if (internal::ParseStreamKey(absl::string_view(key.data(), key.size()), &key_stream,
                                 &version) &&
        key_stream == stream) {
      head = version;
    }
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("read head of '", stream, "'")));
  return head;
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::CurrentStreamHead(
    const std::string& stream,
    const absl::flat_hash_map<std::string, std::optional<StreamVersion>>& group_heads) {
  if (auto it = group_heads.find(stream); it != group_heads.end()) return it->second;
  if (auto it = head_cache_.find(stream); it != head_cache_.end()) return it->second;
  STRATA_ASSIGN_OR_RETURN(std::optional<StreamVersion> head, StoredStreamHead(stream));
  if (head_cache_.size() >= options_.stream_head_cache_max) head_cache_.clear();
  head_cache_.emplace(stream, head);
  return head;
}

absl::StatusOr<std::optional<EventLog::Impl::StoredEvent>> EventLog::Impl::FindEventId(
    const EventId& id, const absl::flat_hash_map<EventId, GroupEvent>& group_ids) const {
  if (auto it = group_ids.find(id); it != group_ids.end()) {
    StoredEvent found;
    found.position = it->second.position;
    found.stream_version = it->second.stream_version;
    found.stream = *it->second.stream;
    found.pending = it->second.event;
    return found;
  }
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ids_cf_, ToSlice(id.AsBytes()), &value);
  if (s.IsNotFound()) return std::nullopt;
  STRATA_RETURN_IF_ERROR(FromRocksDb(s, "read event id index"));
  if (value.size() != 8) {
    return absl::DataLossError(absl::StrCat("event id index entry for ", id.ToString(),
                                            " is malformed"));
  }
  StoredEvent found;
  STRATA_ASSIGN_OR_RETURN(found.event, ReadEvent(GetBigEndian64(value.data())));
  if (found.event.event_id != id) {
    return absl::DataLossError(absl::StrCat("event id index entry for ", id.ToString(),
                                            " points at position ", found.event.position,
                                            ", which holds another event"));
  }
  found.position = found.event.position;
  found.stream_version = found.event.stream_version;
  found.stream = found.event.stream;
  return found;
}

absl::StatusOr<std::optional<AppendResult>> EventLog::Impl::CheckIdempotency(
    const PendingAppend& append, const absl::flat_hash_map<EventId, GroupEvent>& group_ids,
    bool* in_group) const {
  const auto& events = append.events;
  std::vector<StoredEvent> found(events.size());
  std::optional<size_t> first_new;
  std::optional<size_t> first_stored;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!events[i].event_id.has_value()) {
      if (!first_new) first_new = i;
      continue;
    }
    STRATA_ASSIGN_OR_RETURN(std::optional<StoredEvent> stored,
                            FindEventId(*events[i].event_id, group_ids));
    if (!stored.has_value()) {
      if (!first_new) first_new = i;
      continue;
    }
    if (!first_stored) first_stored = i;
    found[i] = std::move(*stored);
  }
  if (!first_stored) return std::nullopt;
  const size_t s = *first_stored;
  if (first_new) {
    return absl::AlreadyExistsError(absl::StrCat(
        "append stream '", append.stream, "': events[", s, "].event_id ",
        events[s].event_id->ToString(), " is already stored at position ", found[s].position,
        " but events[", *first_new,
        "] is new; a retried append must repeat the original events exactly"));
  }
  *in_group = false;
  for (size_t i = 0; i < events.size(); ++i) {
    const StoredEvent& f = found[i];
    const NewEvent& e = events[i];
    const std::string prefix = absl::StrCat("append stream '", append.stream, "': events[", i,
                                            "].event_id ", e.event_id->ToString(),
                                            " is already stored at position ", f.position);
    if (f.stream != append.stream) {
      return absl::AlreadyExistsError(absl::StrCat(prefix, " in stream '", f.stream, "'"));
    }
    if (f.position != found[0].position + i) {
      return absl::AlreadyExistsError(
          absl::StrCat(prefix, ", not in the same append as events[0]"));
    }
    const bool same =
        f.pending != nullptr
            ? (f.pending->type == e.type && f.pending->content_type == e.content_type &&
               f.pending->data == e.data && f.pending->metadata == e.metadata)
            : (f.event.type == e.type && f.event.content_type == e.content_type &&
               f.event.data == e.data && f.event.metadata == e.metadata);
    if (!same) {
      return absl::AlreadyExistsError(absl::StrCat(prefix, " with different content"));
    }
    if (f.pending != nullptr) *in_group = true;
  }
  AppendResult result;
  result.first_position = found.front().position;
  result.last_position = found.back().position;
  result.last_version = found.back().stream_version;
  result.deduplicated = true;
  return result;
}

void EventLog::Impl::CommitGroup(std::vector<std::unique_ptr<PendingAppend>>& group) {
  rocksdb::WriteBatch batch;
  // Dense positions: the group starts right after the published head.
  STRATA_CHECK(next_position_ == Head() + 1);
  GlobalPosition next = next_position_;
  absl::flat_hash_map<std::string, std::optional<StreamVersion>> group_heads;
  absl::flat_hash_map<EventId, GroupEvent> group_ids;
  const int64_t now_us = NowUs();

  for (auto& append : group) {
    if (!write_error_.ok()) {
      append->result = write_error_;
      continue;
    }
    bool in_group = false;
    absl::StatusOr<std::optional<AppendResult>> dedup =
        CheckIdempotency(*append, group_ids, &in_group);
    if (!dedup.ok()) {
      append->result = dedup.status();
      continue;
    }
    if (dedup->has_value()) {
      append->result = **dedup;
      append->needs_group_write = in_group;
      continue;
    }
    absl::StatusOr<std::optional<StreamVersion>> current =
        CurrentStreamHead(append->stream, group_heads);
    if (!current.ok()) {
      append->result = current.status();
      continue;
    }
    const ExpectedVersion& expected = append->expected;
    bool matches = true;
    switch (expected.kind()) {
      case ExpectedVersion::Kind::kAny:
        break;
      case ExpectedVersion::Kind::kNoStream:
        matches = !current->has_value();
        break;
      case ExpectedVersion::Kind::kStreamExists:
        matches = current->has_value();
        break;
      case ExpectedVersion::Kind::kExact:
        matches = current->has_value() && **current == expected.version();
        break;
    }
    if (!matches) {
      append->result = absl::AbortedError(
          absl::StrCat("append stream '", append->stream, "': expected version ",
                       expected.ToString(), ", ", DescribeVersion(*current)));
      continue;
    }
    const StreamVersion first_version = current->has_value() ? **current + 1 : 0;
    AppendResult result;
    result.first_position = next;
    for (size_t i = 0; i < append->events.size(); ++i) {
      NewEvent& e = append->events[i];
      if (!e.event_id.has_value()) e.event_id = EventId::Random();
      EventView view;
      view.position = next;
      view.stream = append->stream;
      view.stream_version = first_version + i;
      view.event_id = *e.event_id;
      view.type = e.type;
      view.content_type = e.content_type;
      view.data = e.data;
      view.metadata = e.metadata;
      view.recorded_at_us = e.recorded_at_us.value_or(now_us);
      const std::string position_key = PositionKey(next);
      batch.Put(events_cf_, position_key, internal::EncodeRecord(view));
      batch.Put(streams_cf_, StreamKey(append->stream, view.stream_version), position_key);
      batch.Put(ids_cf_, ToSlice(view.event_id.AsBytes()), position_key);
      group_ids[view.event_id] = GroupEvent{next, view.stream_version, &append->stream, &e};
      ++next;
    }
    result.last_position = next - 1;
    result.last_version = first_version + append->events.size() - 1;
    group_heads[append->stream] = result.last_version;
    append->result = result;
    append->wrote = true;
  }

  // Every position handed out is written, with its stream and id index entries.
  STRATA_CHECK(batch.Count() == 3 * (next - next_position_));
  if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.durability == Durability::kSync;
    HookPoint("append.before_write");
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) {
      // Nothing of this group is acknowledged, but its outcome is unknown: the
      // batch may have reached the WAL before the sync failed, and recovery
      // would then replay it. So the positions cannot be handed out again:
      // refuse every further append until the store is reopened.
      const absl::Status cause = FromRocksDb(s, "write failed");
      std::fprintf(stderr, "strata: append %s; refusing appends until the log is reopened\n",
                   cause.ToString().c_str());
      const absl::Status unknown = absl::UnknownError(absl::StrCat(
          "append outcome unknown: ", cause.message(),
          "; the events may be stored. Reopen the log and retry with the same event ids"));
      write_error_ = absl::UnavailableError(absl::StrCat(
          "the log refuses appends after an earlier write error (", cause.message(),
          "); reopen it"));
      for (auto& append : group) {
        if (append->wrote || append->needs_group_write) append->result = unknown;
      }
    } else {
      next_position_ = next;
      for (auto& [stream, head] : group_heads) {
        if (head_cache_.size() >= options_.stream_head_cache_max) head_cache_.clear();
        head_cache_[stream] = head;
      }
      HookPoint("append.after_write");
      Publish(next - 1);
    }
  }
  for (auto& append : group) append->done(std::move(append->result));
  if (batch.Count() > 0) HookPoint("append.after_ack");
}

void EventLog::Impl::Publish(GlobalPosition head) {
  head_.store(head, std::memory_order_release);
  {
    absl::MutexLock lock(&head_mu_);
    head_guarded_ = head;
  }
  followers_.Notify(head);
  absl::MutexLock lock(&listeners_mu_);
  for (auto& [id, listener] : listeners_) listener(head);
}

absl::Status EventLog::Impl::WaitForHead(GlobalPosition position, absl::Time deadline) const {
  absl::MutexLock lock(&head_mu_);
  struct Args {
    const Impl* self;
    GlobalPosition position;
  } args{this, position};
  head_mu_.AwaitWithDeadline(absl::Condition(
                                 +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                   return a->self->head_guarded_ >= a->position ||
                                          a->self->closed_;
                                 },
                                 &args),
                             deadline);
  if (head_guarded_ >= position) return absl::OkStatus();
  if (closed_) return absl::CancelledError("event log closed while waiting for the head");
  return absl::DeadlineExceededError(absl::StrCat("waiting for position ", position,
                                                  ": the head is at ", head_guarded_));
}

uint64_t EventLog::Impl::AddListener(std::function<void(GlobalPosition)> listener) {
  absl::MutexLock lock(&listeners_mu_);
  const uint64_t id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void EventLog::Impl::RemoveListener(uint64_t id) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

absl::StatusOr<GlobalPosition> EventLog::Impl::ResolveLimit(
    const std::optional<GlobalPosition>& as_of) const {
  const GlobalPosition head = Head();
  if (!as_of.has_value()) return head;
  if (*as_of > head) {
    return absl::OutOfRangeError(
        absl::StrCat("as_of_position ", *as_of, " is beyond the head (", head, ")"));
  }
  return *as_of;
}

absl::StatusOr<RecordedEvent> EventLog::Impl::ReadEvent(GlobalPosition position) const {
  if (position == 0 || position > Head()) {
    return absl::NotFoundError(
        absl::StrCat("no event at position ", position, " (the head is ", Head(), ")"));
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), events_cf_, PositionKey(position), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(absl::StrCat("event at position ", position,
                                            " is missing below the head (", Head(), ")"));
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("read position ", position)));
  std::string scratch;
  EventView view;
  STRATA_RETURN_IF_ERROR(
      DecodeRecord(absl::string_view(value.data(), value.size()), position, &scratch, &view));
  return view.ToRecorded();
}

absl::Status EventLog::Impl::Scan(const ReadAllOptions& options, const EventVisitor& visit) const {
  STRATA_ASSIGN_OR_RETURN(const GlobalPosition limit, ResolveLimit(options.as_of_position));
  if (options.max_count == 0 || limit == 0) return absl::OkStatus();
  const bool forward = options.direction == ReadDirection::kForward;
  GlobalPosition start;
  if (forward) {
    start = std::max<GlobalPosition>(options.from_position, 1);
    if (start > limit) return absl::OkStatus();
  } else {
    if (options.from_position == 0) return absl::OkStatus();
    start = std::min(options.from_position, limit);
  }
  const std::string upper_key = PositionKey(limit + 1);
  const rocksdb::Slice upper(upper_key);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ScanReadOptions(&upper), events_cf_));
  const std::string start_key = PositionKey(start);
  if (forward) {
    it->Seek(start_key);
  } else {
    it->SeekForPrev(start_key);
  }
  GlobalPosition expected = start;
  uint64_t count = 0;
  std::string scratch;
  EventView view;
  for (; it->Valid(); forward ? it->Next() : it->Prev()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != 8) return absl::DataLossError("malformed key in the events column family");
    const GlobalPosition position = GetBigEndian64(key.data());
    if (position != expected) {
      return absl::DataLossError(absl::StrCat("event log has a gap: position ", expected,
                                              " is missing (next stored is ", position, ")"));
    }
    const rocksdb::Slice value = it->value();
    STRATA_RETURN_IF_ERROR(
        DecodeRecord(absl::string_view(value.data(), value.size()), position, &scratch, &view));
    if (options.filter.Matches(view.stream, view.type)) {
      if (!visit(view)) return absl::OkStatus();
      if (++count >= options.max_count) return absl::OkStatus();
    }
    if (forward) {
      if (position == limit) break;
      ++expected;
    } else {
      if (position == 1) break;
      --expected;
    }
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "scan events"));
  // Every position from `start` to the limit (forward) or to 1 (backward) is
  // below the head, so running out of keys before the end means a gap.
  if (!it->Valid()) {
    return absl::DataLossError(
        absl::StrCat("event log has a gap: position ", expected, " is missing"));
  }
  return absl::OkStatus();
}

absl::StatusOr<GlobalPosition> EventLog::Impl::PositionOfVersion(absl::string_view stream,
                                                                 StreamVersion version) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), streams_cf_, StreamKey(stream, version), &value);
  STRATA_RETURN_IF_ERROR(
      FromRocksDb(s, absl::StrCat("read stream '", stream, "' version ", version)));
  if (value.size() != 8) {
    return absl::DataLossError(
        absl::StrCat("stream index entry '", stream, "' version ", version, " is malformed"));
  }
  return GetBigEndian64(value.data());
}

absl::StatusOr<std::vector<RecordedEvent>> EventLog::Impl::ReadStream(
    absl::string_view stream, const ReadStreamOptions& options) const {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  STRATA_ASSIGN_OR_RETURN(const GlobalPosition limit, ResolveLimit(options.as_of_position));
  std::vector<RecordedEvent> out;
  if (options.max_count == 0 || limit == 0) return out;
  const bool forward = options.direction == ReadDirection::kForward;

  StreamVersion start = options.from_version;
  if (!forward) {
    // The last version visible at `limit`: versions rise with positions, so
    // binary-search the stream index (O(log n) point reads, not a scan).
    STRATA_ASSIGN_OR_RETURN(std::optional<StreamVersion> head, StoredStreamHead(stream));
    if (!head.has_value()) return out;
    StreamVersion hi = std::min(*head, start);
    STRATA_ASSIGN_OR_RETURN(GlobalPosition hi_position, PositionOfVersion(stream, hi));
    if (hi_position > limit) {
      STRATA_ASSIGN_OR_RETURN(GlobalPosition first_position, PositionOfVersion(stream, 0));
      if (first_position > limit) return out;
      StreamVersion lo = 0;  // invariant: position(lo) <= limit < position(hi)
      while (hi - lo > 1) {
        const StreamVersion mid = lo + (hi - lo) / 2;
        STRATA_ASSIGN_OR_RETURN(GlobalPosition mid_position, PositionOfVersion(stream, mid));
        if (mid_position <= limit) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      hi = lo;
    }
    start = hi;
  }

  const std::string lower_key = StreamKey(stream, 0);
  const std::string upper_key = internal::StreamKeyEnd(stream);
  const rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_cf_));
  if (forward) {
    it->Seek(StreamKey(stream, start));
  } else {
    it->SeekForPrev(StreamKey(stream, start));
  }
  std::vector<std::string> keys;
  for (; it->Valid() && keys.size() < options.max_count; forward ? it->Next() : it->Prev()) {
    const rocksdb::Slice key = it->key();
    if (key.compare(lower_key) < 0) break;  // backward past version 0
    const rocksdb::Slice value = it->value();
    if (value.size() != 8) {
      return absl::DataLossError(absl::StrCat("stream index entry of '", stream,
                                              "' is malformed"));
    }
    const GlobalPosition position = GetBigEndian64(value.data());
    if (position > limit) {
      if (forward) break;
      continue;  // committed after this read started
    }
    keys.push_back(PositionKey(position));
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("read stream '", stream, "'")));

  std::vector<rocksdb::Slice> key_slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!keys.empty()) {
    db_->MultiGet(rocksdb::ReadOptions(), events_cf_, keys.size(), key_slices.data(),
                  values.data(), statuses.data());
  }
  out.reserve(keys.size());
  std::string scratch;
  EventView view;
  for (size_t i = 0; i < keys.size(); ++i) {
    const GlobalPosition position = GetBigEndian64(keys[i].data());
    if (statuses[i].IsNotFound()) {
      return absl::DataLossError(absl::StrCat("stream '", stream, "' refers to position ",
                                              position, ", which is missing"));
    }
    STRATA_RETURN_IF_ERROR(FromRocksDb(statuses[i], absl::StrCat("read position ", position)));
    STRATA_RETURN_IF_ERROR(DecodeRecord(absl::string_view(values[i].data(), values[i].size()),
                                        position, &scratch, &view));
    if (view.stream != stream) {
      return absl::DataLossError(absl::StrCat("stream index of '", stream, "' points at position ",
                                              position, ", which belongs to '", view.stream, "'"));
    }
    out.push_back(view.ToRecorded());
  }
  return out;
}

// ---- EventLog ----

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::~EventLog() = default;

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const std::string& data_dir,
                                                         EventLogOptions options) {
  auto impl = std::make_unique<Impl>(data_dir, std::move(options));
  STRATA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<EventLog>(new EventLog(std::move(impl)));
}

void EventLog::AppendAsync(absl::string_view stream, ExpectedVersion expected,
                           std::vector<NewEvent> events, AppendCallback done) {
  absl::Status valid = internal::ValidateStreamName(stream);
  if (valid.ok()) valid = internal::ValidateEvents(events, impl_->options().limits);
  if (!valid.ok()) {
    done(valid);
    return;
  }
  auto append = std::make_unique<PendingAppend>();
  append->stream = std::string(stream);
  append->expected = expected;
  append->events = std::move(events);
  append->done = std::move(done);
  impl_->Enqueue(std::move(append));
}

absl::StatusOr<AppendResult> EventLog::Append(absl::string_view stream, ExpectedVersion expected,
                                              std::vector<NewEvent> events) {
  absl::Notification finished;
  absl::StatusOr<AppendResult> result;
  AppendAsync(stream, expected, std::move(events), [&](absl::StatusOr<AppendResult> r) {
    result = std::move(r);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

absl::StatusOr<std::vector<RecordedEvent>> EventLog::ReadStream(
    absl::string_view stream, const ReadStreamOptions& options) const {
  return impl_->ReadStream(stream, options);
}

absl::StatusOr<std::vector<RecordedEvent>> EventLog::ReadAll(const ReadAllOptions& options) const {
  std::vector<RecordedEvent> out;
  STRATA_RETURN_IF_ERROR(impl_->Scan(options, [&out](const EventView& e) {
    out.push_back(e.ToRecorded());
    return true;
  }));
  return out;
}

absl::Status EventLog::ScanAll(const ReadAllOptions& options, const EventVisitor& visit) const {
  return impl_->Scan(options, visit);
}

absl::StatusOr<std::unique_ptr<Follower>> EventLog::Follow(GlobalPosition after_position,
                                                           ReadFilter filter) const {
  const GlobalPosition head = Head();
  if (after_position > head) {
    // Claiming to be caught up past the head would later skip positions
    // silently (e.g. after a restore from an older backup).
    return absl::OutOfRangeError(absl::StrCat("after_position ", after_position,
                                              " is beyond the head (", head, ")"));
  }
  return std::unique_ptr<Follower>(
      new Follower(this, impl_->followers(), after_position, std::move(filter)));
}

absl::StatusOr<RecordedEvent> EventLog::ReadEvent(GlobalPosition position) const {
  return impl_->ReadEvent(position);
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::StreamHead(absl::string_view stream) const {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  return impl_->StoredStreamHead(stream);
}

GlobalPosition EventLog::Head() const { return impl_->Head(); }

absl::Status EventLog::WaitForHead(GlobalPosition position, absl::Time deadline) const {
  return impl_->WaitForHead(position, deadline);
}

uint64_t EventLog::AddHeadListener(std::function<void(GlobalPosition)> listener) {
  return impl_->AddListener(std::move(listener));
}

void EventLog::RemoveHeadListener(uint64_t id) { impl_->RemoveListener(id); }

absl::Status EventLog::VerifyChecksums() const { return impl_->VerifyChecksums(); }

const std::string& EventLog::data_dir() const { return impl_->data_dir(); }

}  // namespace strata
