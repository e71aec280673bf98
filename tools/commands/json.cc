// ParseJsonObject and IsEmbeddableJson (json.h): CheckJson validates the text,
// then simdjson On-Demand reads each member with its exact source text.
#include "tools/commands/json.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/base/json_check.h"
#include "simdjson.h"

namespace strata::cli {
namespace {

namespace od = simdjson::ondemand;

absl::Status NotJson(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", why));
}

std::string Trimmed(std::string_view raw) {
  return std::string(absl::StripTrailingAsciiWhitespace(absl::string_view(raw.data(), raw.size())));
}

// Reads one member's value (the text is known to be valid JSON).
simdjson::error_code ReadMember(od::value value, JsonMember* m) {
  od::json_type type;
  if (auto e = value.type().get(type); e) return e;
  std::string_view raw;
  switch (type) {
    case od::json_type::object: {
      m->type = JsonMember::Type::kObject;
      od::object o;
      if (auto e = value.get_object().get(o); e) return e;
      if (auto e = o.raw_json().get(raw); e) return e;
      break;
    }
    case od::json_type::array: {
      m->type = JsonMember::Type::kArray;
      od::array a;
      if (auto e = value.get_array().get(a); e) return e;
      if (auto e = a.raw_json().get(raw); e) return e;
      break;
    }
    case od::json_type::string: {
      m->type = JsonMember::Type::kString;
      raw = value.raw_json_token();
      std::string_view s;
      if (auto e = value.get_string().get(s); e) return e;
      m->string_value = std::string(s);
      break;
    }
    case od::json_type::number:
      m->type = JsonMember::Type::kNumber;
      raw = value.raw_json_token();
      break;
    case od::json_type::boolean:
      m->type = JsonMember::Type::kBool;
      raw = value.raw_json_token();
      break;
    case od::json_type::null:
      m->type = JsonMember::Type::kNull;
      raw = value.raw_json_token();
      break;
  }
  m->raw = Trimmed(raw);
  return simdjson::SUCCESS;
}

}  // namespace

const JsonMember* JsonObject::Find(absl::string_view key) const {
  for (const JsonMember& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

absl::StatusOr<JsonObject> ParseJsonObject(absl::string_view text) {
  if (absl::Status s = CheckJson(text, kJsonDepthMax); !s.ok()) return NotJson(s.message());
  thread_local od::parser parser;
  const simdjson::padded_string padded(text.data(), text.size());
  od::document doc;
  od::object object;
  JsonObject out;
  simdjson::error_code e = parser.iterate(padded).get(doc);
  if (!e) e = doc.get_object().get(object);
  if (e == simdjson::INCORRECT_TYPE) return absl::InvalidArgumentError("not a JSON object");
  if (!e) {
    for (auto field : object) {
      if ((e = field.error())) break;
      JsonMember m;
      std::string_view key;
      if ((e = field.unescaped_key().get(key))) break;
      m.key = std::string(key);
      od::value value;
      if ((e = field.value().get(value))) break;
      if ((e = ReadMember(value, &m))) break;
      out.members.push_back(std::move(m));
    }
  }
  if (e) return NotJson(simdjson::error_message(e));
  return out;
}

bool IsEmbeddableJson(absl::string_view bytes) {
  if (bytes.empty() || bytes == "null") return false;
  for (char c : {bytes.front(), bytes.back()}) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
  }
  if (bytes.find_first_of("\r\n") != absl::string_view::npos) return false;
  return CheckJson(bytes, kJsonDepthMax - 8).ok();
}

}  // namespace strata::cli
