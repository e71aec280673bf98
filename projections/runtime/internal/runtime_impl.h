// ProjectionRuntime::Impl and its Generation: the runtime's state, shared by
// its three parts: runtime.cc (catalog and generation lifecycle, the public
// facade), runtime_worker.cc (workers: apply, commit, cut-over, waits) and
// runtime_read.cc (status, consistent and time-travel reads). Private to
// projections/runtime.
#ifndef STRATA_PROJECTIONS_RUNTIME_INTERNAL_RUNTIME_IMPL_H_
#define STRATA_PROJECTIONS_RUNTIME_INTERNAL_RUNTIME_IMPL_H_

#ifndef STRATA_PROJECTIONS_RUNTIME_INTERNALS
#error \
    "projections/runtime/internal/ is private to the projection runtime: include projections/runtime/runtime.h"
#endif

#include <atomic>
#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/base/coding.h"
#include "engine/base/macros.h"
#include "engine/base/rocksdb_setup.h"
#include "projections/runtime/catalog.h"
#include "projections/runtime/runtime.h"
#include "projections/runtime/state.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"

namespace strata {
namespace runtime_internal {

inline constexpr absl::Duration kRateWindow = absl::Seconds(5);
// A safety net: an idle worker is woken by the log's head listener and by
// stop requests, and re-checks the head at least this often regardless.
inline constexpr absl::Duration kIdleWake = absl::Seconds(1);

inline bool ValidProjectionName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace runtime_internal

using projections_internal::CurrentStateReader;
using projections_internal::EmptyStateReader;
using projections_internal::FromRocksDb;
using projections_internal::HistoryStateReader;
using projections_internal::OverlayWriter;
using catalog::GenerationKey;
using catalog::kCatalogCf;
using catalog::kGenerationKeyPrefix;
using catalog::kNextGenerationKey;
using runtime_internal::kIdleWake;
using runtime_internal::kRateWindow;
using runtime_internal::ValidProjectionName;

// A reader over an in-memory overlay of replayed events (runtime_read.cc).
template <typename Base>
class OverlaidReader;

// One generation of one projection version: its column family, its worker.
struct Generation {
  uint64_t id = 0;
  std::string name;
  ProjectionVersion version = 0;
  std::string cf_name;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  rocksdb::DB* db = nullptr;

  // Guarded by the runtime's mu_.
  GenerationState state = GenerationState::kBuilding;
  GlobalPosition checkpoint = 0;
  std::string error;
  GlobalPosition error_position = 0;
  std::shared_ptr<Projection> projection;  // null: no code registered (serves reads only)
  std::deque<std::pair<absl::Time, GlobalPosition>> rate_samples;
  uint64_t events_applied = 0;  // positions folded by this process's worker

  // The position of the last event that wrote to the state, as far as this
  // process's worker knows (kUnknownChange before it starts, and in read-only
  // mode). The state at the checkpoint is then also the state at every
  // position from there on, so a read as of one needs no replay. The worker
  // raises it before the batch commits: read after a RocksDB snapshot, it is
  // never below the last change that snapshot holds.
  static constexpr GlobalPosition kUnknownChange = ~GlobalPosition{0};
  std::atomic<GlobalPosition> changed_at{kUnknownChange};

  std::thread worker;
  std::atomic<bool> stop{false};
  std::mutex join_mu;  // one joiner at a time: close and retire may race

  // Asks the worker to stop and waits for it (unless called from the worker).
  void StopAndJoin() {
    stop = true;
    std::lock_guard<std::mutex> lock(join_mu);
    if (worker.joinable() && worker.get_id() != std::this_thread::get_id()) worker.join();
  }

  ~Generation() {
    if (cf != nullptr && db != nullptr) db->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  }

  // The catalog record (catalog.h) of this generation, and back.
  std::string Record() const {
    return catalog::EncodeRecord({name, version, state, cf_name, error_position, error});
  }
  static absl::StatusOr<std::shared_ptr<Generation>> FromRecord(uint64_t id,
                                                                absl::string_view bytes) {
    absl::StatusOr<catalog::CatalogRecord> r = catalog::DecodeRecord(bytes);
    if (!r.ok()) {
      return absl::DataLossError(
          absl::StrCat("projection catalog record ", id, ": ", r.status().message()));
    }
    auto g = std::make_shared<Generation>();
    g->id = id;
    g->name = std::move(r->name);
    g->version = r->projection_version;
    g->state = r->state;
    g->cf_name = std::move(r->column_family);
    g->error_position = r->error_position;
    g->error = std::move(r->error);
    return g;
  }
};

class ProjectionRuntime::Impl {
 public:
  Impl(std::string dir, EventLog* log, ProjectionRuntimeOptions options)
      : dir_(std::move(dir)), log_(log), options_(std::move(options)) {}
  ~Impl();

  absl::Status Open();
  absl::Status Register(std::shared_ptr<Projection> projection);
  absl::Status Rebuild(const std::string& name);
  absl::Status Drop(const std::string& name);
  absl::Status Checkpoint(const std::string& dir) const {
    return internal::WriteCheckpoint(db_.get(), dir);
  }
  absl::Status WaitFor(const std::string& name, GlobalPosition position, absl::Time deadline) const;
  std::vector<ProjectionStatus> Status() const;
  absl::Status Read(const std::vector<std::string>& names, std::optional<GlobalPosition> as_of,
                    const ConsistentReadFn& fn) const;

 private:
  struct Entry {  // all generations of one projection name
    std::shared_ptr<Generation> live;
    std::shared_ptr<Generation> building;
    std::map<ProjectionVersion, std::shared_ptr<Projection>> code;  // registered versions
  };

  rocksdb::ColumnFamilyOptions GenerationCfOptions() const;
  absl::StatusOr<std::shared_ptr<Generation>> CreateGeneration(const std::string& name,
                                                               ProjectionVersion version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PersistGeneration(const Generation& g);
  void StartWorker(const std::shared_ptr<Generation>& g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Retire(std::shared_ptr<Generation> g);
  void RunWorker(std::shared_ptr<Generation> g);
  // What a worker keeps from batch to batch for its life: it is the
  // generation's one writer, so what it remembers of the store stays true.
  struct WorkerMemory {
    explicit WorkerMemory(const StateReader* committed, size_t cache_bytes_max)
        : cache(committed, cache_bytes_max) {}
    // The committed state's values (a live worker's ranges are a few events
    // each, so the keys they touch would otherwise go to RocksDB each time).
    projections_internal::CachingStateReader cache;
    // Keys changed since the last snapshot: the next one writes their
    // history. A worker starting after a restart recovers them by replaying
    // the events since that snapshot (KeysChangedSinceSnapshot).
    absl::flat_hash_set<std::string> dirty;
  };
  // Fills memory.dirty for a worker starting at `checkpoint`, and deletes the
  // dirty markers that stores written before 2026-12-05 hold.
  absl::Status RecoverDirtyKeys(const Generation& g, GlobalPosition checkpoint,
                                WorkerMemory& memory);
  // Applies [from, to] and commits at every batch or snapshot boundary.
  absl::Status ApplyRange(const std::shared_ptr<Generation>& g, GlobalPosition from,
                          GlobalPosition to, GlobalPosition* failed_at, WorkerMemory& memory);
  // `snapshot`: the batch ends on a snapshot (a multiple of the snapshot
  // interval, or memory.dirty is large). memory.cache is the overlay's base:
  // told what the commit wrote.
  absl::Status CommitBatch(Generation& g, const OverlayWriter& overlay, WorkerMemory& memory,
                           GlobalPosition end, bool snapshot);
  void CutOver(const std::shared_ptr<Generation>& g);
  void Fail(Generation& g, const absl::Status& error, GlobalPosition position);
  void LogLine(const std::string& line, LogLevel level = LogLevel::kInfo) const;
  // Wakes every idle worker (the head moved, or a worker must stop).
  void WakeWorkers();
  // Asks g's worker to stop, wakes it and waits for it.
  void StopWorker(Generation& g);
  // Applies the events after `after` up to `to` to `overlay`.
  absl::Status Replay(Projection& projection, GlobalPosition after, GlobalPosition to,
                      OverlayWriter& overlay) const;
  // Read-only, for a projection the store never built: `projection` folded
  // over the log's first `position` events in memory.
  absl::StatusOr<std::unique_ptr<StateReader>> Fold(Projection& projection,
                                                    GlobalPosition position) const;
  // A reader of `g` exactly at `position`, in `view`: the durable snapshot at
  // or below it plus a replay of the events after it, in its overlay.
  absl::StatusOr<std::unique_ptr<OverlaidReader<HistoryStateReader>>> SnapshotAndReplay(
      const Generation& g, const rocksdb::Snapshot* view, GlobalPosition position) const;
  // Adds to `keys` the keys that `g`'s events after its newest snapshot at or
  // below `position`, up to `position`, wrote.
  absl::Status KeysChangedSinceSnapshot(const Generation& g, GlobalPosition position,
                                        absl::flat_hash_set<std::string>& keys) const;

  const std::string dir_;
  EventLog* const log_;
  const ProjectionRuntimeOptions options_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<rocksdb::MergeOperator> merge_;
  std::unique_ptr<internal::SecondaryDir> secondary_dir_;  // read-only: the secondary's files
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* catalog_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // Generations whose worker must be joined at close.
  std::vector<std::shared_ptr<Generation>> workers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Generation>> retired_ ABSL_GUARDED_BY(mu_);

  // Idle workers wait for wake_epoch_ to change: the log's head listener and
  // StopWorker bump it, so a stop never waits out an idle timeout.
  absl::Mutex wake_mu_;
  uint64_t wake_epoch_ ABSL_GUARDED_BY(wake_mu_) = 0;
  std::optional<uint64_t> head_listener_;
};

}  // namespace strata

#endif  // STRATA_PROJECTIONS_RUNTIME_INTERNAL_RUNTIME_IMPL_H_
