// Projection: a versioned read model folded from the event log.
//
// A projection is C++ code with a name, a projection version and an Apply
// function. Apply receives each event of the log in order, with a writer
// scoped to that projection's state: Put, Delete, a counter Add (u64, no
// read-modify-write) and reads of the projection's own state, which see the
// writes of the same batch. Keys are bytes without NUL (0x00 separates a key
// from its history suffix on disk); counters are stored as 8-byte little-endian
// values.
//
// Thread-safety: Apply is called from one worker thread at a time per
// projection generation; an instance registered once must not keep mutable
// state outside the writer (it is replayed, rebuilt and time-travelled).
#ifndef STRATA_PROJECTIONS_PROJECTION_H_
#define STRATA_PROJECTIONS_PROJECTION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"

namespace strata {

// Integer version of a projection's code; bump it to rebuild its read model.
using ProjectionVersion = uint32_t;

// Visits one key/value of a scan in key order; return false to stop.
using StateVisitor = std::function<bool(absl::string_view key, absl::string_view value)>;

// Read access to one projection's state at one position.
class StateReader {
 public:
  virtual ~StateReader() = default;
  // The value under `key`, or nullopt.
  virtual absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const = 0;
  // Every key starting with `prefix`, in key order.
  absl::Status Scan(absl::string_view prefix, const StateVisitor& visit) const {
    return ScanFrom(prefix, prefix, visit);
  }
  // Every key starting with `prefix` and not below `start`, in key order.
  virtual absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                                const StateVisitor& visit) const = 0;
  // A counter's value (0 when absent). DataLoss when the value is not 8 bytes.
  absl::StatusOr<uint64_t> GetCounter(absl::string_view key) const;
};

// What Apply writes through. Reads see the writes made before them.
class ProjectionWriter : public StateReader {
 public:
  virtual void Put(absl::string_view key, absl::string_view value) = 0;
  virtual void Delete(absl::string_view key) = 0;
  // Adds `delta` to the counter under `key` (absent counts as 0).
  virtual void Add(absl::string_view key, uint64_t delta) = 0;
};

class Projection {
 public:
  virtual ~Projection() = default;
  // Unique name: 1-64 characters of [A-Za-z0-9_.-].
  virtual std::string name() const = 0;
  virtual ProjectionVersion version() const = 0;
  // Durable state snapshots every this many log positions (K): a read as of
  // a past position replays at most K events. 0 (the default): the runtime's
  // ProjectionRuntimeOptions::snapshot_interval_events.
  virtual uint64_t snapshot_interval_events() const { return 0; }
  // Folds one event into the state. An error stops this projection (its status
  // shows the error and the position); other projections carry on.
  virtual absl::Status Apply(const EventView& event, ProjectionWriter& writer) = 0;
};

// Encoding of counter values: 8 bytes little-endian.
std::string EncodeCounter(uint64_t value);
std::optional<uint64_t> DecodeCounter(absl::string_view value);

// Marks the calling thread, while it lives, as folding a long range of the
// log (a rebuild, or a worker far behind the head) rather than following the
// head: per-event caches shared with live projections (defined::JsonEvents)
// are then not worth filling, since no one else reads those events now.
class LongRangeFold {
 public:
  LongRangeFold();
  ~LongRangeFold();
  LongRangeFold(const LongRangeFold&) = delete;
  LongRangeFold& operator=(const LongRangeFold&) = delete;
  // Whether a LongRangeFold lives on the calling thread.
  static bool OnThisThread();
};

}  // namespace strata

#endif  // STRATA_PROJECTIONS_PROJECTION_H_
