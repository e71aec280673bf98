// IndexBatch: the `indexes` entries of one write batch (engine/FORMAT.md), as
// runs: per index stream, the events at consecutive positions share one key,
// so an append group of N events to one category adds one key to that
// category's index, not N. Private to the engine.
//
// Thread-safety: one thread at a time.
#ifndef STRATA_ENGINE_INTERNAL_INDEX_BATCH_H_
#define STRATA_ENGINE_INTERNAL_INDEX_BATCH_H_

#ifndef STRATA_ENGINE_INTERNALS
#error \
    "engine/internal/ is private to strata::engine (white-box tests link strata::engine_internals): include the engine's public headers"
#endif

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "engine/index_streams.h"
#include "engine/internal/codec.h"
#include "rocksdb/write_batch.h"

namespace strata::internal {

class IndexBatch {
 public:
  // The next version of the index with this key name, as stored.
  using LoadNext = absl::FunctionRef<absl::StatusOr<StreamVersion>(const std::string& key_name)>;

  // Makes sure the next versions of the indexes an event of `stream` with
  // `type` belongs to are known (loaded on first use), so that Add, which
  // cannot fail, may follow.
  absl::Status Prepare(absl::string_view stream, absl::string_view type, LoadNext load);
  // Adds the event at `position` to its indexes (positions rise from call to
  // call). Prepare must have been called for the same stream and type.
  void Add(absl::string_view stream, absl::string_view type, GlobalPosition position);
  // Puts every run added since the last Flush into `batch`; returns how many.
  // The next versions stay known.
  size_t Flush(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf);
  // Forgets the next versions (after a Flush, to bound memory).
  void Clear() { indexes_.clear(); }
  size_t size() const { return indexes_.size(); }

  // Calls `f(key_name, next_version)` for each index known.
  template <typename F>
  void ForEachNext(F f) const {
    for (const auto& [name, index] : indexes_) f(name, index.next);
  }

 private:
  struct Index {
    StreamVersion next = 0;
    StreamVersion run_version = 0;  // the open run's first version
    IndexRun run;                   // count 0: none open
  };
  // The index of kind and name; null when not prepared.
  Index* Find(IndexKind kind, absl::string_view name);
  void AddTo(Index& index, const std::string& name, GlobalPosition position);

  absl::flat_hash_map<std::string, Index> indexes_;
  // Runs closed since the last Flush: key name, first version, run.
  std::vector<std::pair<std::string, std::pair<StreamVersion, IndexRun>>> closed_;
  std::string scratch_;  // a key name, built without allocating each time
};

}  // namespace strata::internal

#endif  // STRATA_ENGINE_INTERNAL_INDEX_BATCH_H_
