// ProjectionRuntime: runs projections over an EventLog and serves their read
// models, live or as of a past position.
//
// Storage: one RocksDB instance (separate from the log) with a `catalog`
// column family and one column family per projection generation, so a retired
// generation is dropped in O(1). A generation's state and its checkpoint are
// written in one batch. See projections/FORMAT.md.
//
// Catalog: each registered (name, projection version) has generations that
// are building, live, failed or retired. A version the store has not built is
// replayed from the start of the log in the background while the previous live
// generation keeps answering; when it reaches the head it becomes live in one
// catalog write and the old one is dropped. Rebuild(name) does the same with a
// fresh generation of the current version.
//
// Thread-safety: all methods are thread-safe. One worker thread per running
// generation.
#ifndef STRATA_PROJECTIONS_RUNTIME_RUNTIME_H_
#define STRATA_PROJECTIONS_RUNTIME_RUNTIME_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/base/logger.h"
#include "engine/event_log.h"
#include "projections/projection.h"

namespace strata {

struct ProjectionRuntimeOptions {
  // Durable state snapshots every this many log positions (K). A read as of
  // position P costs at most K events of replay on top of the nearest
  // snapshot. A projection may set its own (Projection::
  // snapshot_interval_events). Default: 10,000.
  uint64_t snapshot_interval_events = 10'000;
  // Most events a worker applies per committed batch. Default: 10,000.
  uint64_t batch_events_max = 10'000;
  // Most keys changed since the last snapshot that a worker remembers (to
  // write their history at the next one); past it, the next batch ends on a
  // snapshot early. Default: 524,288 (some 50 MiB of keys).
  size_t dirty_keys_max = 1 << 19;
  // How long a read without as_of of several projections a few events apart
  // waits for the ones behind to reach the highest checkpoint before
  // answering at the lowest (ProjectionRuntime::Read). Default: 10 ms.
  absl::Duration laggard_wait = absl::Milliseconds(10);
  // Block cache for projection state, bytes. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // RocksDB environment for fault-injection tests; must outlive the runtime.
  // Default: null, RocksDB's default environment.
  rocksdb::Env* env = nullptr;
  // Receives one event per projection state change (component
  // "projections") and RocksDB's warnings. Default (null): TextLogger(),
  // lines on stderr.
  std::shared_ptr<Logger> logger;
  // Open an existing store for reading only (RocksDB's secondary mode):
  // nothing is written to it and no worker runs, so each read model answers
  // at its stored checkpoint, or as of any position up to the log's head
  // (replaying the events after its nearest snapshot in memory); a registered
  // projection the store never built (or a store not created yet) is folded
  // from the log in memory. Works while a server has the store open. Register
  // attaches the code for those replays; Rebuild fails with
  // FailedPrecondition. Default: false.
  bool read_only = false;
};

enum class GenerationState { kBuilding, kLive, kFailed, kRetired };
const char* GenerationStateName(GenerationState state);

struct ProjectionStatus {
  std::string name;
  ProjectionVersion projection_version = 0;
  uint64_t generation = 0;
  GenerationState state = GenerationState::kBuilding;
  GlobalPosition checkpoint = 0;  // last applied position
  GlobalPosition head = 0;        // the log's head when the status was taken
  uint64_t lag = 0;               // head - checkpoint
  double events_per_second = 0;   // over the last few seconds
  uint64_t events_applied = 0;    // positions folded since this process started
  double progress = 0;            // checkpoint / head, 1 when caught up
  std::optional<absl::Duration> time_left;  // building only, when a rate is known
  bool running = false;           // a worker is applying events
  std::string error;              // failed only
  GlobalPosition error_position = 0;
};

// Called with one reader per requested projection, all at `position`.
using ConsistentReadFn =
    std::function<absl::Status(absl::Span<const StateReader* const> readers, GlobalPosition position)>;

class ProjectionRuntime {
 public:
  // Opens (creating) the projection store in `dir`, following `log`, which
  // must outlive the runtime. Drops generations left retired by a crash.
  static absl::StatusOr<std::unique_ptr<ProjectionRuntime>> Open(const std::string& dir,
                                                                 EventLog* log,
                                                                 ProjectionRuntimeOptions options = {});
  // Stops every worker (each finishes its current batch) and closes the store.
  ~ProjectionRuntime();

  // Registers a projection and starts its worker: it resumes its live or
  // building generation, or starts building its version. InvalidArgument for a
  // bad name; FailedPrecondition when a newer version is live or this exact
  // version is already registered.
  absl::Status Register(std::shared_ptr<Projection> projection);

  // Builds a fresh generation of `name`'s registered version in the
  // background; the current live one serves until the new one catches up.
  // NotFound for an unknown name.
  absl::Status Rebuild(const std::string& name);

  // Stops `name`'s workers, drops every generation of it (its state is gone)
  // and forgets its code: Read, WaitFor and Status no longer know it, and a
  // later Register starts from nothing. OK when nothing of `name` exists.
  // FailedPrecondition when the store is open read-only.
  absl::Status Drop(const std::string& name);

  // Blocks until `name`'s live generation has applied `position` (OK), or the
  // deadline passes (DeadlineExceeded). FailedPrecondition when it failed.
  absl::Status WaitFor(const std::string& name, GlobalPosition position, absl::Time deadline);

  // Status of every generation that is not retired, by name then generation.
  std::vector<ProjectionStatus> Status() const;

  // Reads several projections at one position. Without `as_of`, the position
  // is the lowest checkpoint among their live generations (when they differ
  // by at most 4,096 events, after waiting up to options.laggard_wait for the
  // ones behind to reach the highest); with it, exactly `as_of` (the answer
  // equals a fresh fold of the first `as_of` events).
  // NotFound for an unknown name; FailedPrecondition when one has no live
  // generation yet (still building) or has failed; OutOfRange when `as_of` is
  // beyond the log's head.
  absl::Status Read(const std::vector<std::string>& names, std::optional<GlobalPosition> as_of,
                    const ConsistentReadFn& fn) const;

  // Writes a consistent copy of the projection store as it is now (a RocksDB
  // checkpoint: every state with its checkpoint, as one batch wrote them) to
  // `dir`, which must not exist; the workers go on meanwhile. Copy the store
  // before the log: the log copy then holds every event the states applied.
  absl::Status Checkpoint(const std::string& dir) const;

  class Impl;

 private:
  explicit ProjectionRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata

#endif  // STRATA_PROJECTIONS_RUNTIME_RUNTIME_H_
