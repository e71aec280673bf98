// ProjectionRuntime: the catalog (generations recovered on open, created,
// persisted, retired and dropped), registration and rebuilds, and the public
// facade over ProjectionRuntime::Impl (internal/runtime_impl.h). Workers are
// in runtime_worker.cc, reads in runtime_read.cc.
#include "projections/runtime/runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/base/thread_name.h"
#include "projections/runtime/internal/runtime_impl.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace strata {
namespace {

// See GenerationCfOptions.
constexpr size_t kGenerationWriteBufferBytes = 2 << 20;
constexpr int kGenerationWriteBuffersMax = 4;

}  // namespace

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

void ProjectionRuntime::Impl::LogLine(const std::string& line, LogLevel level) const {
  options_.logger->Log(level, "projections", line);
}

rocksdb::ColumnFamilyOptions ProjectionRuntime::Impl::GenerationCfOptions() const {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache_;
  // A worker reads the value of every key its snapshot batch changed, and in
  // a replay most of those keys are new: whole-key Bloom filters in the table
  // files and the memtable answer "absent" without searching every level
  // (a link_clicks replay spent 60% of its time in such lookups without).
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.memtable_whole_key_filtering = true;
  cf.memtable_prefix_bloom_size_ratio = 0.05;
  // Workers write whole values (CommitBatch). Stores written before did
  // write counter merge operands, which reads and compactions still resolve.
  cf.merge_operator = merge_;
  // Small memtables: every commit of a live batch adds a version of each key
  // it touches, and scans step over those versions until a flush drops them
  // (a hot link's 30-day analytics: p50 6.8 ms with 64 MiB, 1.1 ms with 2 MiB,
  // after 60k clicks on it). Replays gain too (smaller skip lists).
  cf.write_buffer_size = kGenerationWriteBufferBytes;
  // A replay fills a small memtable in a few batches: with RocksDB's default
  // of 2, it stopped writes to wait for each flush ("Stopping writes because
  // we have 2 immutable memtables") at every rebuild.
  cf.max_write_buffer_number = kGenerationWriteBuffersMax;
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
  rocksdb::DBOptions db_options = internal::StrataDbOptions(!read_only, options_.logger);
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
    if (!s.ok()) return FromRocksDb(s, absl::StrCat("open projection store '", dir_, "'"));
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
    const std::optional<uint64_t> id =
        catalog::ParseGenerationKey(absl::string_view(it->key().data(), it->key().size()));
    if (!id.has_value()) return absl::DataLossError("projection catalog key is malformed");
    STRATA_ASSIGN_OR_RETURN(std::shared_ptr<Generation> g,
                            Generation::FromRecord(*id, absl::string_view(it->value().data(),
                                                                         it->value().size())));
    g->db = db_.get();
    auto h = by_name.find(g->cf_name);
    if (h == by_name.end()) {
      if (g->state == GenerationState::kRetired) {
        retired.push_back(g);  // dropped before the crash; only the record remains
        continue;
      }
      return absl::DataLossError(absl::StrCat("projection '", g->name, "' generation ", *id,
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
      LogLine(absl::StrCat("projection ", g->name, " v", g->version, " failed: ", g->error),
              LogLevel::kError);
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
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "read projection catalog"));
  if (read_only) return absl::OkStatus();  // leftovers are the writer's to drop
  // Column families without a catalog record: created just before a crash.
  for (auto& [name, handle] : by_name) {
    LogLine(absl::StrCat("dropping orphan projection column family ", name), LogLevel::kWarning);
    STRATA_RETURN_IF_ERROR(FromRocksDb(db_->DropColumnFamily(handle), "drop orphan"));
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  for (auto& g : retired) {
    if (g->cf != nullptr) {
      STRATA_RETURN_IF_ERROR(FromRocksDb(db_->DropColumnFamily(g->cf), "drop retired generation"));
    }
    STRATA_RETURN_IF_ERROR(
        FromRocksDb(db_->Delete(rocksdb::WriteOptions(), catalog_cf_, GenerationKey(g->id)),
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
    // Flush what the memtables hold: their WAL would otherwise be replayed,
    // key by key, on the next open (seconds after a busy hour). Retired
    // generations are dropped already: nothing of theirs is replayed.
    if (db_ != nullptr && !options_.read_only) {
      std::vector<rocksdb::ColumnFamilyHandle*> cfs = {catalog_cf_};
      for (const auto& [name, e] : entries_) {
        for (const auto* g : {e.live.get(), e.building.get()}) {
          if (g != nullptr && g->cf != nullptr) cfs.push_back(g->cf);
        }
      }
      const rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), cfs);
      if (!s.ok()) LogLine("flush at close failed: " + s.ToString(), LogLevel::kWarning);
    }
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
  return FromRocksDb(db_->Put(wo, catalog_cf_, GenerationKey(g.id), g.Record()),
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
      FromRocksDb(db_->Put(rocksdb::WriteOptions(), catalog_cf_, kNextGenerationKey, next),
                "write projection catalog"));
  STRATA_RETURN_IF_ERROR(FromRocksDb(db_->CreateColumnFamily(GenerationCfOptions(), g->cf_name, &g->cf),
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
  g->worker = std::thread([this, g] {
    SetThreadName(absl::StrCat("proj-", g->name));
    RunWorker(g);
  });
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

absl::Status ProjectionRuntime::Impl::Drop(const std::string& name) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(absl::StrCat(
        "projection store '", dir_, "' is open read-only: drop ", name, " on the server"));
  }
  std::vector<std::shared_ptr<Generation>> to_retire;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return absl::OkStatus();
    for (auto* g : {&it->second.live, &it->second.building}) {
      if (*g != nullptr) to_retire.push_back(std::move(*g));
    }
    entries_.erase(it);
  }
  for (auto& g : to_retire) Retire(std::move(g));
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
  if (s.ok()) s = FromRocksDb(db_->DropColumnFamily(g->cf), "drop retired generation");
  if (s.ok()) {
    s = FromRocksDb(db_->Delete(rocksdb::WriteOptions(), catalog_cf_, GenerationKey(g->id)),
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
                       " failed at position ", position, ": ", error.ToString()),
          LogLevel::kError);
}

// ---- ProjectionRuntime ----

ProjectionRuntime::ProjectionRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProjectionRuntime::~ProjectionRuntime() = default;

absl::StatusOr<std::unique_ptr<ProjectionRuntime>> ProjectionRuntime::Open(
    const std::string& dir, EventLog* log, ProjectionRuntimeOptions options) {
  if (log == nullptr) return absl::InvalidArgumentError("log: null");
  options.logger = OrDefault(std::move(options.logger));
  auto impl = std::make_unique<Impl>(dir, log, std::move(options));
  STRATA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ProjectionRuntime>(new ProjectionRuntime(std::move(impl)));
}

absl::Status ProjectionRuntime::Register(std::shared_ptr<Projection> projection) {
  return impl_->Register(std::move(projection));
}
absl::Status ProjectionRuntime::Rebuild(const std::string& name) { return impl_->Rebuild(name); }
absl::Status ProjectionRuntime::Drop(const std::string& name) { return impl_->Drop(name); }
absl::Status ProjectionRuntime::Checkpoint(const std::string& dir) const {
  return impl_->Checkpoint(dir);
}
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
