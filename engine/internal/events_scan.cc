// ReadHeadPosition and WalkEvents (events_scan.h): the head as the last key of
// `events`, and one iterator stepping over dense positions in either direction.
#include "engine/internal/events_scan.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"
#include "engine/base/rocksdb_status.h"
#include "engine/internal/codec.h"

namespace strata::internal {

absl::StatusOr<GlobalPosition> ReadHeadPosition(rocksdb::DB* db,
                                                rocksdb::ColumnFamilyHandle* events) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
  it->SeekToLast();
  GlobalPosition head = 0;
  if (it->Valid()) {
    if (it->key().size() != 8) {
      return absl::DataLossError("malformed key in the events column family");
    }
    head = GetBigEndian64(it->key().data());
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "read the log's head"));
  return head;
}

absl::Status WalkEvents(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events,
                        const rocksdb::ReadOptions& options, GlobalPosition start,
                        GlobalPosition end, const EventVisitor& visit) {
  const bool forward = start <= end;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(options, events));
  const std::string start_key = PositionKey(start);
  if (forward) {
    it->Seek(start_key);
  } else {
    it->SeekForPrev(start_key);
  }
  GlobalPosition expected = start;
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
    if (!visit(view) || position == end) return absl::OkStatus();
    forward ? ++expected : --expected;
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "scan events"));
  // The walk ends at `end`, which the caller knows to be stored: running out of
  // keys before it means a gap.
  return absl::DataLossError(
      absl::StrCat("event log has a gap: position ", expected, " is missing"));
}

}  // namespace strata::internal
