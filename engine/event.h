// Event types of the Strata log: what a caller appends (NewEvent), what a read
// returns (RecordedEvent), and the zero-copy view handed to scan visitors
// (EventView). Plain values; safe to share between threads when not mutated.
#ifndef STRATA_ENGINE_EVENT_H_
#define STRATA_ENGINE_EVENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace strata {

// Position of an event in the whole log. Dense from 1; 0 means "before the
// first event" (an empty checkpoint).
using GlobalPosition = uint64_t;
// Version of an event within its stream. Dense from 0.
using StreamVersion = uint64_t;

// A 16-byte event id, a UUID.
struct EventId {
  std::array<uint8_t, 16> bytes{};

  // A random (version 4) UUID.
  static EventId Random();
  // A time-ordered (version 7, RFC 9562) UUID: `unix_ms` in the first 48
  // bits, then the 12-bit `counter` (ids of one millisecond in order), then
  // 62 random bits. Byte order is time order, so ids made one after the
  // other land next to each other in a sorted index.
  static EventId TimeOrdered(int64_t unix_ms, uint16_t counter);
  // Parses the canonical 36-character form (8-4-4-4-12 hex digits, either
  // case). Returns nullopt for anything else.
  static std::optional<EventId> Parse(absl::string_view text);
  // From exactly 16 raw bytes; nullopt when the size is wrong.
  static std::optional<EventId> FromBytes(absl::string_view raw);

  // Canonical lower-case 36-character form.
  std::string ToString() const;
  absl::string_view AsBytes() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  bool IsNil() const;

  friend bool operator==(const EventId&, const EventId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const EventId& id) {
    return H::combine(std::move(h), id.AsBytes());
  }
};

// Hands out the ids of events appended without one: version 7 UUIDs that
// never go down, even when the clock does (a millisecond's 4,096 ids spent,
// or a clock set back, go on from the last millisecond used). Not
// thread-safe: one per writer.
class EventIdSequence {
 public:
  EventId Next(int64_t now_us);

 private:
  int64_t ms_ = -1;
  uint16_t counter_ = 0;
};

// An event as given to Append.
struct NewEvent {
  std::optional<EventId> event_id;  // generated when absent
  std::string type;                 // required, <= Limits::type_bytes_max
  std::string content_type;         // e.g. "application/json"; may be empty
  std::string data;
  std::string metadata;
  // Commit time to record instead of the log's clock; for imports that must
  // keep the original times. Default: the clock at commit.
  std::optional<int64_t> recorded_at_us;
};

// A stored event, owning its bytes.
struct RecordedEvent {
  GlobalPosition position = 0;
  std::string stream;
  StreamVersion stream_version = 0;
  EventId event_id;
  std::string type;
  std::string content_type;
  std::string data;
  std::string metadata;
  int64_t recorded_at_us = 0;  // commit time, microseconds since the Unix epoch
  // Read through an index stream ("$ce-<category>", "$et-<type>";
  // engine/index_streams.h): the event's version there. The rest is the
  // original event's.
  std::optional<StreamVersion> index_version;

  // The bytes a read's size bounds count (LogCursor::Next, streamed messages).
  size_t payload_bytes() const { return data.size() + metadata.size(); }

  friend bool operator==(const RecordedEvent&, const RecordedEvent&) = default;
};

// A stored event viewed in place. The views are valid only during the visitor
// call that receives it.
struct EventView {
  GlobalPosition position = 0;
  absl::string_view stream;
  StreamVersion stream_version = 0;
  EventId event_id;
  absl::string_view type;
  absl::string_view content_type;
  absl::string_view data;
  absl::string_view metadata;
  int64_t recorded_at_us = 0;

  RecordedEvent ToRecorded() const;
  // A view of `e`, valid while `e` lives unchanged.
  static EventView Of(const RecordedEvent& e);
};

}  // namespace strata

#endif  // STRATA_ENGINE_EVENT_H_
