// The projection runtime's workers: each applies its generation's events in
// batches (state, checkpoint and time-travel snapshot entries in one write),
// sleeps until the log's head moves or it is stopped, cuts a caught-up
// building generation over, and records failures; WaitFor waits on them.
#include <algorithm>
#include <vector>

#include "engine/base/hook_point.h"
#include "projections/runtime/internal/runtime_impl.h"
#include "projections/runtime/read_ahead.h"
#include "rocksdb/write_batch.h"

namespace strata {
namespace {

// What a worker remembers of its state between batches (CachingStateReader).
constexpr size_t kWorkerCacheBytesMax = 64 << 20;
// Ranges at least this long are read on a ReadAhead thread.
constexpr uint64_t kReadAheadEventsMin = 4 * projections_internal::ReadAhead::kChunkEvents;

}  // namespace

void ProjectionRuntime::Impl::WakeWorkers() {
  absl::MutexLock lock(&wake_mu_);
  ++wake_epoch_;
}

void ProjectionRuntime::Impl::StopWorker(Generation& g) {
  g.stop = true;
  WakeWorkers();
  g.StopAndJoin();
}

absl::Status ProjectionRuntime::Impl::ApplyRange(const std::shared_ptr<Generation>& g,
                                                 GlobalPosition from, GlobalPosition to,
                                                 GlobalPosition* failed_at, WorkerMemory& memory) {
  std::shared_ptr<Projection> projection;
  {
    absl::MutexLock lock(&mu_);
    projection = g->projection;
  }
  OverlayWriter overlay(&memory.cache);
  const uint64_t k = projection->snapshot_interval_events() != 0
                         ? projection->snapshot_interval_events()
                         : options_.snapshot_interval_events;
  GlobalPosition batch_start = from;
  GlobalPosition last_write = 0;  // in this batch: the last event that wrote
  absl::Status error;
  // One fold step per event: a batch ends after batch_events_max events or on
  // a snapshot boundary, whichever comes first. False ends the range (an
  // error, kept in `error`, or a stop).
  auto fold = [&](const EventView& e) -> bool {
    const uint64_t writes = overlay.writes();
    absl::Status s = projection->Apply(e, overlay);
    if (s.ok()) s = overlay.status();
    if (!s.ok()) {
      error = s;
      *failed_at = e.position;
      return false;
    }
    if (overlay.writes() != writes) last_write = e.position;
    const bool snapshot = e.position % k == 0 || memory.dirty.size() >= options_.dirty_keys_max;
    const bool boundary =
        snapshot || e.position == to || e.position - batch_start + 1 >= options_.batch_events_max;
    // Stopping (a drop, a retire, shutdown) does not wait for the batch's end:
    // the uncommitted part is applied again from the checkpoint.
    if (!boundary) return !g->stop.load();
    if (last_write != 0) g->changed_at = last_write;  // before the commit (Generation)
    last_write = 0;
    s = CommitBatch(*g, overlay, memory, e.position, snapshot);
    if (!s.ok()) {
      error = s;
      *failed_at = e.position;
      return false;
    }
    overlay.Clear();
    const uint64_t folded = e.position - batch_start + 1;
    batch_start = e.position + 1;
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    g->checkpoint = e.position;
    g->events_applied += folded;
    g->rate_samples.emplace_back(now, e.position);
    while (g->rate_samples.size() > 2 && now - g->rate_samples.front().first > kRateWindow) {
      g->rate_samples.pop_front();
    }
    return !g->stop.load();
  };
  if (to - from + 1 < kReadAheadEventsMin) {
    ReadAllOptions read;
    read.from_position = from;
    read.max_count = to - from + 1;
    STRATA_RETURN_IF_ERROR(log_->ScanAll(read, fold));
    return error;
  }
  // A long range (a replay, a worker far behind): the log is read on another
  // thread while this one folds.
  projections_internal::ReadAhead ahead(log_, from, to);
  const LongRangeFold long_range;
  while (true) {
    STRATA_ASSIGN_OR_RETURN(absl::Span<const EventView> events, ahead.Next());
    if (events.empty()) return error;
    for (const EventView& e : events) {
      if (!fold(e)) return error;
    }
  }
}

absl::Status ProjectionRuntime::Impl::CommitBatch(Generation& g, const OverlayWriter& overlay,
                                                  WorkerMemory& memory, GlobalPosition end,
                                                  bool snapshot) {
  // Every key the batch changed is written whole (a counter's value, not a
  // merge operand), from the value the worker remembers: no merge chain grows
  // under a hot key, so reads of it stay cheap, and no insert has to count the
  // chain (max_successive_merges searched the memtable once per operand, the
  // largest cost of a live click's batch). On a snapshot the value at `end`
  // of every key changed since the last snapshot (memory.dirty and this
  // batch's) also goes into its history. Keys go into the batch in order, one
  // kind after the other: the memtable's skip list inserts a key next to the
  // previous one cheaply.
  const projections_internal::CachingStateReader& cache = memory.cache;
  rocksdb::WriteBatch batch;
  // Snapshot: each changed key once, with its value at `end`.
  std::vector<std::pair<absl::string_view, std::optional<std::string>>> history;
  if (snapshot) history.reserve(memory.dirty.size() + overlay.size());
  STRATA_RETURN_IF_ERROR(overlay.ForEachChange(
      [&](const std::string& key,
          const projections_internal::CachingStateReader::Next& after) -> absl::Status {
        STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, cache.Update(key, after));
        const std::string state_key = projections_internal::StateKey(key);
        if (value.has_value()) {
          batch.Put(g.cf, state_key, *value);
        } else {
          batch.Delete(g.cf, state_key);
        }
        if (snapshot) {
          history.emplace_back(key, std::move(value));
        } else {
          memory.dirty.insert(key);  // a failed commit ends the worker and its memory
        }
        return absl::OkStatus();
      }));
  if (snapshot) {
    for (const std::string& key : memory.dirty) {
      if (overlay.Contains(key)) continue;  // the batch's value is already there
      STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, cache.Get(key));
      history.emplace_back(key, std::move(value));
    }
    std::sort(history.begin(), history.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [key, value] : history) {
      batch.Put(g.cf, projections_internal::HistoryKey(key, end),
                value.has_value() ? absl::StrCat("\x01", *value) : std::string(1, '\0'));
    }
    batch.Put(g.cf, projections_internal::SnapshotKey(end), "");
  }
  std::string checkpoint;
  internal::PutBigEndian64(&checkpoint, end);
  batch.Put(g.cf, projections_internal::kMetaCheckpoint, checkpoint);
  // Derived state: no fsync. State and checkpoint share one WAL record, so a
  // lost tail rolls both back together and the worker re-applies it.
  HookPoint("projection.before_commit");
  STRATA_RETURN_IF_ERROR(
      FromRocksDb(db_->Write(rocksdb::WriteOptions(), &batch), "commit projection batch"));
  HookPoint("projection.after_commit");
  if (snapshot) memory.dirty.clear();
  return absl::OkStatus();
}

absl::Status ProjectionRuntime::Impl::RecoverDirtyKeys(const Generation& g,
                                                       GlobalPosition checkpoint,
                                                       WorkerMemory& memory) {
  STRATA_RETURN_IF_ERROR(KeysChangedSinceSnapshot(g, checkpoint, memory.dirty));
  const std::string markers(1, projections_internal::kDirtyPrefix);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), g.cf));
  it->Seek(markers);
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "scan dirty markers"));
  if (!it->Valid() || !it->key().starts_with(markers)) return absl::OkStatus();
  const std::string markers_end(1, projections_internal::kDirtyPrefix + 1);
  return FromRocksDb(db_->DeleteRange(rocksdb::WriteOptions(), g.cf, markers, markers_end),
                     "delete dirty markers");
}

void ProjectionRuntime::Impl::CutOver(const std::shared_ptr<Generation>& g) {
  std::shared_ptr<Generation> old;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(g->name);
    if (it == entries_.end() || it->second.building != g) return;  // dropped or superseded
    Entry& e = it->second;
    old = e.live;
    e.live = g;
    e.building = nullptr;
    g->state = GenerationState::kLive;
    if (old != nullptr) old->state = GenerationState::kRetired;
  }
  // One catalog write makes the new generation live and the old one retired.
  rocksdb::WriteBatch batch;
  batch.Put(catalog_cf_, GenerationKey(g->id), g->Record());
  if (old != nullptr) batch.Put(catalog_cf_, GenerationKey(old->id), old->Record());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  absl::Status s = FromRocksDb(db_->Write(wo, &batch), "write projection catalog");
  if (s.ok()) HookPoint("projection.cutover.after_catalog");
  LogLine(absl::StrCat("projection ", g->name, " v", g->version, " generation ", g->id,
                       " is live at position ", g->checkpoint,
                       s.ok() ? "" : " (catalog write failed: " + s.ToString() + ")"));
  if (old != nullptr) Retire(std::move(old));
}

void ProjectionRuntime::Impl::RunWorker(std::shared_ptr<Generation> g) {
  // Valid while this worker is the generation's one writer, i.e. its life.
  CurrentStateReader committed(db_.get(), g->cf, nullptr);
  WorkerMemory memory(&committed, kWorkerCacheBytesMax);
  GlobalPosition start;
  {
    absl::MutexLock lock(&mu_);
    start = g->checkpoint;
  }
  g->changed_at = start;  // what came before is not known
  if (absl::Status s = RecoverDirtyKeys(*g, start, memory); !s.ok()) {
    Fail(*g, s, start);
    return;
  }
  while (!g->stop.load()) {
    uint64_t epoch;  // read before the head, so a commit in between is not missed
    {
      absl::MutexLock lock(&wake_mu_);
      epoch = wake_epoch_;
    }
    GlobalPosition checkpoint;
    GenerationState state;
    {
      absl::MutexLock lock(&mu_);
      checkpoint = g->checkpoint;
      state = g->state;
    }
    const GlobalPosition head = log_->Head();
    if (checkpoint >= head) {
      if (state == GenerationState::kBuilding) {
        CutOver(g);
        continue;
      }
      auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(wake_mu_) {
        return wake_epoch_ != epoch || g->stop.load();
      };
      absl::MutexLock lock(&wake_mu_);
      wake_mu_.AwaitWithTimeout(absl::Condition(&woken), kIdleWake);
      continue;
    }
    GlobalPosition failed_at = checkpoint + 1;
    absl::Status s = ApplyRange(g, checkpoint + 1, head, &failed_at, memory);
    if (!s.ok()) {
      Fail(*g, s, failed_at);
      return;
    }
  }
}

absl::Status ProjectionRuntime::Impl::WaitFor(const std::string& name, GlobalPosition position,
                                              absl::Time deadline) const {
  // Read-only: no worker moves a checkpoint, so there is nothing to wait for.
  if (options_.read_only) deadline = absl::InfinitePast();
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    auto it = entries_.find(name);
    if (it == entries_.end() || closing_) return true;
    const Entry& e = it->second;
    if (e.live != nullptr && (e.live->checkpoint >= position ||
                              e.live->state == GenerationState::kFailed)) {
      return true;
    }
    return e.live == nullptr && e.building != nullptr &&
           e.building->state == GenerationState::kFailed;
  };
  mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("projection '", name, "' is not registered"));
  }
  const Entry& e = it->second;
  const Generation* g = e.live != nullptr ? e.live.get() : e.building.get();
  if (g != nullptr && g->state == GenerationState::kFailed) {
    return absl::FailedPreconditionError(absl::StrCat("projection ", name, " failed at position ",
                                                      g->error_position, ": ", g->error));
  }
  if (e.live != nullptr && e.live->checkpoint >= position) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "projection ", name, " has not applied position ", position, " yet (checkpoint ",
      e.live != nullptr ? e.live->checkpoint : 0, ")"));
}

}  // namespace strata
