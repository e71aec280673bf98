// Compile (definition.h): a ProjectionDefinition's name, source, rules (keys,
// operations, value sources) or script checked against the limits and turned
// into a Definition; Definition::Reads, Normalized and Canonical.
#include "projections/defined/definition.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "projections/defined/json.h"
#include "projections/defined/script.h"

namespace strata::defined {
namespace {

absl::Status Invalid(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

absl::Status TooMany(absl::string_view path, size_t got, size_t max) {
  return absl::ResourceExhaustedError(
      absl::StrCat(path, ": ", got, " entries, more than the limit of ", max));
}

// At most 32 bytes of untrusted text, for messages.
std::string Quoted(absl::string_view text) {
  constexpr size_t kQuotedBytesMax = 32;
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, kQuotedBytesMax)),
                      text.size() > kQuotedBytesMax ? "...'" : "'");
}

absl::Status CheckText(absl::string_view path, absl::string_view text, bool allow_empty) {
  if (text.empty() && !allow_empty) return Invalid(path, "must not be empty");
  if (text.size() > kTextBytesMax) {
    return absl::ResourceExhaustedError(absl::StrCat(path, ": ", text.size(),
                                                     " bytes, more than the limit of ",
                                                     kTextBytesMax));
  }
  return absl::OkStatus();
}

absl::Status CheckPointer(absl::string_view path, absl::string_view pointer) {
  STRATA_RETURN_IF_ERROR(CheckText(path, pointer, /*allow_empty=*/true));
  if (!pointer.empty() && pointer[0] != '/') {
    return Invalid(path, absl::StrCat("JSON pointer ", Quoted(pointer),
                                      " must be empty or start with '/' (e.g. /customer/id)"));
  }
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' &&
                                                          pointer[i + 1] != '1'))) {
      return Invalid(path, absl::StrCat("JSON pointer ", Quoted(pointer),
                                        ": '~' must be followed by 0 or 1"));
    }
  }
  return absl::OkStatus();
}

bool ValidFieldName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

absl::StatusOr<EventAttribute> ParseAttribute(absl::string_view path, absl::string_view name) {
  static const auto* kNames = new std::map<std::string, EventAttribute, std::less<>>{
      {"stream", EventAttribute::kStream},
      {"category", EventAttribute::kCategory},
      {"stream_id", EventAttribute::kStreamId},
      {"event_type", EventAttribute::kEventType},
      {"position", EventAttribute::kPosition},
      {"stream_version", EventAttribute::kStreamVersion},
      {"recorded_at", EventAttribute::kRecordedAt},
  };
  auto it = kNames->find(name);
  if (it == kNames->end()) {
    return Invalid(path, absl::StrCat("unknown event field ", Quoted(name),
                                      ": one of stream, category, stream_id, event_type, "
                                      "position, stream_version, recorded_at"));
  }
  return it->second;
}

absl::StatusOr<TimeUnit> ParseUnit(absl::string_view path, absl::string_view unit) {
  static const auto* kUnits = new std::map<std::string, TimeUnit, std::less<>>{
      {"minute", TimeUnit::kMinute}, {"hour", TimeUnit::kHour}, {"day", TimeUnit::kDay},
      {"month", TimeUnit::kMonth},   {"year", TimeUnit::kYear},
  };
  auto it = kUnits->find(unit);
  if (it == kUnits->end()) {
    return Invalid(path, absl::StrCat("unknown time unit ", Quoted(unit),
                                      ": one of minute, hour, day, month, year"));
  }
  return it->second;
}

absl::StatusOr<Source> CompileKeyPart(const v1::KeyPart& part, const std::string& path) {
  Source s;
  s.path = path;
  switch (part.part_case()) {
    case v1::KeyPart::kLiteral:
      STRATA_RETURN_IF_ERROR(CheckText(path + ".literal", part.literal(), true));
      s.kind = Source::Kind::kConstant;
      s.constant = Value::String(part.literal());
      return s;
    case v1::KeyPart::kData:
      STRATA_RETURN_IF_ERROR(CheckPointer(path + ".data", part.data()));
      s.kind = Source::Kind::kData;
      s.pointer = part.data();
      return s;
    case v1::KeyPart::kMetadata:
      STRATA_RETURN_IF_ERROR(CheckPointer(path + ".metadata", part.metadata()));
      s.kind = Source::Kind::kMetadata;
      s.pointer = part.metadata();
      return s;
    case v1::KeyPart::kEvent: {
      STRATA_ASSIGN_OR_RETURN(s.attribute, ParseAttribute(path + ".event", part.event()));
      s.kind = Source::Kind::kAttribute;
      return s;
    }
    case v1::KeyPart::kTime: {
      const v1::TimeBucket& t = part.time();
      s.kind = Source::Kind::kTime;
      STRATA_ASSIGN_OR_RETURN(s.unit, ParseUnit(path + ".time.unit", t.unit()));
      if (!t.data().empty() && !t.metadata().empty()) {
        return Invalid(path + ".time", "set data or metadata, not both");
      }
      if (!t.data().empty()) {
        STRATA_RETURN_IF_ERROR(CheckPointer(path + ".time.data", t.data()));
        s.time_field = true;
        s.pointer = t.data();
      } else if (!t.metadata().empty()) {
        STRATA_RETURN_IF_ERROR(CheckPointer(path + ".time.metadata", t.metadata()));
        s.time_field = true;
        s.time_in_metadata = true;
        s.pointer = t.metadata();
      }
      return s;
    }
    case v1::KeyPart::PART_NOT_SET:
      break;
  }
  return Invalid(path, "empty: set one of literal, data, metadata, event, time");
}

absl::StatusOr<Source> CompileValue(const v1::ValueSource& value, const std::string& path) {
  Source s;
  s.path = path;
  switch (value.source_case()) {
    case v1::ValueSource::kData:
      STRATA_RETURN_IF_ERROR(CheckPointer(path + ".data", value.data()));
      s.kind = Source::Kind::kData;
      s.pointer = value.data();
      return s;
    case v1::ValueSource::kMetadata:
      STRATA_RETURN_IF_ERROR(CheckPointer(path + ".metadata", value.metadata()));
      s.kind = Source::Kind::kMetadata;
      s.pointer = value.metadata();
      return s;
    case v1::ValueSource::kEvent: {
      STRATA_ASSIGN_OR_RETURN(s.attribute, ParseAttribute(path + ".event", value.event()));
      s.kind = Source::Kind::kAttribute;
      return s;
    }
    case v1::ValueSource::kConstant: {
      STRATA_RETURN_IF_ERROR(CheckText(path + ".constant", value.constant(), false));
      absl::StatusOr<Value> v = ParseJsonValue(value.constant());
      if (!v.ok()) {
        return Invalid(path + ".constant",
                       absl::StrCat("not a JSON value (", v.status().message(),
                                    "); a string constant needs quotes: \"\\\"open\\\"\""));
      }
      s.kind = Source::Kind::kConstant;
      s.constant = *std::move(v);
      return s;
    }
    case v1::ValueSource::SOURCE_NOT_SET:
      break;
  }
  return Invalid(path, "empty: set one of data, metadata, event, constant");
}

const char* OperationName(OperationKind kind) {
  switch (kind) {
    case OperationKind::kCount:
      return "count";
    case OperationKind::kSum:
      return "sum";
    case OperationKind::kMin:
      return "min";
    case OperationKind::kMax:
      return "max";
    case OperationKind::kFirst:
      return "first";
    case OperationKind::kLast:
      return "last";
    case OperationKind::kSet:
      return "set";
    case OperationKind::kDelete:
      return "delete";
  }
  return "?";
}

absl::Status CheckEntries(const std::string& path,
                          const google::protobuf::RepeatedPtrField<std::string>& entries,
                          bool system_names_refused) {
  if (static_cast<size_t>(entries.size()) > kSourceEntriesMax) {
    return TooMany(path, entries.size(), kSourceEntriesMax);
  }
  for (int i = 0; i < entries.size(); ++i) {
    const std::string entry_path = absl::StrCat(path, "[", i, "]");
    STRATA_RETURN_IF_ERROR(CheckText(entry_path, entries[i], false));
    if (system_names_refused && entries[i][0] == '$') {
      return Invalid(entry_path, absl::StrCat(Quoted(entries[i]),
                                              ": streams starting with '$' are the system's"));
    }
  }
  return absl::OkStatus();
}

// One operation kind per field: the field's meaning must not depend on the
// rule that wrote it last.
struct FieldUse {
  OperationKind kind;
  std::string path;
};

}  // namespace

bool Source::ReadsData() const {
  return kind == Kind::kData || (kind == Kind::kTime && time_field && !time_in_metadata);
}

bool Source::ReadsMetadata() const {
  return kind == Kind::kMetadata || (kind == Kind::kTime && time_field && time_in_metadata);
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

bool Definition::Reads(const EventView& event) const {
  if (!event.stream.empty() && event.stream[0] == '$') return false;
  if (!stream_prefixes.empty() || !streams.empty()) {
    bool match = false;
    for (const std::string& p : stream_prefixes) {
      if (absl::StartsWith(event.stream, p)) {
        match = true;
        break;
      }
    }
    for (size_t i = 0; !match && i < streams.size(); ++i) match = event.stream == streams[i];
    if (!match) return false;
  }
  if (event_types.empty()) return true;
  for (const std::string& t : event_types) {
    if (event.type == t) return true;
  }
  return false;
}

absl::StatusOr<Definition> Compile(const v1::ProjectionDefinition& proto) {
  // A script has its own, larger limit (checked with it).
  const size_t bytes = proto.ByteSizeLong() - proto.script().lua().size();
  if (bytes > kDefinitionBytesMax) {
    return absl::ResourceExhaustedError(absl::StrCat("definition: ", bytes,
                                                     " bytes, more than the limit of ",
                                                     kDefinitionBytesMax));
  }
  Definition def;
  if (!ValidName(proto.name())) {
    return Invalid("name", absl::StrCat(Quoted(proto.name()),
                                        " must be 1-64 characters of a-z, 0-9 and _"));
  }
  def.name = proto.name();
  if (proto.on_bad_event() == "skip") {
    def.skip_bad_events = true;
  } else if (!proto.on_bad_event().empty() && proto.on_bad_event() != "fail") {
    return Invalid("on_bad_event",
                   absl::StrCat("unknown policy ", Quoted(proto.on_bad_event()),
                                ": fail (the default) or skip"));
  }
  if (proto.snapshot_interval_events() != 0 &&
      (proto.snapshot_interval_events() < kSnapshotIntervalMin ||
       proto.snapshot_interval_events() > kSnapshotIntervalMax)) {
    return Invalid("snapshot_interval_events",
                   absl::StrCat(proto.snapshot_interval_events(), " is outside ",
                                kSnapshotIntervalMin, "..", kSnapshotIntervalMax,
                                " (0: the server's default)"));
  }
  def.snapshot_interval_events = proto.snapshot_interval_events();
  const v1::ProjectionSource& source = proto.source();
  STRATA_RETURN_IF_ERROR(CheckEntries("source.stream_prefixes", source.stream_prefixes(), true));
  STRATA_RETURN_IF_ERROR(CheckEntries("source.streams", source.streams(), true));
  STRATA_RETURN_IF_ERROR(CheckEntries("source.event_types", source.event_types(), false));
  def.stream_prefixes.assign(source.stream_prefixes().begin(), source.stream_prefixes().end());
  def.streams.assign(source.streams().begin(), source.streams().end());
  def.event_types.assign(source.event_types().begin(), source.event_types().end());

  if (proto.has_script()) {
    if (!proto.rules().empty()) {
      return Invalid("rules", "a definition has rules or a script, not both");
    }
    const v1::ScriptDefinition& script = proto.script();
    if (script.lua().empty()) return Invalid("script.lua", "required: the script's source");
    ScriptSpec spec;
    spec.lua = script.lua();
    if (script.partition_by() == "category") {
      spec.partition = ScriptSpec::Partition::kCategory;
    } else if (script.partition_by() == "function") {
      spec.partition = ScriptSpec::Partition::kFunction;
    } else if (!script.partition_by().empty() && script.partition_by() != "stream") {
      return Invalid("script.partition_by",
                     absl::StrCat("unknown partitioning ", Quoted(script.partition_by()),
                                  ": stream (the default), category or function"));
    }
    STRATA_RETURN_IF_ERROR(CheckScript(spec, def.name));
    def.script = std::move(spec);
    return def;
  }
  if (proto.rules().empty()) return Invalid("rules", "at least one rule is required");
  if (static_cast<size_t>(proto.rules_size()) > kRulesMax) {
    return TooMany("rules", proto.rules_size(), kRulesMax);
  }
  std::map<std::string, FieldUse> fields;
  std::map<std::string, size_t> slots;  // a key part's meaning -> its slot
  for (int r = 0; r < proto.rules_size(); ++r) {
    const v1::ProjectionRule& rule_proto = proto.rules(r);
    Rule rule;
    rule.path = absl::StrCat("rules[", r, "]");
    const std::string types_path = rule.path + ".event_types";
    STRATA_RETURN_IF_ERROR(CheckEntries(types_path, rule_proto.event_types(), false));
    for (int t = 0; t < rule_proto.event_types_size(); ++t) {
      const std::string& type = rule_proto.event_types(t);
      if (!def.event_types.empty() &&
          std::find(def.event_types.begin(), def.event_types.end(), type) ==
              def.event_types.end()) {
        return Invalid(absl::StrCat(types_path, "[", t, "]"),
                       absl::StrCat(Quoted(type), " is not among source.event_types, so the "
                                                  "rule would never apply"));
      }
      rule.event_types.push_back(type);
    }
    if (rule_proto.keys().empty()) return Invalid(rule.path + ".keys", "at least one key");
    if (static_cast<size_t>(rule_proto.keys_size()) > kKeysPerRuleMax) {
      return TooMany(rule.path + ".keys", rule_proto.keys_size(), kKeysPerRuleMax);
    }
    for (int k = 0; k < rule_proto.keys_size(); ++k) {
      const std::string key_path = absl::StrCat(rule.path, ".keys[", k, "]");
      const v1::ProjectionKey& key = rule_proto.keys(k);
      if (key.parts().empty()) return Invalid(key_path + ".parts", "at least one part");
      if (static_cast<size_t>(key.parts_size()) > kKeyPartsMax) {
        return TooMany(key_path + ".parts", key.parts_size(), kKeyPartsMax);
      }
      std::vector<Source> parts;
      for (int p = 0; p < key.parts_size(); ++p) {
        STRATA_ASSIGN_OR_RETURN(
            Source part, CompileKeyPart(key.parts(p), absl::StrCat(key_path, ".parts[", p, "]")));
        rule.reads_data |= part.ReadsData();
        rule.reads_metadata |= part.ReadsMetadata();
        const std::string meaning = absl::StrCat(
            static_cast<int>(part.kind), "|", part.pointer, "|", static_cast<int>(part.attribute),
            "|", static_cast<int>(part.unit), "|", part.time_field, part.time_in_metadata, "|",
            part.constant.text);
        part.slot = slots.emplace(meaning, slots.size()).first->second;
        parts.push_back(std::move(part));
      }
      rule.keys.push_back(std::move(parts));
    }
    if (rule_proto.operations().empty()) {
      return Invalid(rule.path + ".operations", "at least one operation");
    }
    if (static_cast<size_t>(rule_proto.operations_size()) > kOperationsPerRuleMax) {
      return TooMany(rule.path + ".operations", rule_proto.operations_size(),
                     kOperationsPerRuleMax);
    }
    for (int o = 0; o < rule_proto.operations_size(); ++o) {
      const v1::ProjectionOperation& op_proto = rule_proto.operations(o);
      Operation op;
      op.path = absl::StrCat(rule.path, ".operations[", o, "]");
      op.field = op_proto.field();
      const v1::ValueSource* value = nullptr;
      switch (op_proto.op_case()) {
        case v1::ProjectionOperation::kCount:
          op.kind = OperationKind::kCount;
          break;
        case v1::ProjectionOperation::kSum:
          op.kind = OperationKind::kSum;
          value = &op_proto.sum();
          break;
        case v1::ProjectionOperation::kMin:
          op.kind = OperationKind::kMin;
          value = &op_proto.min();
          break;
        case v1::ProjectionOperation::kMax:
          op.kind = OperationKind::kMax;
          value = &op_proto.max();
          break;
        case v1::ProjectionOperation::kFirst:
          op.kind = OperationKind::kFirst;
          value = &op_proto.first();
          break;
        case v1::ProjectionOperation::kLast:
          op.kind = OperationKind::kLast;
          value = &op_proto.last();
          break;
        case v1::ProjectionOperation::kSet:
          op.kind = OperationKind::kSet;
          break;
        case v1::ProjectionOperation::kDelete:
          op.kind = OperationKind::kDelete;
          break;
        case v1::ProjectionOperation::OP_NOT_SET:
          return Invalid(op.path, "empty: set one of count, sum, min, max, first, last, set, "
                                  "delete");
      }
      const char* name = OperationName(op.kind);
      if (op.kind == OperationKind::kDelete) {
        if (!op.field.empty()) return Invalid(op.path + ".field", "delete takes no field");
      } else if (!ValidFieldName(op.field)) {
        return Invalid(op.path + ".field", absl::StrCat(Quoted(op.field),
                                                        " must be 1-64 characters of "
                                                        "A-Z, a-z, 0-9 and _"));
      } else {
        auto [it, inserted] = fields.emplace(op.field, FieldUse{op.kind, op.path});
        if (!inserted && it->second.kind != op.kind) {
          return Invalid(op.path + ".field",
                         absl::StrCat("'", op.field, "' is already a ",
                                      OperationName(it->second.kind), " field (",
                                      it->second.path, "); one operation kind per field"));
        }
      }
      const std::string value_path = absl::StrCat(op.path, ".", name);
      if (value != nullptr) {
        STRATA_ASSIGN_OR_RETURN(op.value, CompileValue(*value, value_path));
        const bool numeric = op.kind == OperationKind::kSum || op.kind == OperationKind::kMin ||
                             op.kind == OperationKind::kMax;
        if (numeric && op.value.kind == Source::Kind::kConstant && !op.value.constant.IsNumber()) {
          return Invalid(value_path + ".constant", "must be a number");
        }
        const bool text_attribute =
            op.value.kind == Source::Kind::kAttribute &&
            (op.value.attribute == EventAttribute::kStream ||
             op.value.attribute == EventAttribute::kCategory ||
             op.value.attribute == EventAttribute::kStreamId ||
             op.value.attribute == EventAttribute::kEventType);
        if (numeric && text_attribute) {
          return Invalid(value_path + ".event",
                         absl::StrCat(Quoted(value->event()), " is text; ", name,
                                      " needs a number (position, stream_version, recorded_at)"));
        }
      }
      if (op.kind == OperationKind::kSet) {
        const auto& set_fields = op_proto.set().fields();
        if (set_fields.empty()) return Invalid(value_path + ".fields", "at least one field");
        if (static_cast<size_t>(set_fields.size()) > kSetFieldsMax) {
          return TooMany(value_path + ".fields", set_fields.size(), kSetFieldsMax);
        }
        // Sorted by name: the map's order is not defined, the fold's must be.
        std::map<std::string, const v1::ValueSource*> sorted;
        for (const auto& [field_name, source] : set_fields) sorted[field_name] = &source;
        for (const auto& [field_name, source] : sorted) {
          const std::string field_path = absl::StrCat(value_path, ".fields[\"", field_name, "\"]");
          STRATA_RETURN_IF_ERROR(CheckText(field_path, field_name, false));
          STRATA_ASSIGN_OR_RETURN(Source s, CompileValue(*source, field_path));
          op.set.emplace_back(field_name, std::move(s));
        }
      }
      rule.reads_data |= op.value.ReadsData();
      rule.reads_metadata |= op.value.ReadsMetadata();
      for (const auto& [field_name, s] : op.set) {
        rule.reads_data |= s.ReadsData();
        rule.reads_metadata |= s.ReadsMetadata();
      }
      rule.operations.push_back(std::move(op));
    }
    def.rules.push_back(std::move(rule));
  }
  def.key_part_slots = slots.size();
  return def;
}

v1::ProjectionDefinition Normalized(v1::ProjectionDefinition proto) {
  if (proto.on_bad_event().empty()) proto.set_on_bad_event("fail");
  if (proto.has_script() && proto.script().partition_by().empty()) {
    proto.mutable_script()->set_partition_by("stream");
  }
  return proto;
}

std::string Canonical(const v1::ProjectionDefinition& proto) {
  const v1::ProjectionDefinition normalized = Normalized(proto);
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    normalized.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace strata::defined
