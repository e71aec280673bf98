// The projection runtime's reads: status of every generation, one consistent
// read of several read models at one position, and time travel (the nearest
// snapshot plus a replay in memory; a fold from nothing in read-only mode).
#include <algorithm>

#include "projections/runtime/internal/runtime_impl.h"

namespace strata {
namespace {

// How far behind the highest checkpoint a projection may be for a read
// without as_of to wait for it (ProjectionRuntime::Read).
constexpr GlobalPosition kLaggardEventsMax = 4096;

}  // namespace

std::vector<ProjectionStatus> ProjectionRuntime::Impl::Status() const {
  const GlobalPosition head = log_->Head();
  std::vector<ProjectionStatus> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, e] : entries_) {
    for (const auto& g : {e.live, e.building}) {
      if (g == nullptr) continue;
      ProjectionStatus st;
      st.name = name;
      st.projection_version = g->version;
      st.generation = g->id;
      st.state = g->state;
      st.checkpoint = g->checkpoint;
      st.head = std::max(head, g->checkpoint);
      st.lag = st.head - g->checkpoint;
      st.events_applied = g->events_applied;
      st.progress = st.head == 0 ? 1.0 : static_cast<double>(g->checkpoint) / st.head;
      if (g->rate_samples.size() >= 2) {
        const auto& [t0, p0] = g->rate_samples.front();
        const auto& [t1, p1] = g->rate_samples.back();
        const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
        if (seconds > 0) st.events_per_second = static_cast<double>(p1 - p0) / seconds;
        (void)t1;
      }
      if (st.state == GenerationState::kBuilding && st.events_per_second > 0) {
        st.time_left = absl::Seconds(static_cast<double>(st.lag) / st.events_per_second);
      }
      st.running = g->worker.joinable() && !g->stop.load() && st.state != GenerationState::kFailed;
      st.error = g->error;
      st.error_position = g->error_position;
      out.push_back(std::move(st));
    }
  }
  return out;
}

// A reader of `Base` (which it owns) under an in-memory overlay of replayed
// events: as of a position (Base: the history at a snapshot), or a fold of
// the log from nothing (Base: EmptyStateReader).
template <typename Base>
class OverlaidReader : public StateReader {
 public:
  template <typename... Args>
  explicit OverlaidReader(Args&&... args)
      : base_(std::forward<Args>(args)...), overlay_(&base_) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override {
    return overlay_.Get(key);
  }
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override {
    return overlay_.ScanFrom(prefix, start, visit);
  }
  OverlayWriter& overlay() { return overlay_; }

 private:
  Base base_;
  OverlayWriter overlay_;
};

absl::Status ProjectionRuntime::Impl::Replay(Projection& projection, GlobalPosition after,
                                             GlobalPosition to, OverlayWriter& overlay) const {
  if (to <= after) return absl::OkStatus();
  ReadAllOptions read;
  read.from_position = after + 1;
  read.max_count = to - after;
  absl::Status apply_error;
  STRATA_RETURN_IF_ERROR(log_->ScanAll(read, [&](const EventView& e) {
    absl::Status s = projection.Apply(e, overlay);
    if (s.ok()) s = overlay.status();
    if (!s.ok()) {
      apply_error = absl::Status(s.code(), absl::StrCat("replaying position ", e.position,
                                                         " for a read as of ", to, ": ",
                                                         s.message()));
      return false;
    }
    return true;
  }));
  return apply_error;
}

absl::StatusOr<std::unique_ptr<StateReader>> ProjectionRuntime::Impl::Fold(
    Projection& projection, GlobalPosition position) const {
  auto reader = std::make_unique<OverlaidReader<EmptyStateReader>>();
  STRATA_RETURN_IF_ERROR(Replay(projection, 0, position, reader->overlay()));
  return reader;
}

absl::Status ProjectionRuntime::Impl::KeysChangedSinceSnapshot(
    const Generation& g, GlobalPosition position, absl::flat_hash_set<std::string>& keys) const {
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<OverlaidReader<HistoryStateReader>> reader,
                          SnapshotAndReplay(g, nullptr, position));
  return reader->overlay().ForEachChange(
      [&](const std::string& key, const projections_internal::CachingStateReader::Next&) {
        keys.insert(key);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::unique_ptr<OverlaidReader<HistoryStateReader>>>
ProjectionRuntime::Impl::SnapshotAndReplay(const Generation& g, const rocksdb::Snapshot* view,
                                           GlobalPosition position) const {
  std::shared_ptr<Projection> projection;
  {
    absl::MutexLock lock(&mu_);
    projection = g.projection;
  }
  STRATA_ASSIGN_OR_RETURN(GlobalPosition base,
                          projections_internal::FindSnapshot(db_.get(), g.cf, view, position));
  auto reader = std::make_unique<OverlaidReader<HistoryStateReader>>(db_.get(), g.cf, view, base);
  if (base == position) return reader;
  if (projection == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "projection ", g.name, " v", g.version,
        " has no registered code to replay the events after its snapshot at ", base));
  }
  STRATA_RETURN_IF_ERROR(Replay(*projection, base, position, reader->overlay()));
  return reader;
}

absl::Status ProjectionRuntime::Impl::Read(const std::vector<std::string>& names,
                                           std::optional<GlobalPosition> as_of,
                                           const ConsistentReadFn& fn) const {
  if (names.empty()) return absl::InvalidArgumentError("names: at least one projection");
  // The request's own bound first, whatever state the projections are in.
  if (as_of.has_value() && *as_of > log_->Head()) {
    return absl::OutOfRangeError(
        absl::StrCat("as_of_position ", *as_of, " is beyond the head (", log_->Head(), ")"));
  }
  std::vector<std::shared_ptr<Generation>> gens;
  std::vector<std::shared_ptr<Projection>> code;  // for gens[i] == nullptr
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& name : names) {
      auto it = entries_.find(name);
      if (it == entries_.end()) {
        return absl::NotFoundError(absl::StrCat("projection '", name, "' is not registered"));
      }
      const Entry& e = it->second;
      if (e.live == nullptr && options_.read_only && !e.code.empty()) {
        // Never built in this store: folded from the log in memory below.
        gens.push_back(nullptr);
        code.push_back(e.code.rbegin()->second);
        continue;
      }
      if (e.live == nullptr) {
        if (e.building != nullptr && e.building->state == GenerationState::kFailed) {
          return absl::FailedPreconditionError(
              absl::StrCat("projection ", name, " failed at position ",
                           e.building->error_position, ": ", e.building->error));
        }
        const double progress =
            e.building == nullptr || log_->Head() == 0
                ? 0
                : 100.0 * static_cast<double>(e.building->checkpoint) / log_->Head();
        return absl::FailedPreconditionError(absl::StrCat(
            "projection ", name, " has no live version yet: it is building (",
            static_cast<int>(progress), "%)"));
      }
      if (e.live->state == GenerationState::kFailed) {
        return absl::FailedPreconditionError(absl::StrCat("projection ", name,
                                                          " failed at position ",
                                                          e.live->error_position, ": ",
                                                          e.live->error));
      }
      gens.push_back(e.live);
      code.push_back(nullptr);
    }
  }
  // One RocksDB read view (a rocksdb::Snapshot) for every reader of the
  // answer. A secondary (read-only) instance changes only when told to catch
  // up, so it needs none (and has none to give).
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() {
      if (s != nullptr) db->ReleaseSnapshot(s);
    }
  } view{db_.get(), nullptr};
  std::vector<GlobalPosition> checkpoints;
  std::vector<GlobalPosition> changed;  // Generation::changed_at, read after the view
  auto look = [&]() -> absl::Status {
    if (view.s != nullptr) db_->ReleaseSnapshot(view.s);
    view.s = options_.read_only ? nullptr : db_->GetSnapshot();
    checkpoints.clear();
    changed.clear();
    for (const auto& g : gens) {
      if (g == nullptr) {
        checkpoints.push_back(log_->Head());  // a fold can stop anywhere
        changed.push_back(Generation::kUnknownChange);
        continue;
      }
      STRATA_ASSIGN_OR_RETURN(GlobalPosition cp,
                              projections_internal::ReadCheckpoint(db_.get(), g->cf, view.s));
      checkpoints.push_back(cp);
      changed.push_back(g->changed_at.load());
    }
    return absl::OkStatus();
  };
  STRATA_RETURN_IF_ERROR(look());
  // Without as_of the answer is at the lowest checkpoint, every read model's
  // state there stored (a read never answers ahead of what survives a
  // crash). Live workers fed by one log are usually a few events apart: the
  // ones ahead would then be read as of the lowest, a replay from their last
  // snapshot (up to a snapshot interval each), unless their state has not
  // changed since the lowest. So when one did change, the read first gives
  // the ones behind a moment to reach the highest, and looks again.
  // Whether gens[i]'s stored state in the view is its state at `position`:
  // it is at `position`, or ahead with no change since.
  auto stored_at = [&](size_t i, GlobalPosition position) {
    return checkpoints[i] == position || (checkpoints[i] > position && changed[i] <= position);
  };
  auto all_stored_at = [&](GlobalPosition position) {
    for (size_t i = 0; i < gens.size(); ++i) {
      if (!stored_at(i, position)) return false;
    }
    return true;
  };
  if (!as_of.has_value() && !options_.read_only && gens.size() > 1) {
    const auto [lowest, highest] = std::minmax_element(checkpoints.begin(), checkpoints.end());
    if (*lowest < *highest && *highest - *lowest <= kLaggardEventsMax && !all_stored_at(*lowest)) {
      const GlobalPosition target = *highest;
      const absl::Time deadline = absl::Now() + options_.laggard_wait;
      bool caught_up = true;
      for (size_t i = 0; i < gens.size() && caught_up; ++i) {
        if (checkpoints[i] < target) caught_up = WaitFor(names[i], target, deadline).ok();
      }
      if (caught_up) STRATA_RETURN_IF_ERROR(look());
    }
  }
  const GlobalPosition position =
      as_of.has_value() ? *as_of : *std::min_element(checkpoints.begin(), checkpoints.end());
  std::vector<std::unique_ptr<StateReader>> owned;
  std::vector<const StateReader*> readers;
  for (size_t i = 0; i < gens.size(); ++i) {
    if (gens[i] == nullptr) {
      STRATA_ASSIGN_OR_RETURN(std::unique_ptr<StateReader> r, Fold(*code[i], position));
      owned.push_back(std::move(r));
    } else if (stored_at(i, position)) {
      owned.push_back(std::make_unique<CurrentStateReader>(db_.get(), gens[i]->cf, view.s));
    } else {
      STRATA_ASSIGN_OR_RETURN(std::unique_ptr<OverlaidReader<HistoryStateReader>> r,
                              SnapshotAndReplay(*gens[i], view.s, position));
      owned.push_back(std::move(r));
    }
    readers.push_back(owned.back().get());
  }
  return fn(absl::MakeConstSpan(readers), position);
}

}  // namespace strata
