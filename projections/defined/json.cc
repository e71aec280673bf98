#include "projections/defined/json.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace strata::defined {
namespace {

namespace dom = simdjson::dom;

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
  const simdjson::error_code e =
      ThreadParser().parse_into_document(doc_->doc, text.data(), text.size()).get(doc_->root);
  status_ = e ? JsonError(e) : absl::OkStatus();
}

absl::StatusOr<std::optional<Value>> ParsedJson::Find(absl::string_view pointer) const {
  if (!status_.ok()) return status_;
  dom::element v;
  const simdjson::error_code e =
      doc_->root.at_pointer(std::string_view(pointer.data(), pointer.size())).get(v);
  if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS) return std::nullopt;
  if (e == simdjson::INCORRECT_TYPE) return std::nullopt;  // e.g. /a/b where /a is a number
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
