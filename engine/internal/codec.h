// Encoding of the log's keys and stored records (engine/FORMAT.md).
// Keys are big-endian so that byte order is numeric order. Records are
// FlatBuffers EventRecord tables followed by a CRC32C trailer. Thread-safe
// (pure functions).
#ifndef STRATA_ENGINE_INTERNAL_CODEC_H_
#define STRATA_ENGINE_INTERNAL_CODEC_H_

#ifndef STRATA_ENGINE_INTERNALS
#error \
    "engine/internal/ is private to strata::engine (white-box tests link strata::engine_internals): include the engine's public headers"
#endif

#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/base/coding.h"
#include "engine/event.h"

namespace strata::internal {

// The log's column families (engine/FORMAT.md).
inline constexpr char kCfEvents[] = "events";
inline constexpr char kCfStreams[] = "streams";
inline constexpr char kCfEventIds[] = "event_ids";
inline constexpr char kCfIndexes[] = "indexes";

// `indexes` keys: StreamKey(IndexKeyName(kind, name), version) for the
// runs of an index stream (engine/index_streams.h); one byte, the kind, then
// the category or type. The value is an IndexRun: the events of that index
// from the key's version on, `count` of them, are at consecutive positions
// from `first_position`.
std::string IndexKeyName(char kind, absl::string_view name);
struct IndexRun {
  GlobalPosition first_position = 0;
  uint64_t count = 0;
};
// 16 bytes: the first position and the count, big-endian.
std::string EncodeIndexRun(const IndexRun& run);
// False when malformed (not 16 bytes, a zero position or count).
bool DecodeIndexRun(absl::string_view value, IndexRun* run);
// The `indexes` key names of an event of `stream` with `type`: none, or its
// type's and, when its stream has a category, that one's.
absl::InlinedVector<std::string, 2> IndexKeyNamesOf(absl::string_view stream,
                                                    absl::string_view type);
// The index stream ("$ce-order") of an `indexes` key name.
std::string IndexStreamOfKeyName(absl::string_view key_name);
// `indexes` key of the index's state: absent, 8 bytes (big-endian, the
// position up to which old events are indexed, while an older log is being
// indexed at open) or kIndexesComplete; anything else is an unknown format.
inline constexpr absl::string_view kIndexesStateKey = "\x01state";
inline constexpr absl::string_view kIndexesComplete = "complete: runs";

// `events` key: the position, 8 bytes big-endian.
std::string PositionKey(GlobalPosition position);
// `streams` key: stream name, 0x00, version big-endian. Stream names hold no
// NUL, so one stream's keys never interleave with another's.
std::string StreamKey(absl::string_view stream, StreamVersion version);
// The first key after every key of `stream`.
std::string StreamKeyEnd(absl::string_view stream);
// Splits a `streams` key; false when malformed.
bool ParseStreamKey(absl::string_view key, absl::string_view* stream, StreamVersion* version);

uint32_t Crc32c(absl::string_view data);

// Serializes an event into its stored value.
std::string EncodeRecord(const EventView& event);

// Decodes a stored value into a view. `scratch` receives an aligned copy of
// the record when needed; the view points into `scratch` or `value` and is
// valid while both are unchanged. DataLoss when the checksum, the FlatBuffers
// structure or the position does not match.
absl::Status DecodeRecord(absl::string_view value, GlobalPosition expected_position,
                          std::string* scratch, EventView* out);

}  // namespace strata::internal

#endif  // STRATA_ENGINE_INTERNAL_CODEC_H_
