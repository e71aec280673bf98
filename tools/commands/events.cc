// Events in the strata CLI (events.h): the NDJSON line written by export and
// --json listings and parsed back by import, EventPrinter's table, and
// ForEachEvent over a streamed answer.
#include "tools/commands/events.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "engine/base/macros.h"
#include "links/links.h"
#include "tools/commands/json.h"
#include "tools/commands/output.h"

namespace strata::cli {

const char kNdjsonFormatHelp[] =
    "Each line is one event, fields in this order:\n"
    "  {\"position\":7,\"stream\":\"orders-1\",\"version\":0,\"event_id\":\"<uuid>\",\n"
    "   \"type\":\"OrderPlaced\",\"content_type\":\"application/json\",\n"
    "   \"recorded_at\":\"2024-03-10T12:00:00.000000Z\",\"metadata\":null,"
    "\"data\":{\"sku\":\"A1\"}}\n"
    "data and metadata: with content_type exactly application/json, the bytes themselves as\n"
    "JSON (null when empty) when they are single-line JSON with no whitespace around it;\n"
    "otherwise \"data_base64\"/\"metadata_base64\" hold them in base64. Any other content\n"
    "type gives data and metadata as base64 strings (RFC 4648, padded). recorded_at is UTC\n"
    "with six fraction digits. Import reads back exactly these bytes.";

namespace {

// Writes `bytes` under `key` per the rules above.
void WritePayload(JsonWriter& w, absl::string_view key, absl::string_view bytes, bool json_type) {
  if (json_type) {
    if (bytes.empty()) {
      w.Key(key).Null();
      return;
    }
    if (IsEmbeddableJson(bytes)) {
      w.Key(key).Raw(bytes);
      return;
    }
    w.Key(absl::StrCat(key, "_base64")).String(Base64Encode(bytes));
    return;
  }
  w.Key(key).String(Base64Encode(bytes));
}

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::StatusOr<std::string> StringField(const JsonObject& line, const char* field) {
  const JsonMember* v = line.Find(field);
  if (v == nullptr) return FieldError(field, "missing");
  if (v->type != JsonMember::Type::kString) return FieldError(field, "must be a string");
  return v->string_value;
}

absl::StatusOr<uint64_t> UintField(const JsonObject& line, const char* field) {
  const JsonMember* v = line.Find(field);
  if (v == nullptr) return FieldError(field, "missing");
  uint64_t out = 0;
  const bool digits_only = !v->raw.empty() && std::all_of(v->raw.begin(), v->raw.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (v->type != JsonMember::Type::kNumber || !digits_only || !absl::SimpleAtoi(v->raw, &out)) {
    return FieldError(field, "must be a non-negative integer");
  }
  return out;
}

// Reads data or metadata: `key` or `key`_base64, exactly one of them.
absl::StatusOr<std::string> PayloadField(const JsonObject& line, const std::string& key,
                                         bool json_type) {
  const JsonMember* plain = line.Find(key);
  const std::string b64_key = key + "_base64";
  const JsonMember* b64 = line.Find(b64_key);
  if (plain != nullptr && b64 != nullptr) {
    return FieldError(key, absl::StrCat("given twice (also as ", b64_key, ")"));
  }
  if (b64 != nullptr) {
    if (b64->type != JsonMember::Type::kString) return FieldError(b64_key, "must be a string");
    std::optional<std::string> bytes = Base64Decode(b64->string_value);
    if (!bytes.has_value()) return FieldError(b64_key, "not valid base64");
    return *bytes;
  }
  if (plain == nullptr) return FieldError(key, "missing");
  if (json_type) {
    if (plain->type == JsonMember::Type::kNull) return std::string();
    return std::string(plain->raw);
  }
  if (plain->type != JsonMember::Type::kString) {
    return FieldError(key, "must be a base64 string for a content type other than JSON");
  }
  std::optional<std::string> bytes = Base64Decode(plain->string_value);
  if (!bytes.has_value()) return FieldError(key, "not valid base64");
  return *bytes;
}

// A one-line rendering of a payload for tables.
std::string Preview(const RecordedEvent& e) {
  if (e.content_type == links::kContentType) {
    absl::StatusOr<std::string> json = links::EventJson(EventView::Of(e));
    if (json.ok()) return Truncate(*json, 120);
  }
  if (e.content_type == kJsonContentType || e.content_type.rfind("text/", 0) == 0) {
    std::string one_line = e.data;
    std::replace(one_line.begin(), one_line.end(), '\n', ' ');
    std::replace(one_line.begin(), one_line.end(), '\r', ' ');
    return Truncate(one_line, 80);
  }
  return absl::StrCat("<", e.data.size(), " bytes",
                      e.content_type.empty() ? "" : absl::StrCat(" ", e.content_type), ">");
}

}  // namespace

std::string EventToJsonLine(const RecordedEvent& e) {
  const bool json_type = e.content_type == kJsonContentType;
  JsonWriter w;
  w.BeginObject();
  w.Key("position").Uint(e.position);
  w.Key("stream").String(e.stream);
  w.Key("version").Uint(e.stream_version);
  if (e.index_version.has_value()) w.Key("index_version").Uint(*e.index_version);
  w.Key("event_id").String(e.event_id.ToString());
  w.Key("type").String(e.type);
  w.Key("content_type").String(e.content_type);
  w.Key("recorded_at").String(FormatTimeExact(e.recorded_at_us));
  WritePayload(w, "metadata", e.metadata, json_type);
  WritePayload(w, "data", e.data, json_type);
  w.EndObject();
  return w.str();
}

absl::StatusOr<ImportedEvent> ParseEventLine(absl::string_view text) {
  STRATA_ASSIGN_OR_RETURN(JsonObject line, ParseJsonObject(text));
  static const std::set<std::string> kKnown = {
      "position",     "stream",       "version",  "event_id",        "type",
      "content_type", "recorded_at",  "metadata", "metadata_base64", "data",
      "data_base64",  "index_version"};  // a read of an index stream: ignored
  std::set<std::string> seen;
  for (const JsonMember& m : line.members) {
    if (kKnown.count(m.key) == 0) return FieldError(m.key, "unknown field");
    if (!seen.insert(m.key).second) return FieldError(m.key, "given twice");
  }
  ImportedEvent out;
  STRATA_ASSIGN_OR_RETURN(out.position, UintField(line, "position"));
  if (out.position == 0) return FieldError("position", "must be at least 1");
  STRATA_ASSIGN_OR_RETURN(out.stream, StringField(line, "stream"));
  STRATA_ASSIGN_OR_RETURN(out.stream_version, UintField(line, "version"));
  STRATA_ASSIGN_OR_RETURN(std::string id, StringField(line, "event_id"));
  std::optional<EventId> event_id = EventId::Parse(id);
  if (!event_id.has_value() || event_id->IsNil()) {
    return FieldError("event_id", absl::StrCat("'", id, "' is not a UUID"));
  }
  out.event.event_id = *event_id;
  STRATA_ASSIGN_OR_RETURN(out.event.type, StringField(line, "type"));
  STRATA_ASSIGN_OR_RETURN(out.event.content_type, StringField(line, "content_type"));
  STRATA_ASSIGN_OR_RETURN(std::string recorded_at, StringField(line, "recorded_at"));
  std::optional<int64_t> at = ParseTimeExact(recorded_at);
  if (!at.has_value()) {
    return FieldError(
        "recorded_at",
        absl::StrCat("'", recorded_at, "' is not a time like 2024-03-10T12:00:00.000000Z"));
  }
  out.event.recorded_at_us = *at;
  const bool json_type = out.event.content_type == kJsonContentType;
  STRATA_ASSIGN_OR_RETURN(out.event.metadata, PayloadField(line, "metadata", json_type));
  STRATA_ASSIGN_OR_RETURN(out.event.data, PayloadField(line, "data", json_type));
  return out;
}

// ---- EventPrinter ----

namespace {
constexpr size_t kBufferedRows = 200;
const std::vector<std::string> kHeader = {"POSITION", "STREAM",      "VERSION",
                                          "TYPE",     "RECORDED_AT", "DATA"};
const std::vector<size_t> kLiveWidths = {8, 24, 7, 20, 19, 0};
}  // namespace

EventPrinter::EventPrinter(bool json, bool live) : json_(json), live_(live) {
  if (live_) widths_ = kLiveWidths;
}

void EventPrinter::Add(const RecordedEvent& e) {
  ++count_;
  if (json_) {
    WriteAll(stdout, EventToJsonLine(e) + "\n");
    if (live_) std::fflush(stdout);
    return;
  }
  std::vector<std::string> row = {absl::StrCat(e.position),          e.stream,
                                  absl::StrCat(e.stream_version),    e.type,
                                  FormatTimeHuman(e.recorded_at_us), Preview(e)};
  if (live_ || header_done_) {
    PrintRow(row);
    if (live_) std::fflush(stdout);
    return;
  }
  buffered_.push_back(std::move(row));
  if (buffered_.size() >= kBufferedRows) FlushBuffered();
}

void EventPrinter::FlushBuffered() {
  if (!live_ && widths_.empty()) {
    widths_.assign(kHeader.size(), 0);
    for (size_t c = 0; c < kHeader.size(); ++c) widths_[c] = DisplayWidth(kHeader[c]);
    for (const auto& row : buffered_) {
      for (size_t c = 0; c < row.size(); ++c) {
        widths_[c] = std::max(widths_[c], DisplayWidth(row[c]));
      }
    }
  }
  for (const auto& row : buffered_) PrintRow(row);
  buffered_.clear();
}

void EventPrinter::PrintRow(const std::vector<std::string>& row) {
  if (!header_done_) {
    header_done_ = true;
    PrintRow(kHeader);
  }
  std::string line;
  for (size_t c = 0; c < row.size(); ++c) {
    const bool last = c + 1 == row.size();
    const bool right = c == 0 || c == 2;
    const size_t width = c < widths_.size() ? widths_[c] : 0;
    const size_t have = DisplayWidth(row[c]);
    const size_t pad = width > have ? width - have : 0;
    if (right) line.append(pad, ' ');
    line += row[c];
    if (!right && !last) line.append(pad, ' ');
    if (!last) line += "  ";
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  WriteAll(stdout, line + "\n");
}

void EventPrinter::Finish() {
  if (json_) return;
  if (count_ == 0) {
    WriteAll(stdout, "(no events)\n");
    return;
  }
  FlushBuffered();
}

absl::Status ForEachEvent(
    const google::protobuf::RepeatedPtrField<strata::v1::RecordedEvent>& events,
    const std::function<bool(const RecordedEvent&)>& f) {
  for (const strata::v1::RecordedEvent& event : events) {
    absl::StatusOr<RecordedEvent> e = api::FromProto(event);
    if (!e.ok()) return e.status();
    if (!f(*e)) break;
  }
  return absl::OkStatus();
}

}  // namespace strata::cli
