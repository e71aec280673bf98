// ProjectionRuntime implementation: catalog, generations, workers, reads.
#include "projections/runtime/runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/base/hook_point.h"
#include "engine/base/macros.h"
#include "engine/base/coding.h"
#include "engine/base/rocksdb_setup.h"
#include "projections/runtime/state.h"
#include "rocksdb/cache.h"
#include "rocksdb/table.h"

namespace strata {

using projections_internal::CurrentStateReader;
using projections_internal::EmptyStateReader;
using projections_internal::FromRocks;
using projections_internal::HistoryStateReader;
using projections_internal::OverlayWriter;

const char* GenerationStateName(GenerationState state) {
  switch (state) {
    case GenerationState::kBuilding:
      return "building";
    case GenerationState::kLive:
      return "live";
    case GenerationState::kFailed:
      return "failed";
    case GenerationState::kRetired:
      return "retired";
  }
  return "?";
}

namespace {

constexpr char kCatalogCf[] = "catalog";
constexpr char kNextGenerationKey[] = "next_generation";
constexpr char kGenerationKeyPrefix[] = "gen/";
constexpr absl::Duration kRateWindow = absl::Seconds(5);
// A safety net: an idle worker is woken by the log's head listener and by
// stop requests, and re-checks the head at least this often regardless.
constexpr absl::Duration kIdleWake = absl::Seconds(1);

bool ValidProjectionName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string GenerationKey(uint64_t id) {
  std::string key = kGenerationKeyPrefix;
  internal::PutBigEndian64(&key, id);
  return key;
}

std::optional<GenerationState> ParseState(absl::string_view s) {
  for (GenerationState st : {GenerationState::kBuilding, GenerationState::kLive,
                             GenerationState::kFailed, GenerationState::kRetired}) {
    if (s == GenerationStateName(st)) return st;
  }
  return std::nullopt;
}

}  // namespace

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

  std::string Record() const {
    std::string error_line = error;
    std::replace(error_line.begin(), error_line.end(), '\n', ' ');
    return absl::StrCat("name=", name, "\nversion=", version, "\nstate=",
                        GenerationStateName(state), "\ncf=", cf_name, "\nerror_position=",
                        error_position, "\nerror=", error_line, "\n");
  }
  static absl::StatusOr<std::shared_ptr<Generation>> FromRecord(uint64_t id,
                                                                absl::string_view record) {
    auto g = std::make_shared<Generation>();
    g->id = id;
    bool have_state = false;
    for (absl::string_view line : absl::StrSplit(record, '\n', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (kv.first == "name") {
        g->name = std::string(kv.second);
      } else if (kv.first == "version") {
        if (!absl::SimpleAtoi(kv.second, &g->version)) return absl::DataLossError("bad version");
      } else if (kv.first == "state") {
        std::optional<GenerationState> st = ParseState(kv.second);
        if (!st) return absl::DataLossError("bad state");
        g->state = *st;
        have_state = true;
      } else if (kv.first == "cf") {
        g->cf_name = std::string(kv.second);
      } else if (kv.first == "error_position") {
        if (!absl::SimpleAtoi(kv.second, &g->error_position)) {
          return absl::DataLossError("bad error_position");
        }
      } else if (kv.first == "error") {
        g->error = std::string(kv.second);
      }
    }
    if (g->name.empty() || g->cf_name.empty() || !have_state) {
      return absl::DataLossError(absl::StrCat("projection catalog record ", id, " is incomplete"));
    }
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
  absl::Status WaitFor(const std::string& name, GlobalPosition position, absl::Time deadline);
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
  // Applies [from, to] and commits at every batch or snapshot boundary.
  absl::Status ApplyRange(const std::shared_ptr<Generation>& g, GlobalPosition from,
                          GlobalPosition to, GlobalPosition* failed_at);
  absl::Status CommitBatch(Generation& g, const OverlayWriter& overlay, GlobalPosition end);
  void CutOver(const std::shared_ptr<Generation>& g);
  void Fail(Generation& g, const absl::Status& error, GlobalPosition position);
  void LogLine(const std::string& line) const;
  // Wakes every idle worker (the head moved, or a worker must stop).
  void WakeWorkers();
  // Asks g's worker to stop, wakes it and waits for it.
  void StopWorker(Generation& g);
  // A reader of `g` exactly at `position`: the durable snapshot at or below it
  // plus a replay of the events after it.
  // Applies the events after `after` up to `to` to `overlay`.
  absl::Status Replay(Projection& projection, GlobalPosition after, GlobalPosition to,
                      OverlayWriter& overlay) const;
  // Read-only, for a projection the store never built: `projection` folded
  // over the log's first `position` events in memory.
  absl::StatusOr<std::unique_ptr<StateReader>> Fold(Projection& projection,
                                                    GlobalPosition position) const;
  absl::StatusOr<std::unique_ptr<StateReader>> ReaderAsOf(const Generation& g,
                                                          const rocksdb::Snapshot* snapshot,
                                                          GlobalPosition position) const;

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

void ProjectionRuntime::Impl::WakeWorkers() {
  absl::MutexLock lock(&wake_mu_);
  ++wake_epoch_;
}

void ProjectionRuntime::Impl::StopWorker(Generation& g) {
  g.stop = true;
  WakeWorkers();
  g.StopAndJoin();
}

void ProjectionRuntime::Impl::LogLine(const std::string& line) const {
  if (options_.log_line) {
    options_.log_line(line);
  } else {
    std::fprintf(stderr, "strata: %s\n", line.c_str());
  }
}

rocksdb::ColumnFamilyOptions ProjectionRuntime::Impl::GenerationCfOptions() const {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache_;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.merge_operator = merge_;
  return cf;
}

absl::Status ProjectionRuntime::Impl::Open() {
  if (options_.snapshot_interval_events == 0 || options_.batch_events_max == 0) {
    return absl::InvalidArgumentError(
        "projection options: snapshot_interval_events and batch_events_max must be > 0");
  }
  const bool read_only = options_.read_only;
  STRATA_RETURN_IF_ERROR(internal::CheckNotHeadless(dir_));
  STRATA_RETURN_IF_ERROR(internal::CreateDirIfAllowed(dir_, !read_only));
  if (!read_only) {
    head_listener_ = log_->AddHeadListener([this](GlobalPosition) { WakeWorkers(); });
  }
  cache_ = rocksdb::NewLRUCache(options_.block_cache_bytes);
  merge_ = projections_internal::NewCounterMergeOperator();
  if (read_only && !std::filesystem::exists(std::filesystem::path(dir_) / "CURRENT")) {
    return absl::OkStatus();  // no store yet: every read model is folded in memory
  }
  rocksdb::DBOptions db_options = internal::StrataDbOptions(!read_only);
  if (options_.env != nullptr) db_options.env = options_.env;

  std::vector<std::string> existing;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir_, &existing);
  if (!s.ok()) existing = {rocksdb::kDefaultColumnFamilyName};  // a new store
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  cfs.emplace_back(kCatalogCf, rocksdb::ColumnFamilyOptions());
  for (const std::string& name : existing) {
    if (name != rocksdb::kDefaultColumnFamilyName && name != kCatalogCf) {
      cfs.emplace_back(name, GenerationCfOptions());
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  if (read_only) {
    STRATA_ASSIGN_OR_RETURN(secondary_dir_, internal::SecondaryDir::Make());
    STRATA_RETURN_IF_ERROR(
        internal::OpenSecondary(db_options, dir_, *secondary_dir_, cfs, &handles, &db_));
  } else {
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(db_options, dir_, cfs, &handles, &raw);
    if (!s.ok()) return FromRocks(s, absl::StrCat("open projection store '", dir_, "'"));
    db_.reset(raw);
  }
  default_cf_ = handles[0];
  catalog_cf_ = handles[1];
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (size_t i = 2; i < handles.size(); ++i) by_name[cfs[i].name] = handles[i];

  absl::MutexLock lock(&mu_);
  std::string value;
  s = db_->Get(rocksdb::ReadOptions(), catalog_cf_, kNextGenerationKey, &value);
  if (s.ok() && value.size() == 8) next_generation_ = internal::GetBigEndian64(value.data());

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), catalog_cf_));
  std::vector<std::shared_ptr<Generation>> retired;
  for (it->Seek(kGenerationKeyPrefix); it->Valid() && it->key().starts_with(kGenerationKeyPrefix);
       it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != std::strlen(kGenerationKeyPrefix) + 8) {
      return absl::DataLossError("projection catalog key is malformed");
    }
    const uint64_t id = internal::GetBigEndian64(key.data() + std::strlen(kGenerationKeyPrefix));
    STRATA_ASSIGN_OR_RETURN(std::shared_ptr<Generation> g,
                            Generation::FromRecord(id, absl::string_view(it->value().data(),
                                                                         it->value().size())));
    g->db = db_.get();
    auto h = by_name.find(g->cf_name);
    if (h == by_name.end()) {
      if (g->state == GenerationState::kRetired) {
        retired.push_back(g);  // dropped before the crash; only the record remains
        continue;
      }
      return absl::DataLossError(absl::StrCat("projection '", g->name, "' generation ", id,
                                              " has no column family '", g->cf_name, "'"));
    }
    g->cf = h->second;
    by_name.erase(h);
    if (g->state == GenerationState::kRetired) {
      retired.push_back(g);
      continue;
    }
    STRATA_ASSIGN_OR_RETURN(g->checkpoint,
                            projections_internal::ReadCheckpoint(db_.get(), g->cf, nullptr));
    if (g->checkpoint > log_->Head() && g->state != GenerationState::kFailed) {
      g->state = GenerationState::kFailed;
      g->error = absl::StrCat("checkpoint ", g->checkpoint, " is beyond the log's head ",
                              log_->Head(), ": the log lost events this read model has seen");
      g->error_position = g->checkpoint;
      if (!read_only) STRATA_RETURN_IF_ERROR(PersistGeneration(*g));
      LogLine(absl::StrCat("projection ", g->name, " v", g->version, " failed: ", g->error));
    } else if (g->state != GenerationState::kFailed && !read_only) {
      LogLine(absl::StrCat("projection ", g->name, " v", g->version, " generation ", g->id, " (",
                           GenerationStateName(g->state), "): recovered at checkpoint ",
                           g->checkpoint, ", log head ", log_->Head()));
    }
    Entry& e = entries_[g->name];
    if (g->state == GenerationState::kLive) {
      e.live = g;
    } else if (e.building == nullptr || e.building->id < g->id) {
      // The newest unfinished generation is the one to build (or to show failed).
      if (e.building != nullptr) retired.push_back(e.building);
      e.building = g;
    } else {
      retired.push_back(g);
    }
  }
  STRATA_RETURN_IF_ERROR(FromRocks(it->status(), "read projection catalog"));
  if (read_only) return absl::OkStatus();  // leftovers are the writer's to drop
  // Column families without a catalog record: created just before a crash.
  for (auto& [name, handle] : by_name) {
    LogLine(absl::StrCat("dropping orphan projection column family ", name));
    STRATA_RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(handle), "drop orphan"));
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  for (auto& g : retired) {
    if (g->cf != nullptr) {
      STRATA_RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(g->cf), "drop retired generation"));
    }
    STRATA_RETURN_IF_ERROR(
        FromRocks(db_->Delete(rocksdb::WriteOptions(), catalog_cf_, GenerationKey(g->id)),
                  "delete retired generation record"));
  }
  return absl::OkStatus();
}

ProjectionRuntime::Impl::~Impl() {
  std::vector<std::shared_ptr<Generation>> workers;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    workers = workers_;
  }
  if (head_listener_.has_value()) log_->RemoveHeadListener(*head_listener_);
  for (auto& g : workers) g->stop = true;
  WakeWorkers();
  for (auto& g : workers) g->StopAndJoin();
  {
    absl::MutexLock lock(&mu_);
    entries_.clear();
    workers_.clear();
    retired_.clear();
  }
  workers.clear();
  if (db_ != nullptr) {
    db_->DestroyColumnFamilyHandle(catalog_cf_).PermitUncheckedError();
    db_->DestroyColumnFamilyHandle(default_cf_).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
}

absl::Status ProjectionRuntime::Impl::PersistGeneration(const Generation& g) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, catalog_cf_, GenerationKey(g.id), g.Record()),
                   "write projection catalog");
}

absl::StatusOr<std::shared_ptr<Generation>> ProjectionRuntime::Impl::CreateGeneration(
    const std::string& name, ProjectionVersion version) {
  auto g = std::make_shared<Generation>();
  g->id = next_generation_++;
  g->name = name;
  g->version = version;
  g->cf_name = absl::StrCat("p/", name, "/v", version, "/g", g->id);
  g->db = db_.get();
  g->state = GenerationState::kBuilding;
  std::string next;
  internal::PutBigEndian64(&next, next_generation_);
  STRATA_RETURN_IF_ERROR(
      FromRocks(db_->Put(rocksdb::WriteOptions(), catalog_cf_, kNextGenerationKey, next),
                "write projection catalog"));
  STRATA_RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(GenerationCfOptions(), g->cf_name, &g->cf),
                                   absl::StrCat("create column family ", g->cf_name)));
  STRATA_RETURN_IF_ERROR(PersistGeneration(*g));
  LogLine(absl::StrCat("projection ", name, " v", version, " generation ", g->id,
                       ": building from the start of the log"));
  return g;
}

void ProjectionRuntime::Impl::StartWorker(const std::shared_ptr<Generation>& g) {
  if (g->worker.joinable() || g->projection == nullptr || closing_ ||
      g->state == GenerationState::kFailed) {
    return;
  }
  workers_.push_back(g);
  g->worker = std::thread([this, g] { RunWorker(g); });
}

absl::Status ProjectionRuntime::Impl::Register(std::shared_ptr<Projection> projection) {
  if (projection == nullptr) return absl::InvalidArgumentError("projection: null");
  const std::string name = projection->name();
  const ProjectionVersion version = projection->version();
  if (!ValidProjectionName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "projection name '", name, "': must be 1-64 characters of [A-Za-z0-9_.-]"));
  }
  std::shared_ptr<Generation> to_retire;
  {
    absl::MutexLock lock(&mu_);
    Entry& e = entries_[name];
    if (e.code.count(version) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("projection ", name, " v", version, " is already registered"));
    }
    if (e.live != nullptr && e.live->version > version) {
      return absl::FailedPreconditionError(absl::StrCat("projection ", name, " v", version,
                                                        " is older than the live version v",
                                                        e.live->version));
    }
    if (e.building != nullptr && e.building->version > version) {
      return absl::FailedPreconditionError(absl::StrCat("projection ", name, " v", version,
                                                        " is older than v", e.building->version,
                                                        ", which is building"));
    }
    e.code[version] = projection;
    if (options_.read_only) {
      // Attach the code for replays; nothing is built or run.
      for (const auto& g : {e.live, e.building}) {
        if (g != nullptr && g->version == version) g->projection = projection;
      }
      return absl::OkStatus();
    }
    if (e.live != nullptr && e.live->version == version) {
      e.live->projection = projection;
      StartWorker(e.live);
    }
    if (e.building != nullptr && e.building->version == version) {
      e.building->projection = projection;
      StartWorker(e.building);
    } else if (e.live == nullptr || e.live->version < version) {
      to_retire = std::move(e.building);
      STRATA_ASSIGN_OR_RETURN(e.building, CreateGeneration(name, version));
      e.building->projection = projection;
      StartWorker(e.building);
    }
  }
  if (to_retire != nullptr) Retire(std::move(to_retire));
  return absl::OkStatus();
}

absl::Status ProjectionRuntime::Impl::Rebuild(const std::string& name) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(absl::StrCat(
        "projection store '", dir_, "' is open read-only: rebuild ", name, " on the server"));
  }
  std::shared_ptr<Generation> to_retire;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.code.empty()) {
      return absl::NotFoundError(absl::StrCat("projection '", name, "' is not registered"));
    }
    Entry& e = it->second;
    auto [version, code] = *e.code.rbegin();
    to_retire = std::move(e.building);
    STRATA_ASSIGN_OR_RETURN(e.building, CreateGeneration(name, version));
    e.building->projection = code;
    StartWorker(e.building);
  }
  if (to_retire != nullptr) Retire(std::move(to_retire));
  return absl::OkStatus();
}

void ProjectionRuntime::Impl::Retire(std::shared_ptr<Generation> g) {
  StopWorker(*g);
  {
    absl::MutexLock lock(&mu_);
    g->state = GenerationState::kRetired;
    workers_.erase(std::remove(workers_.begin(), workers_.end(), g), workers_.end());
    if (g->worker.joinable()) retired_.push_back(g);  // joined at close
  }
  absl::Status s = PersistGeneration(*g);
  if (s.ok()) s = FromRocks(db_->DropColumnFamily(g->cf), "drop retired generation");
  if (s.ok()) {
    s = FromRocks(db_->Delete(rocksdb::WriteOptions(), catalog_cf_, GenerationKey(g->id)),
                  "delete retired generation record");
  }
  LogLine(absl::StrCat("projection ", g->name, " v", g->version, " generation ", g->id,
                       s.ok() ? ": retired and dropped" : ": retire failed: " + s.ToString()));
}

void ProjectionRuntime::Impl::Fail(Generation& g, const absl::Status& error,
                                   GlobalPosition position) {
  {
    absl::MutexLock lock(&mu_);
    g.state = GenerationState::kFailed;
    g.error = std::string(error.ToString());
    g.error_position = position;
  }
  PersistGeneration(g).IgnoreError();  // best effort: the failure is also in memory and the log
  LogLine(absl::StrCat("projection ", g.name, " v", g.version, " generation ", g.id,
                       " failed at position ", position, ": ", error.ToString()));
}

absl::Status ProjectionRuntime::Impl::ApplyRange(const std::shared_ptr<Generation>& g,
                                                 GlobalPosition from, GlobalPosition to,
                                                 GlobalPosition* failed_at) {
  std::shared_ptr<Projection> projection;
  {
    absl::MutexLock lock(&mu_);
    projection = g->projection;
  }
  CurrentStateReader base(db_.get(), g->cf, nullptr);
  OverlayWriter overlay(&base);
  const uint64_t k = options_.snapshot_interval_events;
  GlobalPosition batch_start = from;
  absl::Status error;
  ReadAllOptions read;
  read.from_position = from;
  read.max_count = to - from + 1;
  // One scan over the whole range; a batch ends after batch_events_max events
  // or on a snapshot boundary, whichever comes first.
  STRATA_RETURN_IF_ERROR(log_->ScanAll(read, [&](const EventView& e) {
    absl::Status s = projection->Apply(e, overlay);
    if (s.ok()) s = overlay.status();
    if (!s.ok()) {
      error = s;
      *failed_at = e.position;
      return false;
    }
    const bool boundary = e.position == to || e.position % k == 0 ||
                          e.position - batch_start + 1 >= options_.batch_events_max;
    if (!boundary) return true;
    s = CommitBatch(*g, overlay, e.position);
    if (!s.ok()) {
      error = s;
      *failed_at = e.position;
      return false;
    }
    overlay.Clear();
    batch_start = e.position + 1;
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    g->checkpoint = e.position;
    g->rate_samples.emplace_back(now, e.position);
    while (g->rate_samples.size() > 2 && now - g->rate_samples.front().first > kRateWindow) {
      g->rate_samples.pop_front();
    }
    return !g->stop.load();
  }));
  return error;
}

absl::Status ProjectionRuntime::Impl::CommitBatch(Generation& g, const OverlayWriter& overlay,
                                                  GlobalPosition end) {
  rocksdb::WriteBatch batch;
  const bool snapshot = end % options_.snapshot_interval_events == 0;
  overlay.AppendTo(&batch, g.cf, /*mark_dirty=*/!snapshot);
  if (snapshot) {
    // Record the value at `end` of every key changed since the last snapshot.
    std::set<std::string> keys;
    overlay.ForEachKey([&](const std::string& k) { keys.insert(k); });
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), g.cf));
    const std::string dirty(1, projections_internal::kDirtyPrefix);
    for (it->Seek(dirty); it->Valid() && it->key().starts_with(dirty); it->Next()) {
      std::string key(it->key().data() + 1, it->key().size() - 1);
      batch.Delete(g.cf, it->key());
      keys.insert(std::move(key));
    }
    STRATA_RETURN_IF_ERROR(FromRocks(it->status(), "scan dirty keys"));
    for (const std::string& key : keys) {
      STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, overlay.Get(key));
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
      FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "commit projection batch"));
  HookPoint("projection.after_commit");
  return absl::OkStatus();
}

void ProjectionRuntime::Impl::CutOver(const std::shared_ptr<Generation>& g) {
  std::shared_ptr<Generation> old;
  {
    absl::MutexLock lock(&mu_);
    Entry& e = entries_[g->name];
    if (e.building != g) return;
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
  absl::Status s = FromRocks(db_->Write(wo, &batch), "write projection catalog");
  if (s.ok()) HookPoint("projection.cutover.after_catalog");
  LogLine(absl::StrCat("projection ", g->name, " v", g->version, " generation ", g->id,
                       " is live at position ", g->checkpoint,
                       s.ok() ? "" : " (catalog write failed: " + s.ToString() + ")"));
  if (old != nullptr) Retire(std::move(old));
}

void ProjectionRuntime::Impl::RunWorker(std::shared_ptr<Generation> g) {
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
    absl::Status s = ApplyRange(g, checkpoint + 1, head, &failed_at);
    if (!s.ok()) {
      Fail(*g, s, failed_at);
      return;
    }
  }
}

absl::Status ProjectionRuntime::Impl::WaitFor(const std::string& name, GlobalPosition position,
                                              absl::Time deadline) {
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

std::vector<ProjectionStatus> ProjectionRuntime::Impl::Status() const {
  const GlobalPosition head = log_->Head();
  std::vector<ProjectionStatus> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, e] : entries_) {
    for (const auto& g : {e.live, e.building}) {
      if (g == nullptr) continue;
      ProjectionStatus st;
      st.name = name;
      st.version = g->version;
      st.generation = g->id;
      st.state = g->state;
      st.checkpoint = g->checkpoint;
      st.head = std::max(head, g->checkpoint);
      st.lag = st.head - g->checkpoint;
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
  absl::Status Scan(absl::string_view prefix, const StateVisitor& visit) const override {
    return overlay_.Scan(prefix, visit);
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

absl::StatusOr<std::unique_ptr<StateReader>> ProjectionRuntime::Impl::ReaderAsOf(
    const Generation& g, const rocksdb::Snapshot* snapshot, GlobalPosition position) const {
  std::shared_ptr<Projection> projection;
  {
    absl::MutexLock lock(&mu_);
    projection = g.projection;
  }
  STRATA_ASSIGN_OR_RETURN(GlobalPosition base,
                          projections_internal::FindSnapshot(db_.get(), g.cf, snapshot, position));
  auto reader =
      std::make_unique<OverlaidReader<HistoryStateReader>>(db_.get(), g.cf, snapshot, base);
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
  if (as_of.has_value() && *as_of > log_->Head()) {
    return absl::OutOfRangeError(
        absl::StrCat("as_of_position ", *as_of, " is beyond the head (", log_->Head(), ")"));
  }
  // A secondary (read-only) instance changes only when told to catch up, so
  // it needs no snapshot for one consistent view (and has none to give).
  const rocksdb::Snapshot* snapshot = options_.read_only ? nullptr : db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() {
      if (s != nullptr) db->ReleaseSnapshot(s);
    }
  } release{db_.get(), snapshot};

  std::vector<GlobalPosition> checkpoints;
  for (const auto& g : gens) {
    if (g == nullptr) {
      checkpoints.push_back(log_->Head());  // a fold can stop anywhere
      continue;
    }
    STRATA_ASSIGN_OR_RETURN(GlobalPosition cp,
                            projections_internal::ReadCheckpoint(db_.get(), g->cf, snapshot));
    checkpoints.push_back(cp);
  }
  const GlobalPosition position =
      as_of.has_value() ? *as_of : *std::min_element(checkpoints.begin(), checkpoints.end());
  std::vector<std::unique_ptr<StateReader>> owned;
  std::vector<const StateReader*> readers;
  for (size_t i = 0; i < gens.size(); ++i) {
    if (gens[i] == nullptr) {
      STRATA_ASSIGN_OR_RETURN(std::unique_ptr<StateReader> r, Fold(*code[i], position));
      owned.push_back(std::move(r));
    } else if (checkpoints[i] == position) {
      owned.push_back(std::make_unique<CurrentStateReader>(db_.get(), gens[i]->cf, snapshot));
    } else {
      STRATA_ASSIGN_OR_RETURN(std::unique_ptr<StateReader> r,
                              ReaderAsOf(*gens[i], snapshot, position));
      owned.push_back(std::move(r));
    }
    readers.push_back(owned.back().get());
  }
  return fn(absl::MakeConstSpan(readers), position);
}

// ---- ProjectionRuntime ----

ProjectionRuntime::ProjectionRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProjectionRuntime::~ProjectionRuntime() = default;

absl::StatusOr<std::unique_ptr<ProjectionRuntime>> ProjectionRuntime::Open(
    const std::string& dir, EventLog* log, ProjectionRuntimeOptions options) {
  if (log == nullptr) return absl::InvalidArgumentError("log: null");
  auto impl = std::make_unique<Impl>(dir, log, std::move(options));
  STRATA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ProjectionRuntime>(new ProjectionRuntime(std::move(impl)));
}

absl::Status ProjectionRuntime::Register(std::shared_ptr<Projection> projection) {
  return impl_->Register(std::move(projection));
}
absl::Status ProjectionRuntime::Rebuild(const std::string& name) { return impl_->Rebuild(name); }
absl::Status ProjectionRuntime::WaitFor(const std::string& name, GlobalPosition position,
                                        absl::Time deadline) {
  return impl_->WaitFor(name, position, deadline);
}
std::vector<ProjectionStatus> ProjectionRuntime::Status() const { return impl_->Status(); }
absl::Status ProjectionRuntime::Read(const std::vector<std::string>& names,
                                     std::optional<GlobalPosition> as_of,
                                     const ConsistentReadFn& fn) const {
  return impl_->Read(names, as_of, fn);
}

}  // namespace strata
