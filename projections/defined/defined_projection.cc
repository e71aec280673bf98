#include "projections/defined/defined_projection.h"

#include <limits>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/base/macros.h"
#include "projections/defined/json.h"
#include "projections/defined/rows.h"

namespace strata::defined {
namespace {

constexpr absl::string_view kJsonContentType = "application/json";

absl::Status Bad(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// The writes of one event, kept until every rule has succeeded. Reads see the
// writer's state with the staged writes on top, in order.
class Staging {
 public:
  explicit Staging(ProjectionWriter* writer) : writer_(writer) {}

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) const {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, writer_->Get(key));
    for (const Op& op : ops_) {
      if (op.kind == Op::kDeleteRow) {
        if (absl::StartsWith(key, op.key)) value.reset();
      } else if (op.key == key) {
        value = op.value;  // Put (Add is only staged for counters, never read back)
      }
    }
    return value;
  }
  void Put(std::string key, std::string value) {
    ops_.push_back(Op{Op::kPut, std::move(key), std::move(value)});
  }
  void Add(std::string key) { ops_.push_back(Op{Op::kAdd, std::move(key), {}}); }
  void DeleteRow(std::string field_prefix) {
    ops_.push_back(Op{Op::kDeleteRow, std::move(field_prefix), {}});
  }

  absl::Status Flush() {
    for (const Op& op : ops_) {
      switch (op.kind) {
        case Op::kPut:
          writer_->Put(op.key, op.value);
          break;
        case Op::kAdd:
          writer_->Add(op.key, 1);
          break;
        case Op::kDeleteRow: {
          std::vector<std::string> keys;
          STRATA_RETURN_IF_ERROR(writer_->Scan(op.key, [&](absl::string_view k, absl::string_view) {
            keys.emplace_back(k);
            return true;
          }));
          for (const std::string& k : keys) writer_->Delete(k);
          break;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  struct Op {
    enum Kind { kPut, kAdd, kDeleteRow } kind;
    std::string key;  // kDeleteRow: the row's prefix
    std::string value;
  };
  ProjectionWriter* writer_;
  std::vector<Op> ops_;
};

// One event's lazily parsed documents.
class EventDocs {
 public:
  EventDocs(const EventView& event, const JsonViews* views) : event_(event), views_(views) {}

  // The value at `pointer`; Bad (naming `path`) when missing or unreadable.
  absl::StatusOr<Value> Find(const std::string& path, bool metadata, const std::string& pointer) {
    thread_local JsonReader data_reader;
    thread_local JsonReader metadata_reader;
    JsonReader& reader = metadata ? metadata_reader : data_reader;
    bool& ready = metadata ? metadata_ready_ : data_ready_;
    const char* doc = metadata ? "metadata" : "data";
    if (!ready) {
      absl::string_view text = metadata ? event_.metadata : event_.data;
      if (!metadata && !absl::StartsWith(event_.content_type, kJsonContentType)) {
        thread_local std::string viewed;
        auto view = views_ == nullptr ? JsonViews::const_iterator()
                                      : views_->find(event_.content_type);
        if (views_ == nullptr || view == views_->end()) {
          return Bad(path, absl::StrCat("data has content type '",
                                        absl::CHexEscape(event_.content_type.substr(0, 64)),
                                        "', not application/json"));
        }
        absl::StatusOr<std::string> json = view->second(event_);
        if (!json.ok()) {
          if (json.status().code() != absl::StatusCode::kInvalidArgument) return json.status();
          return Bad(path, absl::StrCat("data: ", json.status().message()));
        }
        viewed = *std::move(json);
        text = viewed;
      }
      if (text.empty()) return Bad(path, absl::StrCat(doc, " is empty, not JSON"));
      reader.Reset(text);
      ready = true;
    }
    absl::StatusOr<std::optional<Value>> v = reader.Find(pointer);
    if (!v.ok()) return Bad(path, absl::StrCat(doc, ": ", v.status().message()));
    if (!v->has_value()) {
      return Bad(path, absl::StrCat(doc, " has nothing at ", pointer.empty() ? "\"\"" : pointer));
    }
    return **std::move(v);
  }

 private:
  const EventView& event_;
  const JsonViews* views_;
  bool data_ready_ = false;
  bool metadata_ready_ = false;
};

Value Attribute(EventAttribute attribute, const EventView& e) {
  const size_t dash = e.stream.find('-');
  switch (attribute) {
    case EventAttribute::kStream:
      return Value::String(std::string(e.stream));
    case EventAttribute::kCategory:
      return Value::String(std::string(e.stream.substr(0, dash)));
    case EventAttribute::kStreamId:
      return Value::String(dash == absl::string_view::npos ? ""
                                                           : std::string(e.stream.substr(dash + 1)));
    case EventAttribute::kEventType:
      return Value::String(std::string(e.type));
    case EventAttribute::kPosition:
      return Value::Int(static_cast<int64_t>(e.position));
    case EventAttribute::kStreamVersion:
      return Value::Int(static_cast<int64_t>(e.stream_version));
    case EventAttribute::kRecordedAt:
      return Value::Int(e.recorded_at_us);
  }
  return Value();
}

absl::StatusOr<Value> Resolve(const Source& source, const EventView& e, EventDocs& docs) {
  switch (source.kind) {
    case Source::Kind::kConstant:
      return source.constant;
    case Source::Kind::kAttribute:
      return Attribute(source.attribute, e);
    case Source::Kind::kData:
    case Source::Kind::kMetadata:
      return docs.Find(source.path, source.kind == Source::Kind::kMetadata, source.pointer);
    case Source::Kind::kTime:
      break;
  }
  return absl::InternalError(absl::StrCat(source.path, ": not a value source"));
}

std::string FormatTime(int64_t micros, TimeUnit unit) {
  const absl::Time t = absl::FromUnixMicros(micros);
  const absl::TimeZone utc = absl::UTCTimeZone();
  switch (unit) {
    case TimeUnit::kMinute:
      return absl::FormatCivilTime(absl::ToCivilMinute(t, utc));
    case TimeUnit::kHour:
      return absl::FormatCivilTime(absl::ToCivilHour(t, utc));
    case TimeUnit::kDay:
      return absl::FormatCivilTime(absl::ToCivilDay(t, utc));
    case TimeUnit::kMonth:
      return absl::FormatCivilTime(absl::ToCivilMonth(t, utc));
    case TimeUnit::kYear:
      return absl::FormatCivilTime(absl::ToCivilYear(t, utc));
  }
  return "";
}

absl::StatusOr<std::string> KeyPartText(const Source& part, const EventView& e, EventDocs& docs) {
  if (part.kind == Source::Kind::kTime) {
    int64_t micros = e.recorded_at_us;
    if (part.time_field) {
      STRATA_ASSIGN_OR_RETURN(Value v, docs.Find(part.path, part.time_in_metadata, part.pointer));
      if (v.type == Value::Type::kInt) {
        micros = v.i;
      } else if (v.type == Value::Type::kString) {
        absl::Time t;
        std::string error;
        if (!absl::ParseTime(absl::RFC3339_full, v.text, &t, &error)) {
          return Bad(part.path, absl::StrCat(part.pointer, " is not an RFC 3339 time (",
                                             error, ")"));
        }
        micros = absl::ToUnixMicros(t);
      } else {
        return Bad(part.path, absl::StrCat(part.pointer, " is ", v.Kind(),
                                           ", not an RFC 3339 time or epoch microseconds"));
      }
    }
    return FormatTime(micros, part.unit);
  }
  STRATA_ASSIGN_OR_RETURN(Value v, Resolve(part, e, docs));
  switch (v.type) {
    case Value::Type::kString:
      return std::move(v.text);
    case Value::Type::kInt:
      return absl::StrCat(v.i);
    case Value::Type::kDouble:
      return FormatDouble(v.d);
    case Value::Type::kBool:
      return std::string(v.b ? "true" : "false");
    case Value::Type::kJson:
      break;
  }
  return Bad(part.path, absl::StrCat(part.pointer, " is ", v.Kind(),
                                     ", not a string, number or boolean"));
}

absl::StatusOr<Value> Sum(const Value& a, const Value& b) {
  int64_t out = 0;
  if (a.type == Value::Type::kInt && b.type == Value::Type::kInt &&
      !__builtin_add_overflow(a.i, b.i, &out)) {
    return Value::Int(out);
  }
  return Value::Double(a.AsDouble() + b.AsDouble());
}

bool Less(const Value& a, const Value& b) {
  if (a.type == Value::Type::kInt && b.type == Value::Type::kInt) return a.i < b.i;
  return a.AsDouble() < b.AsDouble();
}

absl::StatusOr<std::optional<Value>> Stored(const Staging& staging, const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored, staging.Get(key));
  if (!stored.has_value()) return std::nullopt;
  STRATA_ASSIGN_OR_RETURN(Value v, DecodeValue(*stored));
  return v;
}

absl::Status CheckSize(absl::string_view path, absl::string_view what, size_t size, size_t max) {
  if (size <= max) return absl::OkStatus();
  return Bad(path, absl::StrCat(what, " is ", size, " bytes, more than the limit of ", max));
}

// The values an operation writes, resolved once for all of the rule's keys.
struct Resolved {
  Value value;
  std::vector<std::pair<const std::string*, std::string>> set;  // name, stored value
};

absl::Status ApplyOperation(const Operation& op, const Resolved& r, const std::string& row,
                            Staging& staging) {
  if (op.kind == OperationKind::kCount) {
    staging.Add(FieldKey(row, kCounterField, op.field));
    return absl::OkStatus();
  }
  if (op.kind == OperationKind::kDelete) {
    staging.DeleteRow(absl::StrCat(row, absl::string_view(&kFieldMarker, 1)));
    return absl::OkStatus();
  }
  std::string key = FieldKey(row, kValueField, op.field);
  if (op.kind == OperationKind::kSet) {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored, staging.Get(key));
    Document doc;
    if (stored.has_value()) {
      STRATA_ASSIGN_OR_RETURN(doc, DecodeDocument(*stored));
    }
    for (const auto& [name, value] : r.set) doc[*name] = value;
    std::string encoded = EncodeDocument(doc);
    STRATA_RETURN_IF_ERROR(CheckSize(op.path, absl::StrCat("the document in field '", op.field,
                                                           "'"),
                                     encoded.size(), kDocumentBytesMax));
    staging.Put(std::move(key), std::move(encoded));
    return absl::OkStatus();
  }
  if (op.kind == OperationKind::kLast) {
    staging.Put(std::move(key), EncodeValue(r.value));
    return absl::OkStatus();
  }
  STRATA_ASSIGN_OR_RETURN(std::optional<Value> current, Stored(staging, key));
  std::optional<Value> next;
  switch (op.kind) {
    case OperationKind::kFirst:
      if (!current.has_value()) next = r.value;
      break;
    case OperationKind::kSum: {
      if (!current.has_value()) {
        next = r.value;
        break;
      }
      STRATA_ASSIGN_OR_RETURN(next, Sum(*current, r.value));
      break;
    }
    case OperationKind::kMin:
      if (!current.has_value() || Less(r.value, *current)) next = r.value;
      break;
    case OperationKind::kMax:
      if (!current.has_value() || Less(*current, r.value)) next = r.value;
      break;
    default:
      break;
  }
  if (next.has_value()) staging.Put(std::move(key), EncodeValue(*next));
  return absl::OkStatus();
}

bool RuleMatches(const Rule& rule, absl::string_view type) {
  if (rule.event_types.empty()) return true;
  for (const std::string& t : rule.event_types) {
    if (t == type) return true;
  }
  return false;
}

absl::Status ApplyRule(const Rule& rule, const EventView& e, EventDocs& docs, Staging& staging) {
  std::vector<std::string> rows;
  rows.reserve(rule.keys.size());
  std::vector<std::string> parts;
  for (const std::vector<Source>& key : rule.keys) {
    parts.clear();
    for (const Source& part : key) {
      STRATA_ASSIGN_OR_RETURN(std::string text, KeyPartText(part, e, docs));
      parts.push_back(std::move(text));
    }
    std::string row = EncodeKey(parts);
    STRATA_RETURN_IF_ERROR(
        CheckSize(key.front().path.substr(0, key.front().path.rfind(".parts")), "the key",
                  row.size(), kKeyBytesMax));
    rows.push_back(std::move(row));
  }
  std::vector<Resolved> resolved(rule.operations.size());
  for (size_t i = 0; i < rule.operations.size(); ++i) {
    const Operation& op = rule.operations[i];
    Resolved& r = resolved[i];
    switch (op.kind) {
      case OperationKind::kCount:
      case OperationKind::kDelete:
        break;
      case OperationKind::kSet:
        for (const auto& [name, source] : op.set) {
          STRATA_ASSIGN_OR_RETURN(Value v, Resolve(source, e, docs));
          std::string stored = EncodeValue(v);
          STRATA_RETURN_IF_ERROR(CheckSize(source.path, "the value", stored.size(),
                                           kValueBytesMax));
          r.set.emplace_back(&name, std::move(stored));
        }
        break;
      default: {
        STRATA_ASSIGN_OR_RETURN(r.value, Resolve(op.value, e, docs));
        const bool numeric = op.kind == OperationKind::kSum || op.kind == OperationKind::kMin ||
                             op.kind == OperationKind::kMax;
        if (numeric && !r.value.IsNumber()) {
          return Bad(op.value.path, absl::StrCat(op.value.pointer, " is ", r.value.Kind(),
                                                 ", not a number"));
        }
        STRATA_RETURN_IF_ERROR(CheckSize(op.value.path, "the value",
                                         EncodeValue(r.value).size(), kValueBytesMax));
        break;
      }
    }
  }
  for (const std::string& row : rows) {
    for (size_t i = 0; i < rule.operations.size(); ++i) {
      STRATA_RETURN_IF_ERROR(ApplyOperation(rule.operations[i], resolved[i], row, staging));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DefinedProjection::Apply(const EventView& event, ProjectionWriter& writer) {
  if (!definition_.Reads(event)) return absl::OkStatus();
  EventDocs docs(event, views_.get());
  Staging staging(&writer);
  absl::Status bad;
  for (const Rule& rule : definition_.rules) {
    if (!RuleMatches(rule, event.type)) continue;
    bad = ApplyRule(rule, event, docs, staging);
    if (!bad.ok()) break;
  }
  if (bad.ok()) return staging.Flush();
  if (bad.code() != absl::StatusCode::kInvalidArgument) return bad;  // a storage error
  const std::string message =
      absl::StrCat("bad event at position ", event.position, " (stream '", event.stream,
                   "' version ", event.stream_version, ", type '", event.type, "'): ",
                   bad.message());
  if (!definition_.skip_bad_events) return absl::InvalidArgumentError(message);
  writer.Add(kSkippedCountKey, 1);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> first, writer.Get(kFirstSkippedKey));
  const std::string position = EncodeValue(Value::Int(static_cast<int64_t>(event.position)));
  if (!first.has_value()) writer.Put(kFirstSkippedKey, position);
  writer.Put(kLastSkippedKey, position);
  writer.Put(kLastSkipErrorKey, EncodeValue(Value::String(message)));
  return absl::OkStatus();
}

}  // namespace strata::defined
