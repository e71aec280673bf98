// Events as the strata CLI prints and exchanges them: the NDJSON line of
// export, import and every --json event listing, and the human table.
//
// NDJSON line, fields in this order:
//   {"position":7,"stream":"orders-1","version":0,"event_id":"<uuid>",
//    "type":"OrderPlaced","content_type":"application/json",
//    "recorded_at":"2024-03-10T12:00:00.000000Z","metadata":null,"data":{"sku":"A1"}}
// data and metadata: when content_type is exactly "application/json", the
// bytes themselves as JSON when they are single-line JSON without surrounding
// whitespace, and null when empty; every other content type gives a base64
// string (RFC 4648, padded). JSON-typed bytes that cannot be embedded that way
// are written as "data_base64" / "metadata_base64" (a base64 string) instead.
// recorded_at is UTC with exactly six fraction digits. Import inverts this
// byte for byte. Thread-safe (pure functions) except EventPrinter.
#ifndef STRATA_TOOLS_COMMANDS_EVENTS_H_
#define STRATA_TOOLS_COMMANDS_EVENTS_H_

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "schemas/strata.pb.h"

namespace strata::cli {

inline constexpr char kJsonContentType[] = "application/json";

// The help text describing the line format (for --help of export and import).
extern const char kNdjsonFormatHelp[];

// One event as an NDJSON line, without the newline.
std::string EventToJsonLine(const RecordedEvent& event);

// A line of an import file.
struct ImportedEvent {
  GlobalPosition position = 0;
  std::string stream;
  StreamVersion stream_version = 0;
  NewEvent event;  // with event_id and recorded_at_us set
};

// Parses one NDJSON line. InvalidArgument naming the field ("data: not valid
// base64"), or where the JSON is malformed.
absl::StatusOr<ImportedEvent> ParseEventLine(absl::string_view line);

// Prints events to stdout: NDJSON lines with `json`; otherwise a table whose
// column widths come from the first rows (buffered), or, with `live`, fixed
// widths with every row printed and flushed at once.
class EventPrinter {
 public:
  EventPrinter(bool json, bool live);
  void Add(const RecordedEvent& event);
  // Prints what is buffered; "(no events)" for an empty human listing.
  void Finish();
  uint64_t count() const { return count_; }

 private:
  void PrintRow(const std::vector<std::string>& row);
  void FlushBuffered();
  bool json_;
  bool live_;
  bool header_done_ = false;
  std::vector<size_t> widths_;
  std::vector<std::vector<std::string>> buffered_;
  uint64_t count_ = 0;
};

// Converts each event of a streamed answer's batch and hands it to `f`
// until `f` returns false; the first event that does not convert is the error.
absl::Status ForEachEvent(
    const google::protobuf::RepeatedPtrField<strata::v1::RecordedEvent>& events,
    const std::function<bool(const RecordedEvent&)>& f);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_EVENTS_H_
