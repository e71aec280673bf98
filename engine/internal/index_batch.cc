// IndexBatch (index_batch.h): an event at the position right after its
// index's open run extends the run, any other closes it and opens a new one;
// Flush puts each run as one `indexes` key.
#include "engine/internal/index_batch.h"

#include "engine/base/macros.h"
#include "engine/index_streams.h"

namespace strata::internal {

IndexBatch::Index* IndexBatch::Find(IndexKind kind, absl::string_view name) {
  scratch_.assign(1, static_cast<char>(kind));
  scratch_.append(name.data(), name.size());
  auto it = indexes_.find(scratch_);
  return it == indexes_.end() ? nullptr : &it->second;
}

absl::Status IndexBatch::Prepare(absl::string_view stream, absl::string_view type, LoadNext load) {
  absl::Status status = absl::OkStatus();
  ForEachIndexOf(stream, type, [&](IndexKind kind, absl::string_view name) {
    if (!status.ok() || Find(kind, name) != nullptr) return;
    absl::StatusOr<StreamVersion> next = load(scratch_);
    if (next.ok()) {
      indexes_[scratch_].next = *next;
    } else {
      status = next.status();
    }
  });
  return status;
}

void IndexBatch::Add(absl::string_view stream, absl::string_view type, GlobalPosition position) {
  ForEachIndexOf(stream, type, [&](IndexKind kind, absl::string_view name) {
    Index* index = Find(kind, name);
    STRATA_CHECK(index != nullptr);  // Prepare'd
    AddTo(*index, scratch_, position);
  });
}

void IndexBatch::AddTo(Index& index, const std::string& name, GlobalPosition position) {
  IndexRun& run = index.run;
  if (run.count > 0 && run.first_position + run.count == position) {
    ++run.count;
  } else {
    if (run.count > 0) closed_.push_back({name, {index.run_version, run}});
    index.run_version = index.next;
    run = IndexRun{position, 1};
  }
  ++index.next;
}

size_t IndexBatch::Flush(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf) {
  size_t keys = 0;
  auto put = [&](const std::string& name, StreamVersion version, const IndexRun& run) {
    batch.Put(cf, StreamKey(name, version), EncodeIndexRun(run));
    ++keys;
  };
  for (const auto& [name, closed] : closed_) put(name, closed.first, closed.second);
  closed_.clear();
  for (auto& [name, index] : indexes_) {
    if (index.run.count == 0) continue;
    put(name, index.run_version, index.run);
    index.run = IndexRun{};
  }
  return keys;
}

}  // namespace strata::internal
