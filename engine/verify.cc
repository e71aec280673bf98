// ReadOnlyLog: a read-only RocksDB view of a closed log store, its scan and its
// integrity check (engine/FORMAT.md).
#include "engine/verify.h"

#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"
#include "engine/base/rocksdb_setup.h"
#include "engine/base/rocksdb_status.h"
#include "engine/internal/codec.h"
#include "engine/internal/events_scan.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"

namespace strata {
namespace {

using internal::kCfEventIds;
using internal::kCfEvents;
using internal::kCfIndexes;
using internal::kCfStreams;

absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }
rocksdb::Slice ToSlice(absl::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

// Collects findings up to a bound.
class Findings {
 public:
  Findings(LogVerifyReport* report, size_t max) : report_(report), max_(max) {}
  void Add(std::string finding) {
    if (report_->findings.size() < max_) {
      report_->findings.push_back(std::move(finding));
    } else {
      ++report_->findings_omitted;
    }
  }

 private:
  LogVerifyReport* report_;
  size_t max_;
};

// What one pass over an index does: its own structural checks (counts,
// malformed keys, gaps), and/or point lookups that join it with the events.
struct Pass {
  bool structural = true;
  bool lookups = false;
};

// Order-independent digests of the (index key -> position) pairs, as the
// events imply them and as the indexes hold them: equal sums mean (but for a
// 2^-64 chance) the index holds exactly the entries the events need, so the
// point lookups that would name a difference are skipped.
struct Digests {
  uint64_t streams_from_events = 0;
  uint64_t streams_index = 0;
  uint64_t ids_from_events = 0;
  uint64_t ids_index = 0;
  // Per index stream (by `indexes` key name): its entries, as the events
  // imply them and as `indexes` holds them.
  struct Index {
    uint64_t implied_entries = 0;
    uint64_t held_entries = 0;
    uint64_t implied = 0;
    uint64_t held = 0;
  };
  std::map<std::string, Index> indexes;
  // Events that did not decode: which indexes they belong to is unknown, so
  // no index is compared (the events finding names the cause).
  uint64_t undecodable_events = 0;
};

uint64_t Digest(absl::string_view key, absl::string_view position) {
  return absl::HashOf(key, position);
}

std::string Printable(absl::string_view bytes) {
  return absl::StrCat("'", absl::CHexEscape(bytes), "'");
}

}  // namespace

class ReadOnlyLog::Impl {
 public:
  explicit Impl(std::string dir) : dir_(std::move(dir)) {}
  ~Impl() {
    if (db_ != nullptr) {
      for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      db_->Close().PermitUncheckedError();
      db_.reset();
    }
    if (lock_ != nullptr) rocksdb::Env::Default()->UnlockFile(lock_).PermitUncheckedError();
  }

  absl::Status Open() {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(dir_) / "CURRENT", ec)) {
      return absl::NotFoundError(absl::StrCat("no event log in '", dir_, "' (no CURRENT file)"));
    }
    rocksdb::Status s = rocksdb::Env::Default()->LockFile(dir_ + "/LOCK", &lock_);
    if (!s.ok()) {
      lock_ = nullptr;
      return absl::UnavailableError(
          absl::StrCat("event log '", dir_, "' is in use by another process: ", s.ToString()));
    }
    rocksdb::DBOptions options = internal::StrataDbOptions(false, nullptr);
    // Errors only: the check reports what matters as findings.
    options.info_log->SetInfoLogLevel(rocksdb::InfoLogLevel::ERROR_LEVEL);
    std::vector<std::string> names;
    s = rocksdb::DB::ListColumnFamilies(options, dir_, &names);
    if (!s.ok()) return internal::FromRocksDb(s, absl::StrCat("open event log '", dir_, "'"));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& name : names) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(options, dir_, cfs, &handles_, &raw);
    if (!s.ok()) {
      absl::Status st = internal::FromRocksDb(s, absl::StrCat("open event log '", dir_, "'"));
      // Whatever stops RocksDB from opening the store is damage to report.
      return absl::DataLossError(st.message());
    }
    db_.reset(raw);
    for (size_t i = 0; i < cfs.size(); ++i) {
      if (cfs[i].name == kCfEvents) events_ = handles_[i];
      if (cfs[i].name == kCfStreams) streams_ = handles_[i];
      if (cfs[i].name == kCfEventIds) ids_ = handles_[i];
      if (cfs[i].name == kCfIndexes) indexes_ = handles_[i];
    }
    if (indexes_ != nullptr) {
      // Checked once complete; until then the next read-write open adds to it.
      std::string state;
      s = db_->Get(rocksdb::ReadOptions(), indexes_, ToSlice(internal::kIndexesStateKey), &state);
      if (!s.ok() && !s.IsNotFound()) {
        indexes_state_error_ = internal::FromRocksDb(s, "read the index state");
      }
      if (!s.ok() || state != internal::kIndexesComplete) indexes_ = nullptr;
    }
    if (events_ != nullptr) {
      absl::StatusOr<GlobalPosition> head = internal::ReadHeadPosition(db_.get(), events_);
      if (head.ok()) {
        head_ = *head;
      } else {
        head_status_ = head.status();
      }
    }
    return absl::OkStatus();
  }

  GlobalPosition head() const { return head_; }
  const absl::Status& head_status() const { return head_status_; }

  absl::Status Scan(GlobalPosition from, GlobalPosition to, const EventVisitor& visit) const {
    if (events_ == nullptr) {
      return absl::DataLossError(
          absl::StrCat("event log '", dir_, "' has no events column family"));
    }
    if (from == 0) from = 1;
    to = std::min(to, head_);
    if (from > to) return absl::OkStatus();
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    return internal::WalkEvents(db_.get(), events_, ro, from, to, visit);
  }

  LogVerifyReport Verify(const LogVerifyOptions& options) const {
    LogVerifyReport report;
    report.head = head_;
    Findings findings(&report, options.findings_max);

    rocksdb::Status s = db_->VerifyChecksum();
    if (!s.ok()) findings.Add(absl::StrCat("RocksDB checksum verification failed: ", s.ToString()));
    for (auto [cf, name] : {std::pair{events_, kCfEvents}, std::pair{streams_, kCfStreams},
                            std::pair{ids_, kCfEventIds}}) {
      if (cf == nullptr) findings.Add(absl::StrCat("column family '", name, "' is missing"));
    }
    if (events_ == nullptr || streams_ == nullptr || ids_ == nullptr) return report;

    // One sequential pass over each column family; only when an index's
    // digest disagrees with the events are the passes repeated with point
    // lookups, to name each difference.
    Digests digests;
    absl::flat_hash_set<std::string> missing_stream_keys;
    std::vector<std::string> version_gaps;  // stream keys, reported last
    VerifyEvents(&report, &findings, {true, false}, {true, false}, &missing_stream_keys,
                 &digests);
    VerifyStreams(&report, &findings, {true, false}, &version_gaps, &digests);
    VerifyEventIds(&report, &findings, {true, false}, &digests);
    if (indexes_ != nullptr) VerifyIndexes(&report, &findings, &digests);
    if (!indexes_state_error_.ok()) {
      findings.Add(absl::StrCat("indexes: ", indexes_state_error_.message()));
    }
    const bool streams_differ = digests.streams_from_events != digests.streams_index;
    const bool ids_differ = digests.ids_from_events != digests.ids_index;
    if (streams_differ || ids_differ) {
      VerifyEvents(&report, &findings, {false, streams_differ}, {false, ids_differ},
                   &missing_stream_keys, &digests);
      if (streams_differ) VerifyStreams(&report, &findings, {false, true}, nullptr, &digests);
      if (ids_differ) VerifyEventIds(&report, &findings, {false, true}, &digests);
    }
    // A version missing from the streams index, unless the events pass
    // already named the event that lacks its entry.
    for (const std::string& key : version_gaps) {
      if (missing_stream_keys.contains(key)) continue;
      absl::string_view stream;
      StreamVersion v = 0;
      if (!internal::ParseStreamKey(key, &stream, &v)) continue;
      findings.Add(absl::StrCat("stream '", stream, "': version ", v,
                                " is missing from the streams index"));
    }
    return report;
  }

 private:
  // Index entries whose event RocksDB cannot read (a damaged block): one
  // finding per index, since the checksum and events findings name the cause.
  struct Unreadable {
    uint64_t count = 0;
    std::string first_error;
    void Report(Findings* findings, const char* index) const {
      if (count == 0) return;
      findings->Add(absl::StrCat(index, ": ", count,
                                 count == 1 ? " entry points" : " entries point",
                                 " at events that cannot be read: ", first_error));
    }
  };

  // Reads and decodes the event at `position`: nullopt when absent (`why`
  // says so), unreadable (counted in `unreadable`, `why` empty) or damaged
  // (`why` empty: the events pass reports damaged records already).
  std::optional<EventView> ReadEvent(GlobalPosition position, std::string* value,
                                     std::string* scratch, std::string* why,
                                     Unreadable* unreadable) const {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    rocksdb::Status s = db_->Get(ro, events_, internal::PositionKey(position), value);
    if (s.IsNotFound()) {
      *why = "which has no event";
      return std::nullopt;
    }
    if (!s.ok()) {
      why->clear();
      if (unreadable->count++ == 0) unreadable->first_error = s.ToString();
      return std::nullopt;
    }
    EventView view;
    absl::Status d = internal::DecodeRecord(*value, position, scratch, &view);
    if (!d.ok()) {
      why->clear();
      return std::nullopt;
    }
    return view;
  }

  // `streams` / `ids`: whether this pass looks up each event's entry in that
  // index. A structural pass counts, checks positions and records, and adds
  // up the digests of the entries the events need.
  void VerifyEvents(LogVerifyReport* report, Findings* findings, Pass streams, Pass ids,
                    absl::flat_hash_set<std::string>* missing_stream_keys,
                    Digests* digests) const {
    const bool structural = streams.structural;
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
    GlobalPosition expected = 1;
    std::string scratch;
    std::string index_value;
    uint64_t unreadable_streams = 0;
    uint64_t unreadable_ids = 0;
    std::string first_streams_error;
    std::string first_ids_error;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 8) {
        if (structural) {
          findings->Add(absl::StrCat("events: malformed key ", Printable(ToView(it->key()))));
        }
        continue;
      }
      if (structural) ++report->events;
      const GlobalPosition position = internal::GetBigEndian64(it->key().data());
      if (structural && position > expected) {
        findings->Add(
            position == expected + 1
                ? absl::StrCat("events: position ", expected, " is missing")
                : absl::StrCat("events: positions ", expected, "..", position - 1, " are missing"));
      }
      expected = position + 1;
      EventView view;
      absl::Status d = internal::DecodeRecord(ToView(it->value()), position, &scratch, &view);
      if (!d.ok()) {
        if (structural) {
          findings->Add(absl::StrCat("events: ", d.message()));
          ++digests->undecodable_events;
        }
        continue;
      }
      const std::string stream_key = internal::StreamKey(view.stream, view.stream_version);
      const std::string position_key = internal::PositionKey(position);
      if (structural) {
        digests->streams_from_events += Digest(stream_key, position_key);
        digests->ids_from_events += Digest(view.event_id.AsBytes(), position_key);
        if (indexes_ != nullptr) {
          for (const std::string& name : internal::IndexKeyNamesOf(view.stream, view.type)) {
            Digests::Index& index = digests->indexes[name];
            index.implied +=
                Digest(internal::StreamKey(name, index.implied_entries++), position_key);
          }
        }
      }
      if (streams.lookups) {
        const std::string where =
            absl::StrCat("event at position ", position, " (stream '", view.stream,
                         "' version ", view.stream_version, ")");
        const rocksdb::Status s = db_->Get(ro, streams_, stream_key, &index_value);
        if (s.IsNotFound()) {
          findings->Add(absl::StrCat(where, " has no streams index entry"));
          missing_stream_keys->insert(stream_key);
        } else if (!s.ok()) {
          if (unreadable_streams++ == 0) first_streams_error = s.ToString();
        } else if (index_value != position_key) {
          findings->Add(absl::StrCat(where, ": its streams index entry points at ",
                                     DescribePosition(index_value)));
        }
      }
      if (!ids.lookups) continue;
      const rocksdb::Status s = db_->Get(ro, ids_, ToSlice(view.event_id.AsBytes()), &index_value);
      if (s.IsNotFound()) {
        findings->Add(absl::StrCat("event at position ", position, " (id ",
                                   view.event_id.ToString(), ") has no event_ids index entry"));
      } else if (!s.ok()) {
        if (unreadable_ids++ == 0) first_ids_error = s.ToString();
      } else if (index_value != position_key) {
        findings->Add(
            absl::StrCat("event at position ", position, " (id ", view.event_id.ToString(),
                         "): its event_ids index entry points at ", DescribePosition(index_value)));
      }
    }
    if (unreadable_streams > 0) {
      findings->Add(absl::StrCat("events: the streams index entries of ", unreadable_streams,
                                 " events cannot be read: ", first_streams_error));
    }
    if (unreadable_ids > 0) {
      findings->Add(absl::StrCat("events: the event_ids index entries of ", unreadable_ids,
                                 " events cannot be read: ", first_ids_error));
    }
    if (structural && !it->status().ok()) {
      findings->Add(absl::StrCat("events: reading stopped after position ", expected - 1, ": ",
                                 it->status().ToString()));
    }
  }

  // A structural pass counts, finds version gaps (their keys go to
  // `version_gaps`) and adds up the index's digest; a lookup pass reads each
  // entry's event.
  void VerifyStreams(LogVerifyReport* report, Findings* findings, Pass pass,
                     std::vector<std::string>* version_gaps, Digests* digests) const {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, streams_));
    std::string current;
    bool have_stream = false;
    StreamVersion expected = 0;
    std::string value;
    std::string scratch;
    std::string why;
    Unreadable unreadable;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absl::string_view stream;
      StreamVersion version = 0;
      if (!internal::ParseStreamKey(ToView(it->key()), &stream, &version)) {
        if (pass.structural) {
          findings->Add(absl::StrCat("streams: malformed key ", Printable(ToView(it->key()))));
        }
        continue;
      }
      const std::string where =
          absl::StrCat("streams index entry '", stream, "' version ", version);
      if (pass.structural) {
        ++report->stream_entries;
        if (!have_stream || stream != current) {
          current = std::string(stream);
          have_stream = true;
          expected = 0;
          ++report->streams;
        }
        // A long gap: its first 11 versions are enough.
        for (StreamVersion v = expected; v < version && v - expected <= 10; ++v) {
          version_gaps->push_back(internal::StreamKey(stream, v));
        }
        expected = version + 1;
        digests->streams_index += Digest(ToView(it->key()), ToView(it->value()));
        if (it->value().size() != 8) {
          findings->Add(
              absl::StrCat(where, ": malformed position ", Printable(ToView(it->value()))));
        }
      }
      if (!pass.lookups || it->value().size() != 8) continue;
      const GlobalPosition position = internal::GetBigEndian64(it->value().data());
      std::optional<EventView> e = ReadEvent(position, &value, &scratch, &why, &unreadable);
      if (!e.has_value()) {
        if (!why.empty())
          findings->Add(absl::StrCat(where, " points at position ", position, ", ", why));
      } else if (e->stream != stream || e->stream_version != version) {
        findings->Add(absl::StrCat(where, " points at position ", position,
                                   ", which holds stream '", e->stream, "' version ",
                                   e->stream_version));
      }
    }
    unreadable.Report(findings, "streams");
    if (pass.structural && !it->status().ok()) {
      findings->Add(absl::StrCat("streams: reading stopped: ", it->status().ToString()));
    }
  }

  // As VerifyStreams, for the event_ids index.
  void VerifyEventIds(LogVerifyReport* report, Findings* findings, Pass pass,
                      Digests* digests) const {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, ids_));
    std::string value;
    std::string scratch;
    std::string why;
    Unreadable unreadable;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::optional<EventId> id = EventId::FromBytes(ToView(it->key()));
      if (!id.has_value()) {
        if (pass.structural) {
          findings->Add(absl::StrCat("event_ids: malformed key ", Printable(ToView(it->key()))));
        }
        continue;
      }
      const std::string where = absl::StrCat("event_ids index entry ", id->ToString());
      if (pass.structural) {
        ++report->event_ids;
        digests->ids_index += Digest(ToView(it->key()), ToView(it->value()));
        if (it->value().size() != 8) {
          findings->Add(
              absl::StrCat(where, ": malformed position ", Printable(ToView(it->value()))));
        }
      }
      if (!pass.lookups || it->value().size() != 8) continue;
      const GlobalPosition position = internal::GetBigEndian64(it->value().data());
      std::optional<EventView> e = ReadEvent(position, &value, &scratch, &why, &unreadable);
      if (!e.has_value()) {
        if (!why.empty())
          findings->Add(absl::StrCat(where, " points at position ", position, ", ", why));
      } else if (!(e->event_id == *id)) {
        findings->Add(absl::StrCat(where, " points at position ", position, ", which holds event ",
                                   e->event_id.ToString()));
      }
    }
    unreadable.Report(findings, "event_ids");
    if (pass.structural && !it->status().ok()) {
      findings->Add(absl::StrCat("event_ids: reading stopped: ", it->status().ToString()));
    }
  }

  // Adds up the digest of each index stream's entries, and names each index
  // whose entries differ from those the events imply.
  void VerifyIndexes(LogVerifyReport* report, Findings* findings, Digests* digests) const {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, indexes_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const absl::string_view key = ToView(it->key());
      if (key == internal::kIndexesStateKey) continue;
      absl::string_view name;
      StreamVersion version = 0;
      if (!internal::ParseStreamKey(key, &name, &version) || name.empty()) {
        findings->Add(absl::StrCat("indexes: malformed key ", Printable(key)));
        continue;
      }
      internal::IndexRun run;
      if (!internal::DecodeIndexRun(ToView(it->value()), &run) || run.count > head_ ||
          run.first_position > head_ - run.count + 1) {
        findings->Add(absl::StrCat("index stream '", internal::IndexStreamOfKeyName(name),
                                   "' version ", version, ": malformed entry ",
                                   Printable(ToView(it->value()))));
        continue;
      }
      report->index_entries += run.count;
      Digests::Index& index = digests->indexes[std::string(name)];
      index.held_entries += run.count;
      for (uint64_t i = 0; i < run.count; ++i) {
        index.held += Digest(internal::StreamKey(name, version + i),
                             internal::PositionKey(run.first_position + i));
      }
    }
    if (!it->status().ok()) {
      findings->Add(absl::StrCat("indexes: reading stopped: ", it->status().ToString()));
      return;
    }
    if (digests->undecodable_events > 0) return;
    for (const auto& [name, index] : digests->indexes) {
      if (index.implied == index.held && index.implied_entries == index.held_entries) continue;
      findings->Add(absl::StrCat(
          "index stream '", internal::IndexStreamOfKeyName(name), "' holds ", index.held_entries,
          " entries where the events imply ", index.implied_entries,
          index.held_entries == index.implied_entries ? ", and they differ from those" : ""));
    }
  }

  static std::string DescribePosition(absl::string_view value) {
    if (value.size() != 8) return absl::StrCat("a malformed position ", Printable(value));
    return absl::StrCat("position ", internal::GetBigEndian64(value.data()));
  }

  const std::string dir_;
  rocksdb::FileLock* lock_ = nullptr;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* ids_ = nullptr;
  // Null when absent or not complete (a log written before index streams).
  rocksdb::ColumnFamilyHandle* indexes_ = nullptr;
  absl::Status indexes_state_error_;  // reading whether it is complete failed
  GlobalPosition head_ = 0;
  absl::Status head_status_;
};

ReadOnlyLog::ReadOnlyLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReadOnlyLog::~ReadOnlyLog() = default;

absl::StatusOr<std::unique_ptr<ReadOnlyLog>> ReadOnlyLog::Open(const std::string& log_dir) {
  auto impl = std::make_unique<Impl>(log_dir);
  STRATA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ReadOnlyLog>(new ReadOnlyLog(std::move(impl)));
}

GlobalPosition ReadOnlyLog::Head() const { return impl_->head(); }
const absl::Status& ReadOnlyLog::HeadStatus() const { return impl_->head_status(); }

absl::Status ReadOnlyLog::Scan(GlobalPosition from, GlobalPosition to,
                               const EventVisitor& visit) const {
  return impl_->Scan(from, to, visit);
}

LogVerifyReport ReadOnlyLog::Verify(const LogVerifyOptions& options) const {
  return impl_->Verify(options);
}

absl::StatusOr<LogVerifyReport> VerifyLogStore(const std::string& log_dir,
                                               const LogVerifyOptions& options) {
  absl::StatusOr<std::unique_ptr<ReadOnlyLog>> log = ReadOnlyLog::Open(log_dir);
  if (absl::IsDataLoss(log.status())) {
    LogVerifyReport report;
    report.findings.push_back(std::string(log.status().message()));
    return report;
  }
  if (!log.ok()) return log.status();
  return (*log)->Verify(options);
}

}  // namespace strata
