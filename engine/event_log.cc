// EventLog, its opening and closing, the published head and its listeners,
// and the public facade over EventLog::Impl (engine/internal/event_log_impl.h).
// The write path is in event_log_write.cc, the read path in event_log_read.cc.
#include "engine/event_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engine/base/hook_point.h"
#include "engine/base/macros.h"
#include "engine/base/thread_name.h"
#include "engine/base/validate.h"
#include "engine/index_streams.h"
#include "engine/internal/codec.h"
#include "engine/internal/event_log_impl.h"
#include "engine/internal/events_scan.h"
#include "engine/log_cursor.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace strata {

using internal::kCfEventIds;
using internal::kCfEvents;
using internal::kCfIndexes;
using internal::kCfStreams;
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

bool ExpectedVersion::HoldsFor(std::optional<StreamVersion> current) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kNoStream:
      return !current.has_value();
    case Kind::kStreamExists:
      return current.has_value();
    case Kind::kExact:
      return current.has_value() && *current == version_;
  }
  return false;
}

namespace {
constexpr char kCurrentVersionPayload[] = "type.strata.dev/current_version";
}  // namespace

absl::Status WrongExpectedVersionError(std::string message,
                                       std::optional<StreamVersion> current) {
  absl::Status status = absl::AbortedError(std::move(message));
  status.SetPayload(kCurrentVersionPayload,
                    absl::Cord(current.has_value() ? absl::StrCat(*current) : "none"));
  return status;
}

std::optional<std::optional<StreamVersion>> CurrentVersionOf(const absl::Status& status) {
  if (!absl::IsAborted(status)) return std::nullopt;
  const auto payload = status.GetPayload(kCurrentVersionPayload);  // an absl::optional
  if (!payload.has_value()) return std::nullopt;
  if (*payload == "none") return std::optional<StreamVersion>();
  StreamVersion version = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &version)) return std::nullopt;
  return std::optional<StreamVersion>(version);
}

bool ReadFilter::Matches(absl::string_view stream, absl::string_view type) const {
  if (!absl::StartsWith(stream, stream_prefix)) return false;
  if (event_types.empty()) return true;
  return std::find(event_types.begin(), event_types.end(), type) != event_types.end();
}

absl::Status EventLog::Impl::Open() {
  if (options_.limits.event_bytes_max == 0 || options_.limits.events_per_append_max == 0 ||
      options_.append_queue_max == 0 || options_.group_events_max == 0) {
    return absl::InvalidArgumentError("event log options: limits and queue bounds must be > 0");
  }
  STRATA_RETURN_IF_ERROR(internal::CheckNotHeadless(data_dir_));
  const bool create = options_.create_if_missing && !options_.read_only;
  STRATA_RETURN_IF_ERROR(internal::CreateDirIfAllowed(data_dir_, create));
  rocksdb::DBOptions db_options = internal::StrataDbOptions(create, options_.logger);
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
  // `indexes` came later: a log written before has none, which a read-write
  // open creates (and fills, IndexOldEvents) and a read-only one leaves be.
  bool with_indexes = !options_.read_only;
  if (options_.read_only) {
    std::vector<std::string> names;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, data_dir_, &names);
    if (!listed.ok()) {
      return FromRocksDb(listed, absl::StrCat("open event log '", data_dir_, "'"));
    }
    with_indexes = std::find(names.begin(), names.end(), kCfIndexes) != names.end();
  }
  if (with_indexes) cfs.push_back({kCfIndexes, make_cf(false, 4096)});
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
  if (with_indexes) indexes_cf_ = handles_[4];

  // Recover the head: the last key of `events`. O(1), no replay.
  absl::StatusOr<GlobalPosition> recovered = internal::ReadHeadPosition(db_.get(), events_cf_);
  if (!recovered.ok()) {
    return absl::Status(
        recovered.status().code(),
        absl::StrCat("event log '", data_dir_, "': ", recovered.status().message()));
  }
  const GlobalPosition head = *recovered;
  // Whether any metastream exists: their keys sort together, from "$$".
  std::unique_ptr<rocksdb::Iterator> meta(db_->NewIterator(rocksdb::ReadOptions(), streams_cf_));
  meta->Seek(ToSlice(kMetastreamPrefix));
  has_metastreams_.store(meta->Valid() && meta->key().starts_with(ToSlice(kMetastreamPrefix)),
                         std::memory_order_release);
  STRATA_RETURN_IF_ERROR(FromRocksDb(meta->status(), "look for metastreams"));
  next_position_ = head + 1;
  head_.store(head, std::memory_order_release);
  {
    absl::MutexLock lock(&head_mu_);
    head_guarded_ = head;
  }
  if (indexes_cf_ != nullptr) {
    std::string state;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), indexes_cf_, ToSlice(internal::kIndexesStateKey), &state);
    if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s, "read the index state");
    indexes_complete_ = s.ok() && state == internal::kIndexesComplete;
    if (!indexes_complete_ && !options_.read_only) {
      // A log that cannot be indexed (a damaged record) still serves all
      // else; index streams say why, and the next open tries again.
      indexes_error_ = IndexOldEvents(head);
      indexes_complete_ = indexes_error_.ok();
      if (!indexes_complete_) {
        options_.logger->Log(LogLevel::kError, "log",
                             absl::StrCat("cannot index the log's events by category and type (",
                                          indexes_error_.ToString(),
                                          "); $ce- and $et- streams are unavailable until a "
                                          "later open can"));
      }
    }
  }
  if (options_.read_only) return absl::OkStatus();
  HookPoint("recovery.after_open");
  writer_ = std::thread([this] {
    SetThreadName("strata-writer");
    WriterLoop();
  });
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
    // Flush what the memtables hold: their WAL would otherwise be replayed on
    // the next open (seconds after a busy hour). The data is durable either way.
    if (!options_.read_only) {
      const rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), handles_);
      if (!s.ok()) {
        options_.logger->Log(LogLevel::kWarning, "log", "flush at close failed: " + s.ToString());
      }
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles_.clear();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

absl::StatusOr<StorageStats> EventLog::Impl::GetStorageStats() const {
  StorageStats out;
  auto sum = [&](const std::string& property, uint64_t* value) -> absl::Status {
    if (!db_->GetAggregatedIntProperty(property, value)) {
      return absl::InternalError(absl::StrCat("RocksDB has no property ", property));
    }
    return absl::OkStatus();
  };
  STRATA_RETURN_IF_ERROR(sum(rocksdb::DB::Properties::kLiveSstFilesSize, &out.live_sst_bytes));
  STRATA_RETURN_IF_ERROR(sum(rocksdb::DB::Properties::kCurSizeAllMemTables, &out.memtable_bytes));
  STRATA_RETURN_IF_ERROR(sum(rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
                             &out.pending_compaction_bytes));
  // The block cache is shared by the column families: one's figure is all's.
  uint64_t value = 0;
  if (db_->GetIntProperty(events_cf_, rocksdb::DB::Properties::kBlockCacheUsage, &value)) {
    out.block_cache_bytes = value;
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &value)) {
    out.writes_stopped = value != 0;
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &value)) {
    out.delayed_write_rate = value;
  }
  return out;
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

// ---- EventLog ----

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::~EventLog() = default;

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const std::string& data_dir,
                                                         EventLogOptions options) {
  options.logger = OrDefault(std::move(options.logger));
  auto impl = std::make_unique<Impl>(data_dir, std::move(options));
  STRATA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<EventLog>(new EventLog(std::move(impl)));
}

namespace {

// Index streams and their metastreams are the log's own: no appends, no
// deletions, no metadata.
absl::Status CheckNotIndexStream(absl::string_view stream) {
  const absl::string_view owner = StreamOfMetastream(stream).value_or(stream);
  if (!ParseIndexStream(owner).has_value()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("stream: '", stream.substr(0, 64), "' is an index stream ('",
                   kCategoryStreamPrefix, "<category>', '", kEventTypeStreamPrefix,
                   "<type>'), which the log keeps itself; it is read-only"));
}

// An append to a metastream holds valid $metadata events only (and, for an
// import, the tombstone).
absl::Status CheckMetastreamAppend(absl::string_view stream, const std::vector<NewEvent>& events,
                                   bool tombstone_allowed) {
  if (!absl::StartsWith(stream, kMetastreamPrefix)) return absl::OkStatus();
  const std::optional<absl::string_view> described = StreamOfMetastream(stream);
  if (!described.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: '", kMetastreamPrefix, "' is a metastream prefix with no stream"));
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (tombstone_allowed && events[i].type == kStreamDeletedEventType) continue;
    if (events[i].type != kMetadataEventType) {
      return absl::InvalidArgumentError(
          absl::StrCat("events[", i, "].type: metastream '", stream.substr(0, 64), "' holds only '",
                       kMetadataEventType, "' events, not '", events[i].type.substr(0, 64),
                       "' (a stream is deleted through DeleteStream)"));
    }
    absl::StatusOr<StreamMetadata> parsed =
        ParseStreamMetadata(events[i].data, absl::StrCat("events[", i, "].data"));
    if (!parsed.ok()) return parsed.status();
  }
  return absl::OkStatus();
}

// An append's checks before it is queued: the name, the events, a
// metastream's contents.
absl::Status CheckAppend(absl::string_view stream, const std::vector<NewEvent>& events,
                         const Limits& limits, bool tombstone_allowed) {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  STRATA_RETURN_IF_ERROR(CheckNotIndexStream(stream));
  STRATA_RETURN_IF_ERROR(internal::ValidateEvents(events, limits));
  return CheckMetastreamAppend(stream, events, tombstone_allowed);
}

// Runs an asynchronous write and waits for its result.
template <typename Start>
absl::StatusOr<AppendResult> WaitFor(Start start) {
  absl::Notification finished;
  absl::StatusOr<AppendResult> result;
  start([&](absl::StatusOr<AppendResult> r) {
    result = std::move(r);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

// Queues an append or (with `mode`) a deletion, or answers `valid`'s error.
void Submit(EventLog::Impl* impl, const absl::Status& valid, absl::string_view stream,
            ExpectedVersion expected, std::vector<NewEvent> events, std::optional<DeleteMode> mode,
            AppendCallback done) {
  if (!valid.ok()) {
    impl->CountRejected(valid);
    done(valid);
    return;
  }
  auto append = std::make_unique<PendingAppend>();
  append->stream = std::string(stream);
  append->expected = expected;
  append->events = std::move(events);
  append->delete_mode = mode;
  append->done = std::move(done);
  impl->Enqueue(std::move(append));
}

}  // namespace

void EventLog::AppendAsync(absl::string_view stream, ExpectedVersion expected,
                           std::vector<NewEvent> events, AppendCallback done) {
  const absl::Status valid =
      CheckAppend(stream, events, impl_->options().limits, /*tombstone_allowed=*/false);
  Submit(impl_.get(), valid, stream, expected, std::move(events), std::nullopt, std::move(done));
}

void EventLog::ImportAsync(absl::string_view stream, ExpectedVersion expected,
                           std::vector<NewEvent> events, AppendCallback done) {
  const absl::Status valid =
      CheckAppend(stream, events, impl_->options().limits, /*tombstone_allowed=*/true);
  Submit(impl_.get(), valid, stream, expected, std::move(events), std::nullopt, std::move(done));
}

absl::StatusOr<AppendResult> EventLog::Append(absl::string_view stream, ExpectedVersion expected,
                                              std::vector<NewEvent> events) {
  return WaitFor([&](AppendCallback done) {
    AppendAsync(stream, expected, std::move(events), std::move(done));
  });
}

void EventLog::DeleteStreamAsync(absl::string_view stream, ExpectedVersion expected,
                                 DeleteMode mode, AppendCallback done) {
  absl::Status valid = internal::ValidateStreamName(stream);
  if (valid.ok()) valid = CheckNotIndexStream(stream);
  if (valid.ok() && absl::StartsWith(stream, kMetastreamPrefix)) {
    valid = absl::InvalidArgumentError(absl::StrCat(
        "stream: '", stream.substr(0, 64), "' is a metastream; delete the stream it describes"));
  }
  if (valid.ok() && stream.size() + kMetastreamPrefix.size() > kStreamNameBytesMax) {
    valid = absl::InvalidArgumentError(absl::StrCat("stream: a deletable stream name has at most ",
                                                    kStreamNameBytesMax - kMetastreamPrefix.size(),
                                                    " bytes (its metastream adds '",
                                                    kMetastreamPrefix, "')"));
  }
  Submit(impl_.get(), valid, stream, expected, {}, mode, std::move(done));
}

absl::StatusOr<AppendResult> EventLog::DeleteStream(absl::string_view stream,
                                                    ExpectedVersion expected, DeleteMode mode) {
  return WaitFor(
      [&](AppendCallback done) { DeleteStreamAsync(stream, expected, mode, std::move(done)); });
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

absl::StatusOr<LogCursor> EventLog::NewCursor(CursorOptions options) const {
  STRATA_ASSIGN_OR_RETURN(GlobalPosition as_of, impl_->ResolveLimit(options.as_of_position));
  return LogCursor(this, std::move(options), as_of);
}

absl::StatusOr<RecordedEvent> EventLog::ReadEvent(GlobalPosition position) const {
  return impl_->ReadEvent(position);
}

absl::StatusOr<StreamInfo> EventLog::GetStreamInfo(
    absl::string_view stream, std::optional<GlobalPosition> as_of_position) const {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  STRATA_ASSIGN_OR_RETURN(const GlobalPosition limit, impl_->ResolveLimit(as_of_position));
  return impl_->InfoAsOf(stream, limit);
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::StreamLastVersion(
    absl::string_view stream) const {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  STRATA_ASSIGN_OR_RETURN(const Impl::VersionKeys keys, impl_->KeysOf(stream));
  return impl_->StoredLastVersion(keys);
}

absl::StatusOr<bool> EventLog::StreamExists(absl::string_view stream) const {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  STRATA_ASSIGN_OR_RETURN(const Impl::VersionKeys keys, impl_->KeysOf(stream));
  absl::StatusOr<GlobalPosition> first = impl_->PositionOfVersion(keys, 0);
  if (absl::IsNotFound(first.status())) return false;
  if (!first.ok()) return first.status();
  return true;
}

absl::StatusOr<std::vector<StreamSummary>> EventLog::ListStreams(absl::string_view prefix,
                                                                 absl::string_view after,
                                                                 size_t limit) const {
  return impl_->ListStreams(prefix, after, limit);
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
absl::Status EventLog::Checkpoint(const std::string& dir) const { return impl_->Checkpoint(dir); }

const LogStats& EventLog::stats() const { return impl_->stats(); }

absl::StatusOr<StorageStats> EventLog::GetStorageStats() const { return impl_->GetStorageStats(); }

const std::string& EventLog::data_dir() const { return impl_->data_dir(); }

}  // namespace strata
