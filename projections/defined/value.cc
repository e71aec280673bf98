// Value (value.h): its constructors and Kind, the tagged stored form of values
// and set documents, and values as JSON text (ToJson, FormatDouble).
#include "projections/defined/value.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/base/json_quote.h"

namespace strata::defined {
namespace {

void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool GetLengthPrefixed(absl::string_view* in, absl::string_view* out) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

absl::Status Malformed(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("defined projection value is malformed: ", what));
}

}  // namespace

Value Value::Int(int64_t v) {
  Value out;
  out.type = Type::kInt;
  out.i = v;
  out.text.clear();
  return out;
}
Value Value::Double(double v) {
  Value out;
  out.type = Type::kDouble;
  out.d = v;
  out.text.clear();
  return out;
}
Value Value::String(std::string v) {
  Value out;
  out.type = Type::kString;
  out.text = std::move(v);
  return out;
}
Value Value::Bool(bool v) {
  Value out;
  out.type = Type::kBool;
  out.b = v;
  out.text.clear();
  return out;
}
Value Value::Json(std::string v) {
  Value out;
  out.type = Type::kJson;
  out.text = std::move(v);
  return out;
}

const char* Value::Kind() const {
  switch (type) {
    case Type::kInt:
    case Type::kDouble:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kBool:
      return "a boolean";
    case Type::kJson:
      if (!text.empty() && text[0] == '{') return "an object";
      if (!text.empty() && text[0] == '[') return "an array";
      return "null";
  }
  return "?";
}

std::string EncodeValue(const Value& value) {
  std::string out;
  switch (value.type) {
    case Value::Type::kInt:
      out.push_back('i');
      PutFixed64(&out, static_cast<uint64_t>(value.i));
      break;
    case Value::Type::kDouble: {
      out.push_back('d');
      uint64_t bits = 0;
      std::memcpy(&bits, &value.d, sizeof bits);
      PutFixed64(&out, bits);
      break;
    }
    case Value::Type::kBool:
      out.push_back('b');
      out.push_back(value.b ? '\x01' : '\x00');
      break;
    case Value::Type::kString:
      out = absl::StrCat("s", value.text);
      break;
    case Value::Type::kJson:
      out = absl::StrCat("j", value.text);
      break;
  }
  return out;
}

absl::StatusOr<Value> DecodeValue(absl::string_view stored) {
  if (stored.empty()) return Malformed("empty");
  const char tag = stored[0];
  absl::string_view payload = stored.substr(1);
  switch (tag) {
    case 'i':
      if (payload.size() != 8) return Malformed("integer size");
      return Value::Int(static_cast<int64_t>(GetFixed64(payload.data())));
    case 'd': {
      if (payload.size() != 8) return Malformed("double size");
      const uint64_t bits = GetFixed64(payload.data());
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      return Value::Double(d);
    }
    case 'b':
      if (payload.size() != 1) return Malformed("boolean size");
      return Value::Bool(payload[0] != 0);
    case 's':
      return Value::String(std::string(payload));
    case 'j':
      return Value::Json(std::string(payload));
    case 'o': {
      absl::StatusOr<Document> doc = DecodeDocument(stored);
      if (!doc.ok()) return doc.status();
      std::string json = "{";
      bool first = true;
      for (const auto& [name, field] : *doc) {
        absl::StatusOr<Value> v = DecodeValue(field);
        if (!v.ok()) return v.status();
        absl::StrAppend(&json, first ? "" : ",", JsonQuote(name), ":", ToJson(*v));
        first = false;
      }
      json.push_back('}');
      return Value::Json(std::move(json));
    }
    default:
      return Malformed(absl::StrCat("unknown tag ", static_cast<int>(tag)));
  }
}

std::string EncodeDocument(const Document& doc) {
  std::string out = "o";
  for (const auto& [name, value] : doc) {
    PutVarint(&out, name.size());
    out.append(name);
    PutVarint(&out, value.size());
    out.append(value);
  }
  return out;
}

absl::StatusOr<Document> DecodeDocument(absl::string_view stored) {
  if (stored.empty() || stored[0] != 'o') return Malformed("not a document");
  absl::string_view in = stored.substr(1);
  Document doc;
  while (!in.empty()) {
    absl::string_view name;
    absl::string_view value;
    if (!GetLengthPrefixed(&in, &name) || !GetLengthPrefixed(&in, &value)) {
      return Malformed("document field");
    }
    doc.emplace(std::string(name), std::string(value));
  }
  return doc;
}

std::string FormatDouble(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "null";
  return std::string(buf, end);
}

std::string ToJson(const Value& value) {
  switch (value.type) {
    case Value::Type::kInt:
      return absl::StrCat(value.i);
    case Value::Type::kDouble:
      return FormatDouble(value.d);
    case Value::Type::kBool:
      return value.b ? "true" : "false";
    case Value::Type::kString:
      return JsonQuote(value.text);
    case Value::Type::kJson:
      return value.text;
  }
  return "null";
}

}  // namespace strata::defined
