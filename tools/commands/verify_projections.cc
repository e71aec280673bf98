// VerifyProjectionStore (verify_projections.h): opens the projection store
// read-only under its lock, checks each catalog record's column family,
// checkpoint and snapshots against the log's head, and with `deep` recomputes
// the read models this binary has code for and compares them key by key.
#include "tools/commands/verify_projections.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/coding.h"
#include "links/links.h"
#include "projections/runtime/catalog.h"
#include "projections/runtime/state.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"

namespace strata::cli {
namespace {

using projections_internal::CurrentStateReader;
using projections_internal::HistoryStateReader;
using projections_internal::OverlayWriter;

using catalog::kCatalogCf;
using catalog::kGenerationKeyPrefix;
constexpr size_t kDiffKeysShown = 3;

// A generation's catalog record, read with the runtime's own codec
// (projections/runtime/catalog.h), and its id.
struct CatalogRecord : catalog::CatalogRecord {
  uint64_t id = 0;
  const char* state_name() const { return GenerationStateName(state); }
};

std::optional<CatalogRecord> ParseRecord(uint64_t id, absl::string_view bytes) {
  absl::StatusOr<catalog::CatalogRecord> decoded = catalog::DecodeRecord(bytes);
  if (!decoded.ok()) return std::nullopt;
  CatalogRecord r;
  static_cast<catalog::CatalogRecord&>(r) = std::move(*decoded);
  r.id = id;
  return r;
}

// The projection code this binary knows for (name, version), or null.
std::shared_ptr<Projection> KnownProjection(const std::string& name, uint32_t version) {
  for (std::shared_ptr<Projection>& p : links::Projections()) {
    if (p->name() == name && p->version() == version) return p;
  }
  return nullptr;
}

absl::StatusOr<std::map<std::string, std::string>> ReadAll(const StateReader& reader) {
  std::map<std::string, std::string> out;
  absl::Status s = reader.Scan("", [&](absl::string_view key, absl::string_view value) {
    out.emplace(std::string(key), std::string(value));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

std::string Show(const std::optional<std::string>& value) {
  if (!value.has_value()) return "absent";
  if (std::optional<uint64_t> n = DecodeCounter(*value); n.has_value()) return absl::StrCat(*n);
  std::string text = absl::CHexEscape(*value);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return absl::StrCat("'", text, "'");
}

// Compares the stored state with the recomputed one; a finding or "".
std::string Compare(const std::string& what, const std::map<std::string, std::string>& stored,
                    const std::map<std::string, std::string>& recomputed) {
  std::vector<std::string> diffs;
  size_t count = 0;
  auto note = [&](const std::string& key, const std::optional<std::string>& s,
                  const std::optional<std::string>& r) {
    ++count;
    if (diffs.size() < kDiffKeysShown) {
      diffs.push_back(
          absl::StrCat("'", absl::CHexEscape(key), "' is ", Show(s), ", the log gives ", Show(r)));
    }
  };
  auto a = stored.begin();
  auto b = recomputed.begin();
  while (a != stored.end() || b != recomputed.end()) {
    if (b == recomputed.end() || (a != stored.end() && a->first < b->first)) {
      note(a->first, a->second, std::nullopt);
      ++a;
    } else if (a == stored.end() || b->first < a->first) {
      note(b->first, std::nullopt, b->second);
      ++b;
    } else {
      if (a->second != b->second) note(a->first, a->second, b->second);
      ++a;
      ++b;
    }
  }
  if (count == 0) return "";
  std::string out = absl::StrCat(what, ": the read model differs from the log in ", count,
                                 count == 1 ? " key: " : " keys: ", absl::StrJoin(diffs, "; "));
  if (count > diffs.size()) absl::StrAppend(&out, "; and ", count - diffs.size(), " more");
  return out;
}

// RocksDB's errors to stderr; no LOG file in the store (a read-only check
// must not write one).
class ErrorLogger : public rocksdb::Logger {
 public:
  ErrorLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::ERROR_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", buf);
  }
};

class Store {
 public:
  ~Store() {
    if (db_ != nullptr) {
      for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      db_->Close().PermitUncheckedError();
      db_.reset();
    }
    if (lock_ != nullptr) rocksdb::Env::Default()->UnlockFile(lock_).PermitUncheckedError();
  }

  // A finding (returned as DataLoss) when RocksDB refuses the store.
  absl::Status Open(const std::string& dir) {
    rocksdb::Status s = rocksdb::Env::Default()->LockFile(dir + "/LOCK", &lock_);
    if (!s.ok()) {
      lock_ = nullptr;
      return absl::UnavailableError(absl::StrCat("projection store '", dir,
                                                 "' is in use by another process: ", s.ToString()));
    }
    rocksdb::DBOptions options;
    options.create_if_missing = false;
    options.info_log = std::make_shared<ErrorLogger>();
    std::vector<std::string> names;
    s = rocksdb::DB::ListColumnFamilies(options, dir, &names);
    if (!s.ok()) return absl::DataLossError(absl::StrCat("cannot open: ", s.ToString()));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    rocksdb::ColumnFamilyOptions generation_options;
    generation_options.merge_operator = projections_internal::NewCounterMergeOperator();
    for (const std::string& name : names) {
      cfs.emplace_back(name, name == rocksdb::kDefaultColumnFamilyName || name == kCatalogCf
                                 ? rocksdb::ColumnFamilyOptions()
                                 : generation_options);
    }
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(options, dir, cfs, &handles_, &raw);
    if (!s.ok()) return absl::DataLossError(absl::StrCat("cannot open: ", s.ToString()));
    db_.reset(raw);
    for (size_t i = 0; i < cfs.size(); ++i) by_name_[cfs[i].name] = handles_[i];
    return absl::OkStatus();
  }

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  const std::map<std::string, rocksdb::ColumnFamilyHandle*>& cfs() const { return by_name_; }

 private:
  rocksdb::FileLock* lock_ = nullptr;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

std::string Describe(const CatalogRecord& r) {
  return absl::StrCat("projection ", r.name, " v", r.projection_version, " generation ", r.id);
}

// Recomputes `r`'s read model from the log and compares it at each durable
// snapshot and at the checkpoint. Returns "match", "differs" or "skipped".
std::string DeepCheck(const Store& store, rocksdb::ColumnFamilyHandle* cf, const CatalogRecord& r,
                      uint64_t checkpoint, const std::vector<uint64_t>& snapshots,
                      const ReadOnlyLog* log, ProjectionVerifyReport* report) {
  std::shared_ptr<Projection> code = KnownProjection(r.name, r.projection_version);
  if (code == nullptr) {
    report->notes.push_back(absl::StrCat(Describe(r),
                                         ": not recomputed: this strata binary does "
                                         "not have its code"));
    return "skipped";
  }
  projections_internal::EmptyStateReader empty;
  OverlayWriter recomputed(&empty);
  size_t next_snapshot = 0;
  std::vector<std::string> findings;
  absl::Status apply_error;
  auto compare_at = [&](const StateReader& stored, const std::string& what) {
    absl::StatusOr<std::map<std::string, std::string>> a = ReadAll(stored);
    absl::StatusOr<std::map<std::string, std::string>> b = ReadAll(recomputed);
    if (!a.ok()) {
      findings.push_back(
          absl::StrCat(what, ": cannot read the read model: ", a.status().message()));
      return;
    }
    if (!b.ok()) {
      findings.push_back(absl::StrCat(what, ": cannot recompute: ", b.status().message()));
      return;
    }
    std::string diff = Compare(what, *a, *b);
    if (!diff.empty()) findings.push_back(std::move(diff));
  };
  absl::Status s = log->Scan(1, checkpoint, [&](const EventView& e) {
    absl::Status applied = code->Apply(e, recomputed);
    if (applied.ok()) applied = recomputed.status();
    if (!applied.ok()) {
      apply_error = absl::Status(applied.code(),
                                 absl::StrCat("at position ", e.position, ": ", applied.message()));
      return false;
    }
    while (next_snapshot < snapshots.size() && snapshots[next_snapshot] < e.position) {
      ++next_snapshot;
    }
    if (next_snapshot < snapshots.size() && snapshots[next_snapshot] == e.position) {
      HistoryStateReader history(store.db(), cf, nullptr, e.position);
      compare_at(history, absl::StrCat(Describe(r), " at snapshot ", e.position));
      ++next_snapshot;
    }
    return true;
  });
  if (!apply_error.ok()) {
    report->findings.push_back(absl::StrCat(Describe(r), ": recomputing from the log fails ",
                                            apply_error.message(), ", but the generation is ",
                                            r.state_name()));
    return "differs";
  }
  if (!s.ok()) {
    report->notes.push_back(
        absl::StrCat(Describe(r), ": not recomputed: the log cannot be read: ", s.message()));
    return "skipped";
  }
  CurrentStateReader current(store.db(), cf, nullptr);
  compare_at(current, absl::StrCat(Describe(r), " at checkpoint ", checkpoint));
  for (std::string& f : findings) report->findings.push_back(std::move(f));
  return findings.empty() ? "match" : "differs";
}

}  // namespace

absl::StatusOr<ProjectionVerifyReport> VerifyProjectionStore(const std::string& dir,
                                                             const ReadOnlyLog* log, bool deep) {
  ProjectionVerifyReport report;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    report.notes.push_back(absl::StrCat("no projection store in ", dir));
    return report;
  }
  report.present = true;
  Store store;
  absl::Status opened = store.Open(dir);
  if (absl::IsUnavailable(opened)) return opened;
  if (!opened.ok()) {
    report.findings.push_back(absl::StrCat("projection store ", dir, ": ", opened.message()));
    return report;
  }
  rocksdb::ColumnFamilyHandle* catalog = store.cf(kCatalogCf);
  if (catalog == nullptr) {
    report.findings.push_back(absl::StrCat("projection store ", dir, ": no catalog column family"));
    return report;
  }
  const GlobalPosition head = log->Head();
  if (!log->HeadStatus().ok()) {
    report.notes.push_back("checkpoints not compared with the log's head, which cannot be read");
  }
  std::vector<CatalogRecord> records;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), catalog));
  for (it->Seek(kGenerationKeyPrefix); it->Valid() && it->key().starts_with(kGenerationKeyPrefix);
       it->Next()) {
    const std::optional<uint64_t> id =
        catalog::ParseGenerationKey(absl::string_view(it->key().data(), it->key().size()));
    if (!id.has_value()) {
      report.findings.push_back("projection catalog: malformed generation key");
      continue;
    }
    std::optional<CatalogRecord> r =
        ParseRecord(*id, absl::string_view(it->value().data(), it->value().size()));
    if (!r.has_value()) {
      report.findings.push_back(
          absl::StrCat("projection catalog: record of generation ", *id, " is malformed"));
      continue;
    }
    records.push_back(std::move(*r));
  }
  if (!it->status().ok()) {
    report.findings.push_back(
        absl::StrCat("projection catalog: reading stopped: ", it->status().ToString()));
  }
  it.reset();

  std::map<std::string, std::vector<uint64_t>> live_by_name;
  std::map<std::string, bool> referenced;
  for (const CatalogRecord& r : records) {
    referenced[r.column_family] = true;
    rocksdb::ColumnFamilyHandle* cf = store.cf(r.column_family);
    if (r.state == GenerationState::kRetired) {
      report.notes.push_back(absl::StrCat(Describe(r), " is retired; stratad drops it on start"));
      continue;
    }
    if (cf == nullptr) {
      report.findings.push_back(
          absl::StrCat(Describe(r), " (", r.state_name(), ") has no column family '",
                       r.column_family, "'"));
      continue;
    }
    if (r.state == GenerationState::kLive) live_by_name[r.name].push_back(r.id);
    GenerationCheck check;
    check.name = r.name;
    check.version = r.projection_version;
    check.generation = r.id;
    check.state = r.state_name();
    absl::StatusOr<GlobalPosition> checkpoint =
        projections_internal::ReadCheckpoint(store.db(), cf, nullptr);
    if (!checkpoint.ok()) {
      report.findings.push_back(
          absl::StrCat(Describe(r), ": checkpoint: ", checkpoint.status().message()));
      report.generations.push_back(std::move(check));
      continue;
    }
    check.checkpoint = *checkpoint;
    if (r.state == GenerationState::kFailed) {
      report.findings.push_back(
          absl::StrCat(Describe(r), " failed at position ", r.error_position, ": ", r.error));
    }
    const bool beyond = log->HeadStatus().ok() && *checkpoint > head;
    if (beyond) {
      report.findings.push_back(absl::StrCat(Describe(r), ": checkpoint ", *checkpoint,
                                             " is beyond the log's head ", head));
    }
    // Durable snapshots, each at or below the checkpoint.
    std::vector<uint64_t> snapshots;
    {
      std::unique_ptr<rocksdb::Iterator> s(store.db()->NewIterator(rocksdb::ReadOptions(), cf));
      const std::string prefix = projections_internal::kMetaSnapshotPrefix;
      for (s->Seek(prefix); s->Valid() && s->key().starts_with(prefix); s->Next()) {
        if (s->key().size() != prefix.size() + 8) continue;
        const uint64_t at = internal::GetBigEndian64(s->key().data() + prefix.size());
        if (at > *checkpoint) {
          report.findings.push_back(absl::StrCat(Describe(r), ": snapshot at ", at,
                                                 " is beyond its checkpoint ", *checkpoint));
        } else {
          snapshots.push_back(at);
        }
      }
    }
    check.snapshots = snapshots.size();
    if (deep) {
      if (beyond || r.state == GenerationState::kFailed || !log->HeadStatus().ok()) {
        report.notes.push_back(absl::StrCat(Describe(r), ": not recomputed: ",
                                            beyond ? "its checkpoint is beyond the head"
                                            : r.state == GenerationState::kFailed ? "failed"
                                                                  : "the log cannot be read"));
        check.deep = "skipped";
      } else {
        check.deep = DeepCheck(store, cf, r, *checkpoint, snapshots, log, &report);
      }
    }
    report.generations.push_back(std::move(check));
  }
  for (const auto& [name, ids] : live_by_name) {
    if (ids.size() > 1) {
      report.findings.push_back(absl::StrCat("projection ", name, " has ", ids.size(),
                                             " live generations (", absl::StrJoin(ids, ", "), ")"));
    }
  }
  for (const auto& [name, handle] : store.cfs()) {
    if (name == rocksdb::kDefaultColumnFamilyName || name == kCatalogCf || referenced[name]) {
      continue;
    }
    report.notes.push_back(absl::StrCat("column family '", name,
                                        "' has no catalog record (left by an interrupted "
                                        "create); stratad drops it on start"));
  }
  return report;
}

}  // namespace strata::cli
