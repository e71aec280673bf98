// Internal: how a generation's column family is laid out, the readers over it
// and the in-memory overlay that Apply writes into. See projections/FORMAT.md.
// Not thread-safe unless stated; each object belongs to one thread.
#ifndef STRATA_PROJECTIONS_RUNTIME_STATE_H_
#define STRATA_PROJECTIONS_RUNTIME_STATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/base/rocksdb_status.h"
#include "projections/projection.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/write_batch.h"

namespace strata::projections_internal {

// Key prefixes inside a generation's column family.
inline constexpr char kStatePrefix = 's';    // 's' key -> current value
inline constexpr char kDirtyPrefix = 'd';    // 'd' key -> "": stores before 2026-12-05 only
inline constexpr char kHistoryPrefix = 'h';  // 'h' key 0x00 S(8, BE) -> 0x01 value | 0x00
inline constexpr char kMetaCheckpoint[] = "mcheckpoint";  // -> position (8, BE)
inline constexpr char kMetaSnapshotPrefix[] = "msnap";    // "msnap" S(8, BE) -> ""

std::string StateKey(absl::string_view key);
std::string HistoryKey(absl::string_view key, GlobalPosition snapshot);
std::string SnapshotKey(GlobalPosition snapshot);

// u64 add for counters (8-byte little-endian values).
std::shared_ptr<rocksdb::MergeOperator> NewCounterMergeOperator();

using internal::FromRocksDb;  // the one RocksDB -> absl status mapping

// The checkpoint stored in `cf` (0 when none).
absl::StatusOr<GlobalPosition> ReadCheckpoint(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                              const rocksdb::Snapshot* view);
// The newest snapshot position <= `position` (0 when none).
absl::StatusOr<GlobalPosition> FindSnapshot(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                            const rocksdb::Snapshot* view, GlobalPosition position);

// A state with no keys: where a fold starts. Thread-safe.
class EmptyStateReader : public StateReader {
 public:
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view) const override {
    return std::nullopt;
  }
  absl::Status ScanFrom(absl::string_view, absl::string_view, const StateVisitor&) const override {
    return absl::OkStatus();
  }
};

// Words: a "snapshot" in this code is a time-travel snapshot (the state of
// every key changed since the previous one, stored every K positions); a
// RocksDB snapshot (rocksdb::Snapshot), a consistent read of the store, is a
// "view".

// Current state ('s' keys), optionally in a read view. Thread-safe.
class CurrentStateReader : public StateReader {
 public:
  CurrentStateReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                     const rocksdb::Snapshot* view)
      : db_(db), cf_(cf), view_(view) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override;
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  const rocksdb::Snapshot* view_;
};

// State as of a durable snapshot position ('h' keys). Thread-safe.
class HistoryStateReader : public StateReader {
 public:
  HistoryStateReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                     const rocksdb::Snapshot* view, GlobalPosition at)
      : db_(db), cf_(cf), view_(view), at_(at) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override;
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  const rocksdb::Snapshot* view_;
  GlobalPosition at_;
};

// A worker's reader of its own generation's committed state, remembering
// the values it read and those its commits wrote, so a replay reads each hot
// key from RocksDB once rather than once per batch. Valid only while this
// worker is the generation's one writer; holds about `bytes_max` of keys
// and values (then starts over). Not thread-safe.
class CachingStateReader : public StateReader {
 public:
  CachingStateReader(const StateReader* base, size_t bytes_max)
      : base_(base), bytes_max_(bytes_max) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override;
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override {
    return base_->ScanFrom(prefix, start, visit);
  }
  // `key` now holds `value` (nullopt: absent).
  void Remember(const std::string& key, std::optional<std::string> value) const;
  // Remembers `next(value)` as the value of `key` (read from the base when
  // not known) and returns it: one lookup where Get then Remember take two.
  using Next = std::function<absl::StatusOr<std::optional<std::string>>(
      const std::optional<std::string>& value)>;
  absl::StatusOr<std::optional<std::string>> Update(const std::string& key, const Next& next) const;

 private:
  using Map = absl::flat_hash_map<std::string, std::optional<std::string>>;
  static size_t Cost(const std::string& key, const std::optional<std::string>& value) {
    return key.size() + (value.has_value() ? value->size() : 0) + 64;  // 64: the map's own
  }
  // Stores `value` in `it`, whose old value is not counted in bytes_; past
  // bytes_max_ the cache starts over, keeping only this key.
  void Store(Map::iterator it, std::optional<std::string> value) const;

  const StateReader* base_;
  size_t bytes_max_;
  mutable size_t bytes_ = 0;
  mutable Map cache_;
};

// Writes of one batch kept in memory over a base reader; reads see them.
// The first misuse (a NUL in a key, Add on a value that is not a counter) is
// kept in status() and ends the batch.
class OverlayWriter : public ProjectionWriter {
 public:
  explicit OverlayWriter(const StateReader* base) : base_(base) {}

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override;
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override;
  void Put(absl::string_view key, absl::string_view value) override;
  void Delete(absl::string_view key) override;
  void Add(absl::string_view key, uint64_t delta) override;

  const absl::Status& status() const { return status_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }  // keys written
  bool Contains(absl::string_view key) const { return ops_.contains(key); }
  // Put, Delete and Add calls since construction (Clear keeps counting).
  uint64_t writes() const { return writes_; }
  // Empties the overlay for the next batch, keeping room for as many keys.
  void Clear() {
    const size_t keys = ops_.size();
    ops_.clear();  // frees a large table
    ops_.reserve(keys);
  }

  // Calls `fn(key, after)` for each key written, in key order, where
  // `after(before)` is the key's value after the batch given `before`, its
  // value before it (nullopt: absent). Stops at the first error of `fn`.
  absl::Status ForEachChange(
      const std::function<absl::Status(const std::string&, const CachingStateReader::Next&)>& fn)
      const;

 private:
  struct Op {
    enum class Kind { kPut, kDelete, kAdd } kind;
    std::string value;   // kPut
    uint64_t delta = 0;  // kAdd
  };
  using Entry = std::pair<const std::string, Op>;
  std::vector<const Entry*> Sorted() const;  // the writes in key order
  static absl::StatusOr<std::optional<std::string>> After(absl::string_view key, const Op& op,
                                                          const std::optional<std::string>& before);
  bool CheckKey(absl::string_view key);
  Op& Slot(absl::string_view key);  // the op for `key`, created empty when absent

  const StateReader* base_;
  absl::flat_hash_map<std::string, Op> ops_;
  uint64_t writes_ = 0;
  absl::Status status_;
};

}  // namespace strata::projections_internal

#endif  // STRATA_PROJECTIONS_RUNTIME_STATE_H_
