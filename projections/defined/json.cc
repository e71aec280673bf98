#include "projections/defined/json.h"

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace strata::defined {
namespace {

namespace od = simdjson::ondemand;

absl::Status JsonError(simdjson::error_code code) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", simdjson::error_message(code)));
}

std::string Trimmed(std::string_view raw) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size())));
}

// Converts what `v` (an od::value or an od::document) holds. Consumes it.
template <typename V>
absl::StatusOr<Value> Convert(V& v) {
  od::json_type type;
  if (auto e = v.type().get(type); e) return JsonError(e);
  switch (type) {
    case od::json_type::number: {
      od::number_type nt;
      if (auto e = v.get_number_type().get(nt); e) return JsonError(e);
      if (nt == od::number_type::signed_integer) {
        int64_t i = 0;
        if (auto e = v.get_int64().get(i); e) return JsonError(e);
        return Value::Int(i);
      }
      if (nt == od::number_type::unsigned_integer) {
        uint64_t u = 0;
        if (auto e = v.get_uint64().get(u); e) return JsonError(e);
        if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Value::Int(static_cast<int64_t>(u));
        }
        return Value::Double(static_cast<double>(u));
      }
      double d = 0;
      if (auto e = v.get_double().get(d); e) return JsonError(e);
      return Value::Double(d);
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s); e) return JsonError(e);
      return Value::String(std::string(s));
    }
    case od::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b); e) return JsonError(e);
      return Value::Bool(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null); e) return JsonError(e);
      return Value::Json("null");
    }
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o); e) return JsonError(e);
      std::string_view raw;
      if (auto e = o.raw_json().get(raw); e) return JsonError(e);
      return Value::Json(Trimmed(raw));
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a); e) return JsonError(e);
      std::string_view raw;
      if (auto e = a.raw_json().get(raw); e) return JsonError(e);
      return Value::Json(Trimmed(raw));
    }
  }
  return absl::InvalidArgumentError("invalid JSON: unknown value type");
}

}  // namespace

struct JsonReader::State {
  od::parser parser;
  std::string buffer;
  od::document doc;
  simdjson::error_code error = simdjson::SUCCESS;
};

JsonReader::JsonReader() : state_(std::make_unique<State>()) {}
JsonReader::~JsonReader() = default;

void JsonReader::Reset(absl::string_view text) {
  State& s = *state_;
  s.buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  s.buffer.assign(text.data(), text.size());
  s.error = s.parser
                .iterate(simdjson::padded_string_view(s.buffer.data(), s.buffer.size(),
                                                      s.buffer.capacity()))
                .get(s.doc);
}

absl::StatusOr<std::optional<Value>> JsonReader::Find(absl::string_view pointer) {
  State& s = *state_;
  if (s.error) return JsonError(s.error);
  if (pointer.empty()) {
    s.doc.rewind();
    absl::StatusOr<Value> v = Convert(s.doc);
    if (!v.ok()) return v.status();
    return std::optional<Value>(*std::move(v));
  }
  od::value v;
  const simdjson::error_code e =
      s.doc.at_pointer(std::string_view(pointer.data(), pointer.size())).get(v);
  if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS) return std::nullopt;
  if (e == simdjson::INCORRECT_TYPE) return std::nullopt;  // e.g. /a/b where /a is a number
  if (e) return JsonError(e);
  absl::StatusOr<Value> out = Convert(v);
  if (!out.ok()) return out.status();
  return std::optional<Value>(*std::move(out));
}

absl::StatusOr<Value> ParseJsonValue(absl::string_view text) {
  // The DOM parser validates the whole text, which On-Demand does not.
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (auto e = parser.parse(text.data(), text.size()).get(element); e) return JsonError(e);
  switch (element.type()) {
    case simdjson::dom::element_type::INT64:
      return Value::Int(element.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: {
      const uint64_t u = element.get_uint64().value_unsafe();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value::Int(static_cast<int64_t>(u));
      }
      return Value::Double(static_cast<double>(u));
    }
    case simdjson::dom::element_type::DOUBLE:
      return Value::Double(element.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return Value::String(std::string(element.get_string().value_unsafe()));
    case simdjson::dom::element_type::BOOL:
      return Value::Bool(element.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE:
      return Value::Json("null");
    case simdjson::dom::element_type::ARRAY:
    case simdjson::dom::element_type::OBJECT:
      return Value::Json(simdjson::minify(element));
  }
  return absl::InvalidArgumentError("invalid JSON: unknown value type");
}

}  // namespace strata::defined
