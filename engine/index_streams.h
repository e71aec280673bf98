// Index streams: "$ce-<category>" and "$et-<type>", KurrentDB's category and
// event-type system streams, kept by the log itself.
//
// Every event of a stream whose name does not start with '$' is indexed twice:
// under its stream's category (the part of the name before its first '-',
// when there is one and it is not empty) and under its event type. The index
// entries are written in the same batch as the event, so an index stream is
// exactly as current as the log: a read of "$ce-order" as of position P sees
// every event of an "order-..." stream at or before P, in log order. Its
// versions are dense from 0, like any stream's; each names the original
// event, which reads return as it is (with RecordedEvent::index_version).
//
// Index streams are read-only: appends, deletions and metadata of "$..."
// streams are refused. Whole-log reads do not show them (they hold no events
// of their own).
//
// Thread-safety: pure functions.
#ifndef STRATA_ENGINE_INDEX_STREAMS_H_
#define STRATA_ENGINE_INDEX_STREAMS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "engine/event_log.h"

namespace strata {

inline constexpr absl::string_view kCategoryStreamPrefix = "$ce-";
inline constexpr absl::string_view kEventTypeStreamPrefix = "$et-";

enum class IndexKind : char { kCategory = 'c', kEventType = 't' };

struct IndexStream {
  IndexKind kind;
  absl::string_view name;  // the category or the event type

  // Whether an event of `stream` with `type` is in this index.
  bool Holds(absl::string_view stream, absl::string_view type) const;
  // The whole-log filter that selects a superset of this index's events
  // (Holds then decides).
  ReadFilter Narrowing() const;
};

// The index stream that `stream` names ("$ce-" or "$et-" and at least one
// byte more), or nullopt.
std::optional<IndexStream> ParseIndexStream(absl::string_view stream);

// The category under which events of `stream` are indexed, or nullopt (a name
// starting with '$', without '-', or starting with '-').
std::optional<absl::string_view> CategoryOf(absl::string_view stream);

// Whether events of `stream` are indexed at all (by type, and by category
// when it has one): every stream whose name does not start with '$'.
bool IsIndexedStream(absl::string_view stream);

// Calls `f(kind, name)` for each index an event of `stream` with `type` is
// in: none for a stream not indexed, else its type's and, when its stream has
// a category, that one's. (IndexStream::Holds is the same rule, asked of one
// index.)
template <typename F>
void ForEachIndexOf(absl::string_view stream, absl::string_view type, F f) {
  if (!IsIndexedStream(stream)) return;
  f(IndexKind::kEventType, type);
  if (const std::optional<absl::string_view> category = CategoryOf(stream)) {
    f(IndexKind::kCategory, *category);
  }
}

}  // namespace strata

#endif  // STRATA_ENGINE_INDEX_STREAMS_H_
