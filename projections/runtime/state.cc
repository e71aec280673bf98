// The layout of a generation's column family (state.h, projections/FORMAT.md):
// key builders, the counter codec and merge operator, checkpoint and snapshot
// lookups, the current, history and caching readers, and OverlayWriter.
#include "projections/runtime/state.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"
#include "engine/base/coding.h"
#include "engine/base/rocksdb_status.h"

namespace strata {

namespace {
thread_local int long_range_folds = 0;
}  // namespace

LongRangeFold::LongRangeFold() { ++long_range_folds; }
LongRangeFold::~LongRangeFold() { --long_range_folds; }
bool LongRangeFold::OnThisThread() { return long_range_folds > 0; }

std::string EncodeCounter(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

std::optional<uint64_t> DecodeCounter(absl::string_view value) {
  if (value.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(value[i]);
  return v;
}

namespace {

// A stored value read as a counter: 0 when absent.
absl::StatusOr<uint64_t> CounterOf(absl::string_view key, const std::optional<std::string>& value) {
  if (!value.has_value()) return 0;
  std::optional<uint64_t> counter = DecodeCounter(*value);
  if (!counter.has_value()) {
    return absl::DataLossError(absl::StrCat("projection key '", key, "' holds ", value->size(),
                                            " bytes, not an 8-byte counter"));
  }
  return *counter;
}

}  // namespace

absl::StatusOr<uint64_t> StateReader::GetCounter(absl::string_view key) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(key));
  return CounterOf(key, value);
}

namespace projections_internal {
namespace {

rocksdb::Slice ToSlice(absl::string_view v) { return rocksdb::Slice(v.data(), v.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

class CounterMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& operand, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    uint64_t base = 0;
    if (existing != nullptr) {
      std::optional<uint64_t> v = DecodeCounter(ToView(*existing));
      if (!v.has_value()) return false;
      base = *v;
    }
    std::optional<uint64_t> delta = DecodeCounter(ToView(operand));
    if (!delta.has_value()) return false;
    *new_value = EncodeCounter(base + *delta);
    return true;
  }
  const char* Name() const override { return "strata.u64add"; }
};

rocksdb::ReadOptions ReadAt(const rocksdb::Snapshot* view) {
  rocksdb::ReadOptions ro;
  ro.snapshot = view;
  return ro;
}

}  // namespace

std::string StateKey(absl::string_view key) { return absl::StrCat("s", key); }
std::string HistoryKey(absl::string_view key, GlobalPosition snapshot) {
  std::string out = absl::StrCat("h", key);
  out.push_back('\0');
  internal::PutBigEndian64(&out, snapshot);
  return out;
}
std::string SnapshotKey(GlobalPosition snapshot) {
  std::string out = kMetaSnapshotPrefix;
  internal::PutBigEndian64(&out, snapshot);
  return out;
}

std::shared_ptr<rocksdb::MergeOperator> NewCounterMergeOperator() {
  return std::make_shared<CounterMergeOperator>();
}

absl::StatusOr<GlobalPosition> ReadCheckpoint(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                              const rocksdb::Snapshot* view) {
  std::string value;
  rocksdb::Status s = db->Get(ReadAt(view), cf, kMetaCheckpoint, &value);
  if (s.IsNotFound()) return 0;
  STRATA_RETURN_IF_ERROR(FromRocksDb(s, "read projection checkpoint"));
  if (value.size() != 8) return absl::DataLossError("projection checkpoint is malformed");
  return internal::GetBigEndian64(value.data());
}

absl::StatusOr<GlobalPosition> FindSnapshot(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                            const rocksdb::Snapshot* view,
                                            GlobalPosition position) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ReadAt(view), cf));
  it->SeekForPrev(SnapshotKey(position));
  GlobalPosition found = 0;
  if (it->Valid()) {
    const rocksdb::Slice key = it->key();
    const size_t prefix = std::strlen(kMetaSnapshotPrefix);
    if (key.size() == prefix + 8 && key.starts_with(kMetaSnapshotPrefix)) {
      found = internal::GetBigEndian64(key.data() + prefix);
    }
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), "find projection snapshot"));
  return found;
}

absl::StatusOr<std::optional<std::string>> CurrentStateReader::Get(absl::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(ReadAt(view_), cf_, StateKey(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  STRATA_RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("read projection key '", key, "'")));
  return value;
}

absl::Status CurrentStateReader::ScanFrom(absl::string_view prefix, absl::string_view start,
                                          const StateVisitor& visit) const {
  const std::string bound = StateKey(prefix);
  // The first key after every key that starts with `bound` ('s' + ...: never
  // all 0xff bytes). RocksDB then stops at it instead of stepping on into the
  // next prefix and the versions of its keys.
  std::string end = bound;
  while (static_cast<uint8_t>(end.back()) == 0xff) end.pop_back();
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  const rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions options = ReadAt(view_);
  options.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_));
  for (it->Seek(StateKey(std::max(prefix, start))); it->Valid() && it->key().starts_with(bound);
       it->Next()) {
    absl::string_view key = ToView(it->key()).substr(1);
    if (!visit(key, ToView(it->value()))) break;
  }
  return FromRocksDb(it->status(), absl::StrCat("scan projection prefix '", prefix, "'"));
}

absl::StatusOr<std::optional<std::string>> HistoryStateReader::Get(absl::string_view key) const {
  if (at_ == 0) return std::nullopt;  // before the first event, every key is absent
  const std::string lower = HistoryKey(key, 0);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ReadAt(view_), cf_));
  it->SeekForPrev(HistoryKey(key, at_));
  std::optional<std::string> out;
  if (it->Valid() && it->key().compare(ToSlice(lower)) >= 0 &&
      it->key().size() == lower.size()) {
    const rocksdb::Slice v = it->value();
    if (v.size() < 1) return absl::DataLossError("projection history entry is malformed");
    if (v[0] == '\x01') out = std::string(v.data() + 1, v.size() - 1);
  }
  STRATA_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("read projection key '", key, "'")));
  return out;
}

absl::Status HistoryStateReader::ScanFrom(absl::string_view prefix, absl::string_view from,
                                          const StateVisitor& visit) const {
  if (at_ == 0) return absl::OkStatus();
  const std::string start = absl::StrCat("h", prefix);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ReadAt(view_), cf_));
  // Entries of one key are contiguous (keys hold no NUL) and ordered by
  // snapshot position: keep the last one at or below at_.
  std::string current_key;
  std::optional<std::string> current_value;
  bool have_key = false;
  auto flush = [&]() -> bool {
    if (have_key && current_value.has_value()) return visit(current_key, *current_value);
    return true;
  };
  for (it->Seek(absl::StrCat("h", std::max(prefix, from)));
       it->Valid() && it->key().starts_with(start); it->Next()) {
    const rocksdb::Slice raw = it->key();
    if (raw.size() < 10 || raw[raw.size() - 9] != '\0') {
      return absl::DataLossError("projection history key is malformed");
    }
    absl::string_view key(raw.data() + 1, raw.size() - 10);
    const GlobalPosition at = internal::GetBigEndian64(raw.data() + raw.size() - 8);
    if (!have_key || key != current_key) {
      if (!flush()) return absl::OkStatus();
      current_key = std::string(key);
      current_value.reset();
      have_key = true;
    }
    if (at <= at_) {
      const rocksdb::Slice v = it->value();
      if (v.size() < 1) return absl::DataLossError("projection history entry is malformed");
      if (v[0] == '\x01') {
        current_value = std::string(v.data() + 1, v.size() - 1);
      } else {
        current_value.reset();
      }
    }
  }
  STRATA_RETURN_IF_ERROR(
      FromRocksDb(it->status(), absl::StrCat("scan projection prefix '", prefix, "'")));
  flush();
  return absl::OkStatus();
}

bool OverlayWriter::CheckKey(absl::string_view key) {
  if (!status_.ok()) return false;
  if (key.find('\0') != absl::string_view::npos) {
    status_ = absl::InvalidArgumentError("projection keys must not contain NUL");
    return false;
  }
  return true;
}

absl::StatusOr<std::optional<std::string>> CachingStateReader::Get(absl::string_view key) const {
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, base_->Get(key));
  Remember(std::string(key), value);
  return value;
}

void CachingStateReader::Remember(const std::string& key, std::optional<std::string> value) const {
  auto [it, inserted] = cache_.try_emplace(key);
  if (!inserted) bytes_ -= Cost(it->first, it->second);
  Store(it, std::move(value));
}

void CachingStateReader::Store(Map::iterator it, std::optional<std::string> value) const {
  bytes_ += Cost(it->first, value);
  it->second = std::move(value);
  if (bytes_ <= bytes_max_) return;
  std::pair<std::string, std::optional<std::string>> kept = std::move(*it);
  cache_.clear();
  bytes_ = Cost(kept.first, kept.second);
  cache_.insert(std::move(kept));
}

absl::StatusOr<std::optional<std::string>> CachingStateReader::Update(const std::string& key,
                                                                      const Next& next) const {
  auto [it, inserted] = cache_.try_emplace(key);
  if (inserted) {
    absl::StatusOr<std::optional<std::string>> stored = base_->Get(key);
    if (!stored.ok()) {
      cache_.erase(it);
      return stored.status();
    }
    it->second = *std::move(stored);
  } else {
    bytes_ -= Cost(it->first, it->second);
  }
  absl::StatusOr<std::optional<std::string>> value = next(it->second);
  if (!value.ok()) {
    cache_.erase(it);
    return value.status();
  }
  Store(it, *value);
  return value;
}

absl::StatusOr<std::optional<std::string>> OverlayWriter::Get(absl::string_view key) const {
  auto it = ops_.find(key);
  if (it == ops_.end()) return base_->Get(key);
  if (it->second.kind != Op::Kind::kAdd) return After(key, it->second, std::nullopt);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> before, base_->Get(key));
  return After(key, it->second, before);
}

absl::StatusOr<std::optional<std::string>> OverlayWriter::After(
    absl::string_view key, const Op& op, const std::optional<std::string>& before) {
  switch (op.kind) {
    case Op::Kind::kPut:
      return op.value;
    case Op::Kind::kDelete:
      return std::nullopt;
    case Op::Kind::kAdd: {
      STRATA_ASSIGN_OR_RETURN(uint64_t base, CounterOf(key, before));
      return EncodeCounter(base + op.delta);
    }
  }
  return std::nullopt;
}

absl::Status OverlayWriter::ScanFrom(absl::string_view prefix, absl::string_view start,
                                     const StateVisitor& visit) const {
  // The overlay's keys under `prefix` from `start`, sorted, merged with the
  // base's keys in order; on equal keys the overlay wins.
  std::vector<absl::string_view> mine;
  for (const auto& [key, op] : ops_) {
    if (absl::string_view(key).substr(0, prefix.size()) == prefix && key >= start) {
      mine.push_back(key);
    }
  }
  std::sort(mine.begin(), mine.end());
  size_t next = 0;
  bool stopped = false;
  absl::Status error;
  // Emits overlay keys below `limit` (all when null); false when stopped.
  auto emit_until = [&](const absl::string_view* limit) -> bool {
    for (; next < mine.size() && (limit == nullptr || mine[next] < *limit); ++next) {
      absl::StatusOr<std::optional<std::string>> v = Get(mine[next]);
      if (!v.ok()) {
        error = v.status();
        return false;
      }
      if (v->has_value() && !visit(mine[next], **v)) return false;
    }
    return true;
  };
  STRATA_RETURN_IF_ERROR(base_->ScanFrom(prefix, start, [&](absl::string_view key,
                                                            absl::string_view value) {
    if (!emit_until(&key)) {
      stopped = true;
      return false;
    }
    if (next < mine.size() && mine[next] == key) return true;  // overlay wins; emitted next
    if (!visit(key, value)) {
      stopped = true;
      return false;
    }
    return true;
  }));
  STRATA_RETURN_IF_ERROR(error);
  if (!stopped) emit_until(nullptr);
  return error;
}

OverlayWriter::Op& OverlayWriter::Slot(absl::string_view key) {
  return ops_.try_emplace(key).first->second;  // one hash, a copy of the key only when new
}

void OverlayWriter::Put(absl::string_view key, absl::string_view value) {
  ++writes_;
  if (!CheckKey(key)) return;
  Op& op = Slot(key);
  op.kind = Op::Kind::kPut;
  op.value = std::string(value);
}

void OverlayWriter::Delete(absl::string_view key) {
  ++writes_;
  if (!CheckKey(key)) return;
  Op& op = Slot(key);
  op.kind = Op::Kind::kDelete;
  op.value.clear();
}

void OverlayWriter::Add(absl::string_view key, uint64_t delta) {
  ++writes_;
  if (!CheckKey(key)) return;
  auto [it, inserted] = ops_.try_emplace(key);
  Op& op = it->second;
  if (inserted) {
    op.kind = Op::Kind::kAdd;
    op.delta = delta;
    return;
  }
  switch (op.kind) {
    case Op::Kind::kAdd:
      op.delta += delta;
      break;
    case Op::Kind::kDelete:
      op.kind = Op::Kind::kPut;
      op.value = EncodeCounter(delta);
      break;
    case Op::Kind::kPut: {
      std::optional<uint64_t> v = DecodeCounter(op.value);
      if (!v.has_value()) {
        status_ = absl::InvalidArgumentError(
            absl::StrCat("Add on projection key '", key, "', which holds a non-counter value"));
        return;
      }
      op.value = EncodeCounter(*v + delta);
      break;
    }
  }
}

absl::Status OverlayWriter::ForEachChange(
    const std::function<absl::Status(const std::string&, const CachingStateReader::Next&)>& fn)
    const {
  for (const Entry* entry : Sorted()) {
    const std::string& key = entry->first;
    const Op& op = entry->second;
    STRATA_RETURN_IF_ERROR(
        fn(key, [&](const std::optional<std::string>& before) { return After(key, op, before); }));
  }
  return absl::OkStatus();
}

std::vector<const OverlayWriter::Entry*> OverlayWriter::Sorted() const {
  std::vector<const Entry*> sorted;
  sorted.reserve(ops_.size());
  for (const Entry& entry : ops_) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry* a, const Entry* b) { return a->first < b->first; });
  return sorted;
}

}  // namespace projections_internal
}  // namespace strata
