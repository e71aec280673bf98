// Stream metadata and deletion, recorded as events in the log.
//
// A stream S has a metastream "$$S". Its events are the history of S's
// metadata and deletion, so the log stays append-only and every reader (a
// projection replaying the log, a read as of a past position) sees the same:
//  - "$metadata": a JSON object, KurrentDB's format. The engine honours
//    "$tb" (truncate before: versions below it are hidden from stream reads),
//    "$maxCount" (only the last N versions are visible) and "$maxAge" (only
//    events recorded in the last N seconds are visible); other keys are kept
//    for the application. The last $metadata event is the one in force.
//    A soft delete (EventLog::DeleteStream, DeleteMode::kSoft) is a $metadata
//    event whose $tb is the stream's next version: reads answer NotFound
//    until a later append adds versions at or past it.
//  - "$streamDeleted": the tombstone (DeleteMode::kTombstone). Reads of S
//    answer FailedPrecondition and appends to S and to $$S are refused, for
//    good.
// Reads of the whole log are not filtered: truncated events stay in it.
//
// Thread-safety: pure functions.
#ifndef STRATA_ENGINE_STREAM_METADATA_H_
#define STRATA_ENGINE_STREAM_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"

namespace strata {

inline constexpr absl::string_view kMetastreamPrefix = "$$";
inline constexpr absl::string_view kMetadataEventType = "$metadata";
inline constexpr absl::string_view kStreamDeletedEventType = "$streamDeleted";

enum class DeleteMode {
  kSoft,       // reads answer NotFound; a later append continues the versions
  kTombstone,  // reads and appends fail for good
};

// "$$" + stream.
std::string MetastreamOf(absl::string_view stream);
// The stream that `metastream` describes, or nullopt when it is not a
// metastream (no "$$" prefix, or nothing after it).
std::optional<absl::string_view> StreamOfMetastream(absl::string_view metastream);

// What reads of a stream tombstoned at `position` answer (FailedPrecondition).
absl::Status TombstonedError(absl::string_view stream, GlobalPosition position);

// The part of a $metadata object the engine acts on.
struct StreamMetadata {
  std::optional<StreamVersion> truncate_before;  // "$tb"
  std::optional<uint64_t> max_count;             // "$maxCount", >= 1
  std::optional<uint64_t> max_age_seconds;       // "$maxAge", >= 1

  friend bool operator==(const StreamMetadata&, const StreamMetadata&) = default;
};

// Parses a $metadata event's data: a JSON object whose "$tb" is an integer
// >= 0 and whose "$maxCount" and "$maxAge" are integers >= 1, when present.
// InvalidArgument naming `field`, e.g. "events[0].data.$maxCount: must be an
// integer >= 1, not 2.5".
absl::StatusOr<StreamMetadata> ParseStreamMetadata(absl::string_view json, absl::string_view field);

// The metadata object `json` (valid per ParseStreamMetadata, or empty for
// none) with "$tb" set to `truncate_before` and every other key kept.
std::string WithTruncateBefore(absl::string_view json, StreamVersion truncate_before);

}  // namespace strata

#endif  // STRATA_ENGINE_STREAM_METADATA_H_
