// The event log's read path: single events, stream reads (forward, backward,
// as of a position), whole-log scans with filters, stream heads. See
// engine/internal/event_log_impl.h.
#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"
#include "engine/base/validate.h"
#include "engine/index_streams.h"
#include "engine/internal/codec.h"
#include "engine/internal/event_log_impl.h"
#include "engine/internal/events_scan.h"
#include "engine/stream_metadata.h"

namespace strata {

namespace {

absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

absl::Status MalformedRun(const EventLog::Impl::VersionKeys& keys, StreamVersion version) {
  return absl::DataLossError(absl::StrCat("index stream '",
                                          internal::IndexStreamOfKeyName(keys.name), "' version ",
                                          version, ": malformed entry"));
}

}  // namespace

absl::StatusOr<EventLog::Impl::VersionKeys> EventLog::Impl::KeysOf(absl::string_view stream) const {
  const std::optional<IndexStream> index = ParseIndexStream(stream);
  if (!index.has_value()) return VersionKeys{streams_cf_, std::string(stream)};
  if (!indexes_complete_) {
    if (!indexes_error_.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("'", stream.substr(0, 64),
                       "' is an index stream, and indexing the older events of "
                       "event log '",
                       data_dir_, "' failed when it was opened: ", indexes_error_.message()));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "'", stream.substr(0, 64), "' is an index stream, and event log '", data_dir_,
        "' was opened read-only before its events were indexed; open it once read-write (start "
        "stratad on it) to index them"));
  }
  return VersionKeys{indexes_cf_,
                     internal::IndexKeyName(static_cast<char>(index->kind), index->name),
                     /*runs=*/true};
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::StoredLastVersion(
    const VersionKeys& keys) const {
  const std::string end = internal::StreamKeyEnd(keys.name);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, keys.cf));
  it->SeekForPrev(StreamKey(keys.name, UINT64_MAX));
  std::optional<StreamVersion> head;
  if (it->Valid()) {
    absl::string_view key_stream;
    StreamVersion version;
    const rocksdb::Slice key = it->key();
    if (internal::ParseStreamKey(absl::string_view(key.data(), key.size()), &key_stream,
                                 &version) &&
        key_stream == keys.name) {
      head = version;
      if (keys.runs) {
        internal::IndexRun run;
        if (!internal::DecodeIndexRun(ToView(it->value()), &run)) {
          return MalformedRun(keys, version);
        }
        head = version + run.count - 1;
      }
    }
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("read head of '", keys.name, "'")));
  return head;
}

absl::StatusOr<std::vector<StreamSummary>> EventLog::Impl::ListStreams(absl::string_view prefix,
                                                                       absl::string_view after,
                                                                       size_t limit) const {
  // Streams committed up to this head: keys of an append being written may
  // already be in the store, past it.
  const GlobalPosition head = Head();
  std::vector<StreamSummary> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_cf_));
  // Past every key of a stream: internal::StreamKeyEnd.
  std::string next =
      after.empty() || after < prefix ? std::string(prefix) : internal::StreamKeyEnd(after);
  while (out.size() < limit) {
    it->Seek(next);
    if (!it->Valid()) break;
    absl::string_view key(it->key().data(), it->key().size());
    absl::string_view stream;
    StreamVersion version;
    if (!internal::ParseStreamKey(key, &stream, &version)) {
      return absl::DataLossError(absl::StrCat("malformed key in the streams index at '",
                                              absl::CEscape(key.substr(0, 64)), "'"));
    }
    if (!absl::StartsWith(stream, prefix)) break;
    StreamSummary summary;
    summary.stream = std::string(stream);
    next = internal::StreamKeyEnd(summary.stream);
    // Its last version at or below the head.
    it->SeekForPrev(StreamKey(summary.stream, UINT64_MAX));
    bool found = false;
    for (; it->Valid(); it->Prev()) {
      key = absl::string_view(it->key().data(), it->key().size());
      if (!internal::ParseStreamKey(key, &stream, &version) || stream != summary.stream) break;
      if (it->value().size() != 8) {
        return absl::DataLossError(absl::StrCat("streams index: the value of '", summary.stream,
                                                "' version ", version, " is not a position"));
      }
      const GlobalPosition position = GetBigEndian64(it->value().data());
      if (position <= head) {
        summary.last_version = version;
        summary.last_position = position;
        found = true;
        break;
      }
    }
    if (found) out.push_back(std::move(summary));
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "list streams"));
  return out;
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
  // Every position from `start` to the limit (forward) or to 1 (backward) is
  // at or below the head, so the walk checks each is there.
  uint64_t count = 0;
  return internal::WalkEvents(db_.get(), events_cf_, ScanReadOptions(&upper), start,
                              forward ? limit : 1, [&](const EventView& view) {
                                if (!options.filter.Matches(view.stream, view.type)) return true;
                                return visit(view) && ++count < options.max_count;
                              });
}

absl::StatusOr<GlobalPosition> EventLog::Impl::PositionOfVersion(const VersionKeys& keys,
                                                                 StreamVersion version) const {
  if (keys.runs) {
    // The run holding `version`: the last one starting at or before it.
    const std::string lower = StreamKey(keys.name, 0);
    const rocksdb::Slice lower_bound(lower);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_bound;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, keys.cf));
    it->SeekForPrev(StreamKey(keys.name, version));
    STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "read an index"));
    absl::string_view name;
    StreamVersion first = 0;
    internal::IndexRun run;
    if (!it->Valid() || !internal::ParseStreamKey(ToView(it->key()), &name, &first) ||
        name != keys.name) {
      return absl::NotFoundError(absl::StrCat("no version ", version, " in an index"));
    }
    if (!internal::DecodeIndexRun(ToView(it->value()), &run)) return MalformedRun(keys, first);
    if (version - first >= run.count) {
      return absl::NotFoundError(absl::StrCat("no version ", version, " in an index"));
    }
    return run.first_position + (version - first);
  }
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), keys.cf, StreamKey(keys.name, version), &value);
  STRATA_RETURN_IF_ERROR(
      FromRocksDb(s, absl::StrCat("read stream '", keys.name, "' version ", version)));
  if (value.size() != 8) {
    return absl::DataLossError(
        absl::StrCat("stream index entry '", keys.name, "' version ", version, " is malformed"));
  }
  return GetBigEndian64(value.data());
}

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::LastVersionAsOf(
    const VersionKeys& keys, GlobalPosition limit) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<StreamVersion> head, StoredLastVersion(keys));
  if (!head.has_value()) return head;
  STRATA_ASSIGN_OR_RETURN(GlobalPosition head_position, PositionOfVersion(keys, *head));
  if (head_position <= limit) return head;
  // Committed after `limit`: versions rise with positions, so binary-search
  // the stream index (O(log n) point reads, not a scan).
  STRATA_ASSIGN_OR_RETURN(GlobalPosition first_position, PositionOfVersion(keys, 0));
  if (first_position > limit) return std::nullopt;
  StreamVersion lo = 0;  // invariant: position(lo) <= limit < position(hi)
  StreamVersion hi = *head;
  while (hi - lo > 1) {
    const StreamVersion mid = lo + (hi - lo) / 2;
    STRATA_ASSIGN_OR_RETURN(GlobalPosition mid_position, PositionOfVersion(keys, mid));
    if (mid_position <= limit) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

absl::Status EventLog::Impl::LoadMetadata(absl::string_view stream, GlobalPosition limit,
                                          StreamInfo* info) const {
  const std::string metastream = MetastreamOf(stream);
  const std::string lower_key = StreamKey(metastream, 0);
  const std::string upper_key = internal::StreamKeyEnd(metastream);
  const rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_cf_));
  // From the metastream's last event back: the last one that decides wins.
  for (it->SeekForPrev(StreamKey(metastream, UINT64_MAX));
       it->Valid() && it->key().compare(lower_key) >= 0; it->Prev()) {
    if (it->value().size() != 8) {
      return absl::DataLossError(
          absl::StrCat("stream index entry of '", metastream, "' is malformed"));
    }
    const GlobalPosition position = GetBigEndian64(it->value().data());
    if (position > limit) continue;  // committed after the read's position
    STRATA_ASSIGN_OR_RETURN(RecordedEvent e, ReadEvent(position));
    if (e.type == kStreamDeletedEventType) {
      info->tombstoned_at = position;
      return absl::OkStatus();
    }
    if (e.type != kMetadataEventType) continue;
    absl::StatusOr<StreamMetadata> metadata = ParseStreamMetadata(e.data, "metadata");
    if (!metadata.ok()) continue;  // checked at append; ignore what predates the check
    info->metadata = *metadata;
    info->metadata_json = std::move(e.data);
    return absl::OkStatus();
  }
  return FromRocksDb(it->status(), absl::StrCat("read metastream '", metastream, "'"));
}

absl::StatusOr<StreamInfo> EventLog::Impl::InfoAsOf(absl::string_view stream, GlobalPosition limit,
                                                    bool last_version_wanted,
                                                    bool with_metadata) const {
  StreamInfo info;
  // The flag after the limit: a metastream committed at or before the limit
  // set it before the head passed it. (Index streams have no metadata.)
  if (with_metadata && !ParseIndexStream(stream).has_value() &&
      has_metastreams_.load(std::memory_order_acquire)) {
    STRATA_RETURN_IF_ERROR(LoadMetadata(stream, limit, &info));
  }
  if (!last_version_wanted && !info.metadata.has_value()) return info;
  STRATA_ASSIGN_OR_RETURN(const VersionKeys keys, KeysOf(stream));
  STRATA_ASSIGN_OR_RETURN(info.last_version, LastVersionAsOf(keys, limit));
  info.soft_deleted = info.last_version.has_value() && info.metadata.has_value() &&
                      info.metadata->truncate_before.value_or(0) > *info.last_version;
  return info;
}

StreamVersion StreamInfo::first_visible_version() const {
  if (!metadata.has_value()) return 0;
  StreamVersion first = metadata->truncate_before.value_or(0);
  if (metadata->max_count.has_value() && last_version.has_value() &&
      *metadata->max_count <= *last_version) {
    first = std::max(first, *last_version + 1 - *metadata->max_count);
  }
  return first;
}

absl::StatusOr<std::vector<RecordedEvent>> EventLog::Impl::ReadStream(
    absl::string_view stream, const ReadStreamOptions& options) const {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  STRATA_ASSIGN_OR_RETURN(const GlobalPosition limit, ResolveLimit(options.as_of_position));
  std::vector<RecordedEvent> out;
  if (options.max_count == 0 || limit == 0) return out;
  const bool forward = options.direction == ReadDirection::kForward;
  if (const std::optional<IndexStream> index = ParseIndexStream(stream)) {
    STRATA_ASSIGN_OR_RETURN(const VersionKeys keys, KeysOf(stream));
    return ReadIndexStream(stream, *index, keys, options, limit);
  }

  // The versions its metadata lets readers see: [first, last], recorded at
  // or after min_recorded_us.
  StreamVersion first = 0;
  StreamVersion last = UINT64_MAX;
  int64_t min_recorded_us = INT64_MIN;
  const bool metadata = options.apply_metadata && has_metastreams_.load(std::memory_order_acquire);
  if (metadata || !forward) {
    // A forward read needs the last version only to apply metadata.
    STRATA_ASSIGN_OR_RETURN(const StreamInfo info,
                            InfoAsOf(stream, limit, /*last_version_wanted=*/!forward, metadata));
    if (info.tombstoned_at.has_value()) {
      return TombstonedError(stream, *info.tombstoned_at);
    }
    if (info.soft_deleted) {
      return absl::NotFoundError(
          absl::StrCat("stream '", stream, "' is deleted (its versions up to ", *info.last_version,
                       " are truncated by $tb ", *info.metadata->truncate_before, ")"));
    }
    if (info.last_version.has_value()) {
      last = *info.last_version;
    } else if (!forward || info.metadata.has_value()) {
      return out;  // no stream
    }
    if (info.metadata.has_value()) {
      const StreamMetadata& m = *info.metadata;
      first = info.first_visible_version();
      // An age beyond the clock's (e.g. 2^64-1 for "forever") hides nothing.
      const int64_t now_us = NowUs();
      if (m.max_age_seconds.has_value() &&
          *m.max_age_seconds < static_cast<uint64_t>(std::max<int64_t>(now_us, 0)) / 1'000'000) {
        min_recorded_us = now_us - static_cast<int64_t>(*m.max_age_seconds) * 1'000'000;
      }
    }
  }
  StreamVersion next =
      forward ? std::max(options.from_version, first) : std::min(options.from_version, last);
  if (forward ? next > last : next < first) return out;

  const std::string lower_key = StreamKey(stream, first);
  const std::string upper_key = internal::StreamKeyEnd(stream);
  const rocksdb::Slice upper(upper_key);
  // One pass, unless $maxAge hid some of what it read and more may follow.
  while (out.size() < options.max_count) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_cf_));
    if (forward) {
      it->Seek(StreamKey(stream, next));
    } else {
      it->SeekForPrev(StreamKey(stream, next));
    }
    const uint64_t want = options.max_count - out.size();
    std::vector<std::string> positions;
    StreamVersion last_read = next;
    for (; it->Valid() && positions.size() < want; forward ? it->Next() : it->Prev()) {
      const rocksdb::Slice key = it->key();
      if (key.compare(lower_key) < 0) break;  // backward past the first visible version
      const rocksdb::Slice value = it->value();
      if (value.size() != 8) {
        return absl::DataLossError(
            absl::StrCat("stream index entry of '", stream, "' is malformed"));
      }
      const GlobalPosition position = GetBigEndian64(value.data());
      if (position > limit) {
        if (forward) break;
        continue;  // committed after this read started
      }
      last_read = GetBigEndian64(key.data() + key.size() - 8);
      positions.push_back(PositionKey(position));
    }
    STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("read stream '", stream, "'")));

    out.reserve(out.size() + positions.size());
    size_t hidden = 0;
    STRATA_RETURN_IF_ERROR(
        ReadPositions(positions, stream, [&](size_t, const EventView& view) -> absl::Status {
          if (view.stream != stream) {
            return absl::DataLossError(absl::StrCat("stream index of '", stream,
                                                    "' points at position ", view.position,
                                                    ", which belongs to '", view.stream, "'"));
          }
          if (view.recorded_at_us < min_recorded_us) {
            ++hidden;  // older than $maxAge
          } else {
            out.push_back(view.ToRecorded());
          }
          return absl::OkStatus();
        }));
    // Done at the stream's end (fewer keys than wanted) or when nothing was
    // hidden (then `want` events were added).
    if (hidden == 0 || positions.size() < want) break;
    if (forward ? last_read >= last : last_read <= first) break;
    next = forward ? last_read + 1 : last_read - 1;
  }
  return out;
}

}  // namespace strata

namespace strata {

absl::Status EventLog::Impl::ReadPositions(
    const std::vector<std::string>& positions, absl::string_view stream,
    absl::FunctionRef<absl::Status(size_t, const EventView&)> visit) const {
  if (positions.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> key_slices(positions.begin(), positions.end());
  std::vector<rocksdb::PinnableSlice> values(positions.size());
  std::vector<rocksdb::Status> statuses(positions.size());
  db_->MultiGet(rocksdb::ReadOptions(), events_cf_, positions.size(), key_slices.data(),
                values.data(), statuses.data());
  std::string scratch;
  EventView view;
  for (size_t i = 0; i < positions.size(); ++i) {
    const GlobalPosition position = GetBigEndian64(positions[i].data());
    if (statuses[i].IsNotFound()) {
      return absl::DataLossError(absl::StrCat("stream '", stream, "' refers to position ", position,
                                              ", which is missing"));
    }
    STRATA_RETURN_IF_ERROR(FromRocksDb(statuses[i], absl::StrCat("read position ", position)));
    STRATA_RETURN_IF_ERROR(DecodeRecord(absl::string_view(values[i].data(), values[i].size()),
                                        position, &scratch, &view));
    STRATA_RETURN_IF_ERROR(visit(i, view));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RecordedEvent>> EventLog::Impl::ReadIndexStream(
    absl::string_view stream, const IndexStream& index, const VersionKeys& keys,
    const ReadStreamOptions& options, GlobalPosition limit) const {
  const bool forward = options.direction == ReadDirection::kForward;
  const std::string lower = StreamKey(keys.name, 0);
  const std::string upper = internal::StreamKeyEnd(keys.name);
  const rocksdb::Slice lower_bound(lower);
  const rocksdb::Slice upper_bound(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_bound;
  ro.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, keys.cf));
  // From the run holding `from_version` (the last starting at or before it),
  // its versions expanded into positions.
  const StreamVersion from = options.from_version;
  it->SeekForPrev(StreamKey(keys.name, from));
  if (!it->Valid() && it->status().ok()) {
    // Versions start at 0: a run after `from` and none at or before it means
    // the first ones are missing.
    it->Seek(StreamKey(keys.name, from));
    if (it->Valid()) {
      return absl::DataLossError(absl::StrCat("index stream '", stream,
                                              "': the entries of its first versions are missing"));
    }
  }
  std::vector<StreamVersion> versions;
  std::vector<std::string> positions;
  for (; it->Valid() && positions.size() < options.max_count; forward ? it->Next() : it->Prev()) {
    absl::string_view name;
    StreamVersion first = 0;
    internal::IndexRun run;
    if (!internal::ParseStreamKey(ToView(it->key()), &name, &first) || name != keys.name) break;
    if (!internal::DecodeIndexRun(ToView(it->value()), &run)) return MalformedRun(keys, first);
    const StreamVersion last = first + run.count - 1;
    if (forward) {
      bool past_limit = false;
      for (StreamVersion v = std::max(first, from); v <= last; ++v) {
        const GlobalPosition position = run.first_position + (v - first);
        past_limit = position > limit;  // committed after this read started
        if (past_limit || positions.size() >= options.max_count) break;
        versions.push_back(v);
        positions.push_back(PositionKey(position));
      }
      if (past_limit) break;
    } else if (run.first_position <= limit) {  // else all of it is after the limit
      const StreamVersion top = std::min({last, from, first + (limit - run.first_position)});
      for (StreamVersion v = top; positions.size() < options.max_count; --v) {
        versions.push_back(v);
        positions.push_back(PositionKey(run.first_position + (v - first)));
        if (v == first) break;
      }
    }
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("read stream '", stream, "'")));

  std::vector<RecordedEvent> out;
  out.reserve(positions.size());
  STRATA_RETURN_IF_ERROR(
      ReadPositions(positions, stream, [&](size_t i, const EventView& view) -> absl::Status {
        if (!index.Holds(view.stream, view.type)) {
          return absl::DataLossError(
              absl::StrCat("index stream '", stream, "' version ", versions[i],
                           " points at position ", view.position, " (stream '", view.stream,
                           "', type '", view.type, "'), which is not in it"));
        }
        out.push_back(view.ToRecorded());
        out.back().index_version = versions[i];
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace strata
