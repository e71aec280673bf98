// The event log's read path: single events, stream reads (forward, backward,
// as of a position), whole-log scans with filters, stream heads. See
// engine/internal/event_log_impl.h.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"
#include "engine/base/validate.h"
#include "engine/internal/codec.h"
#include "engine/internal/event_log_impl.h"

namespace strata {

absl::StatusOr<std::optional<StreamVersion>> EventLog::Impl::StoredLastVersion(
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
    STRATA_ASSIGN_OR_RETURN(std::optional<StreamVersion> head, StoredLastVersion(stream));
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

}  // namespace strata
