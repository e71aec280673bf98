// The event log's write path: the append queue, the writer thread and group
// commit (expected versions, idempotency by event id, one synced batch per
// group). See engine/internal/event_log_impl.h.
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/hook_point.h"
#include "engine/base/macros.h"
#include "engine/internal/codec.h"
#include "engine/internal/event_log_impl.h"
#include "rocksdb/write_batch.h"

namespace strata {
namespace {

std::string DescribeVersion(const std::optional<StreamVersion>& v) {
  return v.has_value() ? absl::StrCat("stream is at ", *v) : "stream does not exist";
}

}  // namespace

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

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::CurrentLastVersion(
    const std::string& stream,
    const absl::flat_hash_map<std::string, std::optional<StreamVersion>>& group_heads) {
  if (auto it = group_heads.find(stream); it != group_heads.end()) return it->second;
  if (auto it = last_version_cache_.find(stream); it != last_version_cache_.end()) {
    return it->second;
  }
  STRATA_ASSIGN_OR_RETURN(std::optional<StreamVersion> head, StoredLastVersion(stream));
  if (last_version_cache_.size() >= options_.stream_head_cache_max) last_version_cache_.clear();
  last_version_cache_.emplace(stream, head);
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
        CurrentLastVersion(append->stream, group_heads);
    if (!current.ok()) {
      append->result = current.status();
      continue;
    }
    const ExpectedVersion& expected = append->expected;
    if (!expected.HoldsFor(*current)) {
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
      options_.logger->Log(LogLevel::kError, "log",
                           absl::StrCat("append ", cause.ToString(),
                                        "; refusing appends until the log is reopened"));
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
        if (last_version_cache_.size() >= options_.stream_head_cache_max) {
          last_version_cache_.clear();
        }
        last_version_cache_[stream] = head;
      }
      HookPoint("append.after_write");
      Publish(next - 1);
    }
  }
  for (auto& append : group) append->done(std::move(append->result));
  if (batch.Count() > 0) HookPoint("append.after_ack");
}

}  // namespace strata
