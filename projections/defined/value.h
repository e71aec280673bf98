// A value in a defined projection's row, and how it is stored.
//
// Stored form (a value under a field's 'v' key, see rows.h): one tag byte and
// the payload: 'i' int64 (8 bytes, little-endian), 'd' double (8 bytes, its
// IEEE bits little-endian), 'b' bool (1 byte), 's' UTF-8 string, 'j' JSON text
// (null, arrays, objects from first/last), 'o' a document written by set: a
// sequence of (varint name length, name, varint value length, stored value)
// sorted by name. Count fields are plain 8-byte counters (projection.h).
//
// Thread-safety: plain values.
#ifndef STRATA_PROJECTIONS_DEFINED_VALUE_H_
#define STRATA_PROJECTIONS_DEFINED_VALUE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::defined {

struct Value {
  enum class Type { kInt, kDouble, kString, kBool, kJson } type = Type::kJson;
  int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string text = "null";  // kString: the string; kJson: JSON text

  static Value Int(int64_t v);
  static Value Double(double v);
  static Value String(std::string v);
  static Value Bool(bool v);
  static Value Json(std::string v);

  bool IsNumber() const { return type == Type::kInt || type == Type::kDouble; }
  double AsDouble() const { return type == Type::kInt ? static_cast<double>(i) : d; }
  // "a string", "a number", "a boolean", "null", "an object", "an array"
  const char* Kind() const;
  friend bool operator==(const Value&, const Value&) = default;
};

// A document's fields by name, each a stored value.
using Document = std::map<std::string, std::string>;

std::string EncodeValue(const Value& value);
// DataLoss when `stored` is malformed. A document ('o') decodes to kJson.
absl::StatusOr<Value> DecodeValue(absl::string_view stored);

std::string EncodeDocument(const Document& doc);
absl::StatusOr<Document> DecodeDocument(absl::string_view stored);  // 'o' payload with tag

// JSON text of `value` (strings quoted and escaped, doubles shortest round trip).
std::string ToJson(const Value& value);
// The shortest text that reads back as `v` ("0.1", "1e+300"; "NaN" never
// occurs: JSON has none).
std::string FormatDouble(double v);

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_VALUE_H_
