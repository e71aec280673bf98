// DefinedProjection::Apply (defined_projection.h): for each rule matching the
// event, its keys and values are resolved (event attributes, JSON pointers,
// time buckets) and its operations staged; the staged writes go out only when
// every rule succeeded. BadEvent applies the fail or skip policy.
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
#include "projections/defined/rows.h"

namespace strata::defined {
namespace {

absl::Status Bad(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// The writes of one event, kept until every rule has succeeded. Reads see the
// writer's state with the staged writes on top, in order. Reused from event
// to event (its strings keep their capacity).
class Staging {
 public:
  void Reset(ProjectionWriter* writer) {
    writer_ = writer;
    used_ = 0;
  }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) const {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, writer_->Get(key));
    for (size_t i = 0; i < used_; ++i) {
      const Op& op = ops_[i];
      if (op.kind == Op::kDeleteRow) {
        if (absl::StartsWith(key, op.key)) value.reset();
      } else if (op.key == key) {
        value = op.value;  // Put (Add is only staged for counters, never read back)
      }
    }
    return value;
  }
  // The key of a new op of `kind`, to fill in; Put's value in *value.
  std::string* Add(std::string** value = nullptr) { return Next(Op::kAdd, value); }
  std::string* Put(std::string** value) { return Next(Op::kPut, value); }
  std::string* DeleteRow() { return Next(Op::kDeleteRow, nullptr); }

  absl::Status Flush() {
    for (size_t i = 0; i < used_; ++i) {
      const Op& op = ops_[i];
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
    enum Kind { kPut, kAdd, kDeleteRow } kind = kPut;
    std::string key;  // kDeleteRow: the row's prefix
    std::string value;
  };
  std::string* Next(Op::Kind kind, std::string** value) {
    if (used_ == ops_.size()) ops_.emplace_back();
    Op& op = ops_[used_++];
    op.kind = kind;
    op.key.clear();
    if (value != nullptr) {
      op.value.clear();
      *value = &op.value;
    }
    return &op.key;
  }
  ProjectionWriter* writer_ = nullptr;
  std::vector<Op> ops_;
  size_t used_ = 0;
};

// One event's documents, parsed on first use (or by another projection
// reading the same event through the same JsonEvents).
class EventDocs {
 public:
  EventDocs(const EventView& event, JsonEvents* events) : event_(event), events_(events) {}

  // The value at `pointer`; Bad (naming `path`) when missing or unreadable.
  absl::StatusOr<Value> Find(const std::string& path, bool metadata, const std::string& pointer) {
    if (!parsed_) parsed_ = events_->For(event_);
    const char* doc = metadata ? "metadata" : "data";
    const ParsedJson* json = nullptr;
    if (metadata) {
      json = &parsed_->Metadata(event_);
    } else {
      absl::StatusOr<const ParsedJson*> data = parsed_->Data(event_);
      if (!data.ok()) {
        if (data.status().code() != absl::StatusCode::kInvalidArgument) return data.status();
        return Bad(path, data.status().message());
      }
      if (*data == nullptr) {
        return Bad(path, absl::StrCat("data has content type '",
                                      absl::CHexEscape(event_.content_type.substr(0, 64)),
                                      "', not application/json"));
      }
      json = *data;
    }
    if (json->empty()) return Bad(path, absl::StrCat(doc, " is empty, not JSON"));
    absl::StatusOr<std::optional<Value>> v = json->Find(pointer);
    if (!v.ok()) return Bad(path, absl::StrCat(doc, ": ", v.status().message()));
    if (!v->has_value()) {
      return Bad(path, absl::StrCat(doc, " has nothing at ", pointer.empty() ? "\"\"" : pointer));
    }
    return **std::move(v);
  }

 private:
  const EventView& event_;
  JsonEvents* const events_;
  ParsedEventRef parsed_;
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

void AppendDigits(int64_t v, int width, std::string* out) {
  char buf[20];
  int n = 0;
  const bool negative = v < 0;
  uint64_t u = negative ? -static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative) out->push_back('-');
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

// `micros` truncated to `unit`, UTC, as absl::FormatCivilTime writes it
// ("2026-12-03T09:41", "2026-12-03T09", "2026-12-03", "2026-12", "2026"),
// without its time zone machinery: this runs for every key of every event.
std::string FormatTime(int64_t micros, TimeUnit unit) {
  constexpr int64_t kMicrosPerDay = 86'400'000'000;
  int64_t days = micros / kMicrosPerDay;
  int64_t rest = micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  days += 719'468;
  const int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const int64_t doe = days - era * 146'097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  std::string out;
  out.reserve(16);
  AppendDigits(year, 4, &out);
  if (unit == TimeUnit::kYear) return out;
  out.push_back('-');
  AppendDigits(month, 2, &out);
  if (unit == TimeUnit::kMonth) return out;
  out.push_back('-');
  AppendDigits(day, 2, &out);
  if (unit == TimeUnit::kDay) return out;
  out.push_back('T');
  AppendDigits(rest / 3'600'000'000, 2, &out);
  if (unit == TimeUnit::kHour) return out;
  out.push_back(':');
  AppendDigits(rest / 60'000'000 % 60, 2, &out);
  return out;
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

void PutStaged(Staging& staging, const std::string& key, std::string value) {
  std::string* staged_value = nullptr;
  *staging.Put(&staged_value) = key;
  *staged_value = std::move(value);
}

// The values an operation writes, resolved once for all of the rule's keys.
struct Resolved {
  Value value;
  std::vector<std::pair<const std::string*, std::string>> set;  // name, stored value
};

absl::Status ApplyOperation(const Operation& op, const Resolved& r, const std::string& row,
                            Staging& staging) {
  if (op.kind == OperationKind::kCount) {
    AppendFieldKey(row, kCounterField, op.field, staging.Add());
    return absl::OkStatus();
  }
  if (op.kind == OperationKind::kDelete) {
    std::string* prefix = staging.DeleteRow();
    prefix->append(row);
    prefix->push_back(kFieldMarker);
    return absl::OkStatus();
  }
  std::string key;
  AppendFieldKey(row, kValueField, op.field, &key);
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
    PutStaged(staging, key, std::move(encoded));
    return absl::OkStatus();
  }
  if (op.kind == OperationKind::kLast) {
    PutStaged(staging, key, EncodeValue(r.value));
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
  if (next.has_value()) PutStaged(staging, key, EncodeValue(*next));
  return absl::OkStatus();
}

bool RuleMatches(const Rule& rule, absl::string_view type) {
  if (rule.event_types.empty()) return true;
  for (const std::string& t : rule.event_types) {
    if (t == type) return true;
  }
  return false;
}

// Per-thread scratch of Apply, reused from event to event.
struct Scratch {
  Staging staging;
  std::vector<std::string> rows;
  std::vector<std::string> part_text;  // by Source::slot
  std::vector<uint8_t> part_ready;
};

absl::Status ApplyRule(const Rule& rule, const EventView& e, EventDocs& docs, Scratch& scratch) {
  Staging& staging = scratch.staging;
  std::vector<std::string>& rows = scratch.rows;
  rows.resize(rule.keys.size());
  for (size_t k = 0; k < rule.keys.size(); ++k) {
    const std::vector<Source>& key = rule.keys[k];
    std::string& row = rows[k];
    row.clear();
    for (size_t p = 0; p < key.size(); ++p) {
      const Source& part = key[p];
      std::string& text = scratch.part_text[part.slot];
      if (!scratch.part_ready[part.slot]) {
        STRATA_ASSIGN_OR_RETURN(text, KeyPartText(part, e, docs));
        scratch.part_ready[part.slot] = 1;
      }
      if (p > 0) row.push_back(kPartSeparator);
      AppendKeyPart(text, &row);
    }
    STRATA_RETURN_IF_ERROR(
        CheckSize(key.front().path.substr(0, key.front().path.rfind(".parts")), "the key",
                  row.size(), kKeyBytesMax));
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
          return Bad(op.value.path, absl::StrCat(op.value.pointer.empty() ? "the value"
                                                                          : op.value.pointer,
                                                 " is ", r.value.Kind(), ", not a number"));
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

DefinedProjection::DefinedProjection(Definition definition, ProjectionVersion version,
                                     std::shared_ptr<JsonEvents> events)
    : definition_(std::move(definition)),
      version_(version),
      events_(JsonEvents::OrUnshared(std::move(events))) {}

absl::Status DefinedProjection::Apply(const EventView& event, ProjectionWriter& writer) {
  if (!definition_.Reads(event)) return absl::OkStatus();
  EventDocs docs(event, events_.get());
  thread_local Scratch scratch;
  scratch.staging.Reset(&writer);
  scratch.part_text.resize(std::max(scratch.part_text.size(), definition_.key_part_slots));
  scratch.part_ready.assign(definition_.key_part_slots, 0);
  absl::Status bad;
  for (const Rule& rule : definition_.rules) {
    if (!RuleMatches(rule, event.type)) continue;
    bad = ApplyRule(rule, event, docs, scratch);
    if (!bad.ok()) break;
  }
  if (bad.ok()) return scratch.staging.Flush();
  if (bad.code() != absl::StatusCode::kInvalidArgument) return bad;  // a storage error
  return BadEvent(definition_, event, bad, writer);
}

absl::Status BadEvent(const Definition& definition, const EventView& event,
                      const absl::Status& bad, ProjectionWriter& writer) {
  const std::string message =
      absl::StrCat("bad event at position ", event.position, " (stream '", event.stream,
                   "' version ", event.stream_version, ", type '", event.type, "'): ",
                   bad.message());
  if (!definition.skip_bad_events) return absl::InvalidArgumentError(message);
  writer.Add(kSkippedCountKey, 1);
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> first, writer.Get(kFirstSkippedKey));
  const std::string position = EncodeValue(Value::Int(static_cast<int64_t>(event.position)));
  if (!first.has_value()) writer.Put(kFirstSkippedKey, position);
  writer.Put(kLastSkippedKey, position);
  writer.Put(kLastSkipErrorKey, EncodeValue(Value::String(message)));
  return absl::OkStatus();
}

}  // namespace strata::defined
