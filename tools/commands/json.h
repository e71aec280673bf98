// A strict JSON (RFC 8259) parser for the strata CLI's import: it keeps each
// value's exact source text (so embedded JSON payloads round-trip byte for
// byte), decodes strings, and checks UTF-8. Thread-safe (pure functions).
#ifndef STRATA_TOOLS_COMMANDS_JSON_H_
#define STRATA_TOOLS_COMMANDS_JSON_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::cli {

struct JsonMember;

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  absl::string_view raw;     // the value's exact text; points into the parsed input
  std::string string_value;  // kString: the decoded string
  bool bool_value = false;
  std::vector<JsonMember> members;  // kObject, in input order
  std::vector<JsonValue> elements;                         // kArray

  // The member named `key`, or null.
  const JsonValue* Find(absl::string_view key) const;
};

// A member of an object. (A struct, not std::pair: a pair of an incomplete
// JsonValue inside JsonValue itself is not valid C++, and clang refuses it.)
struct JsonMember {
  std::string key;
  JsonValue value;
};

// Deepest nesting of arrays and objects accepted by ParseJson.
inline constexpr int kJsonDepthMax = 256;

// Parses one JSON text: a value with optional whitespace around it.
// InvalidArgument with the reason and the byte offset ("at byte 17: ...").
// The result's `raw` views point into `text`, which must outlive it.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// True when `bytes` can be embedded verbatim as a value in one NDJSON line and
// read back byte for byte: it is valid JSON (UTF-8, nesting at most
// kJsonDepthMax - 8), has no whitespace around the value, no line breaks at
// all, and is not the literal `null` (which stands for empty bytes).
bool IsEmbeddableJson(absl::string_view bytes);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_JSON_H_
