// ParsedJson and ParseJsonValue (json.h): simdjson DOM parses with one parser
// per thread, JSON pointer lookups converted to Values, and an On-Demand
// fallback for valid JSON whose numbers the DOM cannot hold.
#include "projections/defined/json.h"

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/base/json_check.h"
#include "simdjson.h"

namespace strata::defined {
namespace {

namespace dom = simdjson::dom;
namespace od = simdjson::ondemand;

absl::Status JsonError(simdjson::error_code code) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", simdjson::error_message(code)));
}

Value ValueOf(const dom::element& element) {
  switch (element.type()) {
    case dom::element_type::INT64:
      return Value::Int(element.get_int64().value_unsafe());
    case dom::element_type::UINT64: {
      const uint64_t u = element.get_uint64().value_unsafe();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value::Int(static_cast<int64_t>(u));
      }
      return Value::Double(static_cast<double>(u));
    }
    case dom::element_type::DOUBLE:
      return Value::Double(element.get_double().value_unsafe());
    case dom::element_type::STRING:
      return Value::String(std::string(element.get_string().value_unsafe()));
    case dom::element_type::BOOL:
      return Value::Bool(element.get_bool().value_unsafe());
    case dom::element_type::NULL_VALUE:
      return Value::Json("null");
    case dom::element_type::ARRAY:
    case dom::element_type::OBJECT:
      break;
  }
  return Value::Json(simdjson::minify(element));
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

// Whether a JSON pointer lookup's error means "nothing there" (a missing
// field or index, or /a/b where /a is a number) rather than bad JSON.
bool NothingAt(simdjson::error_code e) {
  return e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS ||
         e == simdjson::INCORRECT_TYPE;
}

// One parser per thread: its buffers are reused from parse to parse, and the
// parsed form goes into the caller's document.
dom::parser& ThreadParser() {
  thread_local dom::parser parser;
  return parser;
}

}  // namespace

struct ParsedJson::Document {
  dom::document doc;
  dom::element root;
};

ParsedJson::ParsedJson() : doc_(std::make_unique<Document>()) {}
ParsedJson::~ParsedJson() = default;

void ParsedJson::Parse(absl::string_view text) {
  empty_ = text.empty();
  fallback_.clear();
  if (empty_) {
    status_ = JsonError(simdjson::EMPTY);
    return;
  }
  simdjson::error_code e =
      ThreadParser().parse_into_document(doc_->doc, text.data(), text.size()).get(doc_->root);
  if (e == simdjson::NUMBER_ERROR && CheckJson(text, simdjson::DEFAULT_MAX_DEPTH - 1).ok()) {
    // Valid JSON with a number simdjson's DOM cannot hold (an integer beyond
    // 64 bits, 1e400): read it the slow way, field by field.
    fallback_.assign(text.data(), text.size());
    e = simdjson::SUCCESS;
  }
  status_ = e ? JsonError(e) : absl::OkStatus();
}

absl::StatusOr<std::optional<Value>> ParsedJson::Find(absl::string_view pointer) const {
  if (!status_.ok()) return status_;
  if (!fallback_.empty()) {
    // No DOM (a number simdjson cannot hold): read the one field On-Demand.
    thread_local od::parser parser;
    const simdjson::padded_string padded(fallback_);
    od::document doc;
    if (auto e = parser.iterate(padded).get(doc); e) return JsonError(e);
    if (pointer.empty()) {
      absl::StatusOr<Value> v = Convert(doc);
      if (!v.ok()) return v.status();
      return std::optional<Value>(*std::move(v));
    }
    od::value v;
    const simdjson::error_code e =
        doc.at_pointer(std::string_view(pointer.data(), pointer.size())).get(v);
    if (NothingAt(e)) return std::nullopt;
    if (e) return JsonError(e);
    absl::StatusOr<Value> out = Convert(v);
    if (!out.ok()) return out.status();
    return std::optional<Value>(*std::move(out));
  }
  dom::element v;
  const simdjson::error_code e =
      doc_->root.at_pointer(std::string_view(pointer.data(), pointer.size())).get(v);
  if (NothingAt(e)) return std::nullopt;
  if (e) return JsonError(e);
  return std::optional<Value>(ValueOf(v));
}

dom::element ParsedJson::root() const { return doc_->root; }

size_t ParsedJson::capacity_bytes() const {
  // The tape holds 8 bytes per token (at most one per byte of text), the
  // string buffer a little over the text's size.
  const size_t capacity = doc_->doc.capacity();
  return capacity == 0 ? 0 : capacity * 8 + capacity * 5 / 3 + simdjson::SIMDJSON_PADDING;
}

void ParsedJson::Release() {
  doc_ = std::make_unique<Document>();
  fallback_.clear();
  status_ = absl::FailedPreconditionError("nothing parsed");
  empty_ = true;
}

absl::StatusOr<Value> ParseJsonValue(absl::string_view text) {
  ParsedJson parsed;
  parsed.Parse(text);
  if (!parsed.status().ok()) return parsed.status();
  return ValueOf(parsed.root());
}

}  // namespace strata::defined
