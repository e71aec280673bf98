// The event log's write path: the append queue, the writer thread and group
// commit (expected versions, idempotency by event id, one synced batch per
// group). See engine/internal/event_log_impl.h.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/hook_point.h"
#include "engine/base/macros.h"
#include "engine/index_streams.h"
#include "engine/internal/codec.h"
#include "engine/internal/event_log_impl.h"
#include "engine/internal/index_batch.h"
#include "engine/stream_metadata.h"

namespace strata {
namespace {

// Sets a writer cache's entry; a full cache starts over (refilled from disk).
template <typename Value>
void CacheSet(absl::flat_hash_map<std::string, Value>& cache, size_t max, const std::string& key,
              Value value) {
  if (cache.size() >= max && !cache.contains(key)) cache.clear();
  cache[key] = std::move(value);
}

std::string DescribeVersion(const std::optional<StreamVersion>& v) {
  return v.has_value() ? absl::StrCat("stream is at ", *v) : "stream does not exist";
}

}  // namespace

void EventLog::Impl::Complete(PendingAppend& append) {
  const absl::StatusOr<AppendResult>& r = append.result;
  const AppendOutcome outcome = AppendOutcomeOf(r);
  stats_.appends[static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  if (r.ok()) {
    if (!r->deduplicated) {
      stats_.events_appended.fetch_add(r->last_position - r->first_position + 1,
                                       std::memory_order_relaxed);
    }
    stats_.append_seconds.Observe(std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - append.queued_at)
                                      .count());
  }
  append.done(std::move(append.result));
}

void EventLog::Impl::CountRejected(const absl::Status& status) {
  const AppendOutcome outcome = AppendOutcomeOf(absl::StatusOr<AppendResult>(status));
  stats_.appends[static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
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
  append->result = rejected;
  Complete(*append);
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
      // A deletion writes one event it does not carry yet.
      auto size = [](const PendingAppend& a) { return std::max<size_t>(a.events.size(), 1); };
      size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() || events + size(*queue_.front()) <= options_.group_events_max)) {
        events += size(*queue_.front());
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
  }
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::CurrentLastVersion(
    const std::string& stream,
    const absl::flat_hash_map<std::string, std::optional<StreamVersion>>& group_heads) {
  if (auto it = group_heads.find(stream); it != group_heads.end()) return it->second;
  if (auto it = last_version_cache_.find(stream); it != last_version_cache_.end()) {
    return it->second;
  }
  STRATA_ASSIGN_OR_RETURN(std::optional<StreamVersion> head,
                          StoredLastVersion(VersionKeys{streams_cf_, stream}));
  CacheSet(last_version_cache_, options_.stream_head_cache_max, stream, head);
  return head;
}

absl::StatusOr<StreamVersion> EventLog::Impl::NextIndexVersion(const std::string& key_name) const {
  if (auto cached = index_next_cache_.find(key_name); cached != index_next_cache_.end()) {
    return cached->second;
  }
  STRATA_ASSIGN_OR_RETURN(const std::optional<StreamVersion> last,
                          StoredLastVersion(VersionKeys{indexes_cf_, key_name, /*runs=*/true}));
  return last.has_value() ? *last + 1 : 0;
}

void EventLog::Impl::WarnOfShadowedStreams() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_cf_));
  for (absl::string_view prefix : {kCategoryStreamPrefix, kEventTypeStreamPrefix}) {
    it->Seek(ToSlice(prefix));
    absl::string_view stream;
    StreamVersion version = 0;
    if (!it->Valid() || !it->key().starts_with(ToSlice(prefix)) ||
        !internal::ParseStreamKey(absl::string_view(it->key().data(), it->key().size()), &stream,
                                  &version)) {
      continue;
    }
    options_.logger->Log(
        LogLevel::kWarning, "log",
        absl::StrCat("stream '", stream.substr(0, 64), "' (and maybe more named '", prefix,
                     "...') was written before index streams existed; reads of that name now "
                     "read the index stream, and its own events are in the whole log only"));
  }
}

absl::Status EventLog::Impl::IndexOldEvents(GlobalPosition head) {
  std::string state;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), indexes_cf_, ToSlice(internal::kIndexesStateKey), &state);
  if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s, "read the index state");
  GlobalPosition done = 0;  // indexed up to here
  if (s.ok() && state.size() == 8 && GetBigEndian64(state.data()) <= head) {
    done = GetBigEndian64(state.data());
  } else if (s.ok()) {
    // Not a state this version writes (an earlier format): start over.
    options_.logger->Log(LogLevel::kWarning, "log",
                         "the category and type index is in an unknown format; rebuilding it");
    STRATA_RETURN_IF_ERROR(FromRocksDb(db_->DeleteRange(rocksdb::WriteOptions(), indexes_cf_,
                                                        rocksdb::Slice(""), rocksdb::Slice("\xff")),
                                       "clear the index"));
  }
  if (done == 0) WarnOfShadowedStreams();
  const auto start = std::chrono::steady_clock::now();
  const GlobalPosition first = done + 1;
  if (done < head) {
    options_.logger->Log(LogLevel::kInfo, "log",
                         absl::StrCat("indexing events ", done + 1, " to ", head,
                                      " by category and type (once, for $ce- and $et- streams)"));
  }
  // In batches, each with the state it brings the index to, so that an
  // interrupted run resumes where it stopped.
  constexpr uint64_t kBatchEvents = 10'000;
  internal::IndexBatch index;
  auto load = [this](const std::string& key_name) { return NextIndexVersion(key_name); };
  while (done < head) {
    rocksdb::WriteBatch batch;
    ReadAllOptions o;
    o.from_position = done + 1;
    o.as_of_position = std::min(head, done + kBatchEvents);
    absl::Status added = absl::OkStatus();
    STRATA_RETURN_IF_ERROR(Scan(o, [&](const EventView& e) {
      added = index.Prepare(e.stream, e.type, load);
      if (added.ok()) index.Add(e.stream, e.type, e.position);
      return added.ok();
    }));
    STRATA_RETURN_IF_ERROR(added);
    index.Flush(batch, indexes_cf_);
    done = *o.as_of_position;
    batch.Put(indexes_cf_, ToSlice(internal::kIndexesStateKey), PositionKey(done));
    STRATA_RETURN_IF_ERROR(FromRocksDb(db_->Write(rocksdb::WriteOptions(), &batch), "index"));
    // Written: later lookups find these versions in the store.
    if (index.size() > options_.stream_head_cache_max) index.Clear();
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(
      db_->Put(rocksdb::WriteOptions(), indexes_cf_, ToSlice(internal::kIndexesStateKey),
               ToSlice(internal::kIndexesComplete)),
      "index"));
  if (first <= head) {
    options_.logger->Log(
        LogLevel::kInfo, "log",
        absl::StrFormat(
            "indexed events %d to %d in %.3f s", first, head,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  }
  return absl::OkStatus();
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

absl::StatusOr<bool> EventLog::Impl::IsTombstoned(const std::string& stream, const Group& group) {
  if (group.tombstoned.contains(stream)) return true;
  if (!has_metastreams_.load(std::memory_order_acquire)) return false;
  if (auto it = tombstone_cache_.find(stream); it != tombstone_cache_.end()) return it->second;
  StreamInfo info;
  STRATA_RETURN_IF_ERROR(LoadMetadata(stream, Head(), &info));
  CacheSet(tombstone_cache_, options_.stream_head_cache_max, stream,
           info.tombstoned_at.has_value());
  return info.tombstoned_at.has_value();
}

absl::StatusOr<NewEvent> EventLog::Impl::DeletionEvent(const std::string& stream, DeleteMode mode,
                                                       std::optional<StreamVersion> current,
                                                       const Group& group) const {
  NewEvent e;
  e.content_type = "application/json";
  if (mode == DeleteMode::kTombstone) {
    e.type = std::string(kStreamDeletedEventType);
    e.data = "{}";
    return e;
  }
  // Soft: the metadata in force, other keys kept, with $tb past the last
  // version (an earlier $metadata of this group is not stored yet).
  std::string json;
  if (auto it = group.metadata_json.find(stream); it != group.metadata_json.end()) {
    json = it->second;
  } else if (has_metastreams_.load(std::memory_order_acquire)) {
    StreamInfo info;
    STRATA_RETURN_IF_ERROR(LoadMetadata(stream, Head(), &info));
    json = std::move(info.metadata_json);
  }
  e.type = std::string(kMetadataEventType);
  e.data = WithTruncateBefore(json, current.has_value() ? *current + 1 : 0);
  return e;
}

AppendResult EventLog::Impl::AddEvents(const std::string& stream, StreamVersion first_version,
                                       std::vector<NewEvent>& events, Group& group) {
  if (StreamOfMetastream(stream).has_value()) {
    // Before the write, so that a reader seeing its head sees the flag.
    has_metastreams_.store(true, std::memory_order_release);
  }
  AppendResult result;
  result.first_position = group.next;
  for (size_t i = 0; i < events.size(); ++i) {
    NewEvent& e = events[i];
    if (!e.event_id.has_value()) e.event_id = id_sequence_.Next(group.now_us);
    EventView view;
    view.position = group.next;
    view.stream = stream;
    view.stream_version = first_version + i;
    view.event_id = *e.event_id;
    view.type = e.type;
    view.content_type = e.content_type;
    view.data = e.data;
    view.metadata = e.metadata;
    view.recorded_at_us = e.recorded_at_us.value_or(group.now_us);
    const std::string position_key = PositionKey(group.next);
    group.batch.Put(events_cf_, position_key, internal::EncodeRecord(view));
    group.batch.Put(streams_cf_, StreamKey(stream, view.stream_version), position_key);
    group.id_entries.emplace_back(view.event_id, group.next);
    if (indexes_complete_) group.index.Add(stream, e.type, view.position);  // prepared
    group.ids[view.event_id] = GroupEvent{group.next, view.stream_version, &stream, &e};
    ++group.next;
  }
  result.last_position = group.next - 1;
  result.last_version = first_version + events.size() - 1;
  group.heads[stream] = result.last_version;
  if (std::optional<absl::string_view> described = StreamOfMetastream(stream)) {
    const std::string target(*described);
    for (const NewEvent& e : events) {
      if (e.type == kMetadataEventType) group.metadata_json[target] = e.data;
      if (e.type == kStreamDeletedEventType) group.tombstoned.insert(target);
    }
  }
  return result;
}

void EventLog::Impl::AddToGroup(PendingAppend& append, Group& group) {
  const bool deletion = append.delete_mode.has_value();
  const char* const verb = deletion ? "delete" : "append";
  if (!deletion) {
    bool in_group = false;
    absl::StatusOr<std::optional<AppendResult>> dedup =
        CheckIdempotency(append, group.ids, &in_group);
    if (!dedup.ok() || dedup->has_value()) {
      append.result = dedup.ok() ? absl::StatusOr<AppendResult>(**dedup) : dedup.status();
      append.needs_group_write = dedup.ok() && in_group;
      return;
    }
  }
  // A tombstone ends the stream and its metadata for good.
  const std::optional<absl::string_view> described = StreamOfMetastream(append.stream);
  const std::string owner = described.has_value() ? std::string(*described) : append.stream;
  absl::StatusOr<bool> tombstoned = IsTombstoned(owner, group);
  if (!tombstoned.ok() || *tombstoned) {
    append.result = tombstoned.ok() ? absl::FailedPreconditionError(absl::StrCat(
                                          verb, " stream '", append.stream, "': stream '", owner,
                                          "' is deleted (tombstoned) for good"))
                                    : tombstoned.status();
    return;
  }
  absl::StatusOr<std::optional<StreamVersion>> current =
      CurrentLastVersion(append.stream, group.heads);
  if (!current.ok()) {
    append.result = current.status();
    return;
  }
  if (!append.expected.HoldsFor(*current)) {
    append.result = WrongExpectedVersionError(
        absl::StrCat(verb, " stream '", append.stream, "': expected version ",
                     append.expected.ToString(), ", ", DescribeVersion(*current)),
        *current);
    return;
  }
  if (!deletion) {
    // The versions of the indexes it adds to, first, so that nothing can
    // fail once its events are in the batch.
    auto load = [this](const std::string& key_name) { return NextIndexVersion(key_name); };
    for (const NewEvent& e : append.events) {
      if (!indexes_complete_) break;
      if (absl::Status loaded = group.index.Prepare(append.stream, e.type, load); !loaded.ok()) {
        append.result = loaded;
        return;
      }
    }
    append.result =
        AddEvents(append.stream, current->has_value() ? **current + 1 : 0, append.events, group);
    append.wrote = true;
    return;
  }
  // A deletion: one event in the metastream, after the metastream's last.
  absl::StatusOr<NewEvent> event =
      DeletionEvent(append.stream, *append.delete_mode, *current, group);
  const std::string metastream = MetastreamOf(append.stream);
  absl::StatusOr<std::optional<StreamVersion>> meta_current =
      event.ok() ? CurrentLastVersion(metastream, group.heads) : event.status();
  if (!meta_current.ok()) {
    append.result = meta_current.status();
    return;
  }
  append.events.push_back(*std::move(event));
  append.stream = metastream;  // the events' stream, for the group's id index
  append.result = AddEvents(append.stream, meta_current->has_value() ? **meta_current + 1 : 0,
                            append.events, group);
  append.wrote = true;
}

void EventLog::Impl::CommitGroup(std::vector<std::unique_ptr<PendingAppend>>& group_appends) {
  // Dense positions: the group starts right after the published head.
  STRATA_CHECK(next_position_ == Head() + 1);
  Group group;
  group.next = next_position_;
  group.now_us = NowUs();
  for (auto& append : group_appends) {
    if (!write_error_.ok()) {
      append->result = write_error_;
      continue;
    }
    AddToGroup(*append, group);
  }
  rocksdb::WriteBatch& batch = group.batch;
  const GlobalPosition next = group.next;
  // Event ids are random: inserted in the order of their events, each lands
  // far from the previous one in the memtable's skip list, which made these
  // inserts half of a large group's cost. In id order each search starts
  // from the previous one's place. (A repeated id keeps its last position,
  // as in event order.)
  std::sort(group.id_entries.begin(), group.id_entries.end(), [](const auto& a, const auto& b) {
    const absl::string_view x = a.first.AsBytes(), y = b.first.AsBytes();  // bytewise, as RocksDB
    return x != y ? x < y : a.second < b.second;
  });
  for (const auto& [id, position] : group.id_entries) {
    batch.Put(ids_cf_, ToSlice(id.AsBytes()), PositionKey(position));
  }
  const size_t index_runs = indexes_complete_ ? group.index.Flush(batch, indexes_cf_) : 0;
  // Every position handed out is written, with its stream and id entries, and
  // the runs of the indexes.
  STRATA_CHECK(batch.Count() == 3 * (next - next_position_) + index_runs);
  if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.durability == Durability::kSync;
    HookPoint("append.before_write");
    const auto write_start = std::chrono::steady_clock::now();
    rocksdb::Status s = db_->Write(wo, &batch);
    if (s.ok()) {
      stats_.sync_seconds.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count());
      stats_.group_events.Observe(static_cast<double>(next - next_position_));
    }
    if (!s.ok()) {
      // Nothing of this group is acknowledged, but its outcome is unknown: the
      // batch may have reached the WAL before the sync failed, and recovery
      // would then replay it. So the positions cannot be handed out again:
      // refuse every further append until the store is reopened.
      const absl::Status cause = FromRocksDb(s, "write failed");
      options_.logger->Log(LogLevel::kError, "log",
                           absl::StrCat("append ", cause.ToString(),
                                        "; refusing appends until the log is reopened"));
      const absl::Status unknown = absl::UnknownError(absl::StrCat(
          "append outcome unknown: ", cause.message(),
          "; the events may be stored. Reopen the log and retry with the same event ids"));
      write_error_ = absl::UnavailableError(absl::StrCat(
          "the log refuses appends after an earlier write error (", cause.message(),
          "); reopen it"));
      for (auto& append : group_appends) {
        if (append->wrote || append->needs_group_write) append->result = unknown;
      }
    } else {
      next_position_ = next;
      for (auto& [stream, head] : group.heads) {
        CacheSet(last_version_cache_, options_.stream_head_cache_max, stream, head);
      }
      for (const std::string& stream : group.tombstoned) {
        CacheSet(tombstone_cache_, options_.stream_head_cache_max, stream, true);
      }
      group.index.ForEachNext([&](const std::string& name, StreamVersion version) {
        CacheSet(index_next_cache_, options_.stream_head_cache_max, name, version);
      });
      HookPoint("append.after_write");
      Publish(next - 1);
    }
  }
  for (auto& append : group_appends) Complete(*append);
  if (batch.Count() > 0) HookPoint("append.after_ack");
}

}  // namespace strata
