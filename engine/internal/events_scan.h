// The two reads of the `events` column family that both the open log
// (event_log.cc, event_log_read.cc) and the read-only verifier (verify.cc)
// make: its head, and the gap-checked walk over positions (engine/FORMAT.md:
// positions are dense from 1, so a missing one below the head is data loss).
// Private to the engine. Thread-safe (RocksDB reads only).
#ifndef STRATA_ENGINE_INTERNAL_EVENTS_SCAN_H_
#define STRATA_ENGINE_INTERNAL_EVENTS_SCAN_H_

#ifndef STRATA_ENGINE_INTERNALS
#error \
    "engine/internal/ is private to strata::engine (white-box tests link strata::engine_internals): include the engine's public headers"
#endif

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "rocksdb/db.h"

namespace strata::internal {

// The last position stored in `events` (0: none). DATA_LOSS for a key that
// is not a position.
absl::StatusOr<GlobalPosition> ReadHeadPosition(rocksdb::DB* db,
                                                rocksdb::ColumnFamilyHandle* events);

// Visits every position from `start` to `end` in order: forward when
// start <= end, else backward. Each must be stored: DATA_LOSS for a gap, a
// key that is not a position or a record that does not decode. `visit`
// returning false stops the walk (OK). `options` should bound the iterator
// (iterate_upper_bound) where the caller knows the head.
absl::Status WalkEvents(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* events,
                        const rocksdb::ReadOptions& options, GlobalPosition start,
                        GlobalPosition end, const EventVisitor& visit);

}  // namespace strata::internal

#endif  // STRATA_ENGINE_INTERNAL_EVENTS_SCAN_H_
