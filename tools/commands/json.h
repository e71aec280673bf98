// JSON for the strata CLI's import, read with simdjson: a line is checked
// whole by simdjson's DOM parser (RFC 8259, UTF-8 in strings, nesting depth),
// then its members are read with On-Demand, which gives each value's exact
// source text, so embedded JSON payloads round-trip byte for byte.
// Thread-safe (each thread has its own parsers).
#ifndef STRATA_TOOLS_COMMANDS_JSON_H_
#define STRATA_TOOLS_COMMANDS_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::cli {

// One member of a JSON object.
struct JsonMember {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  std::string key;  // decoded
  Type type = Type::kNull;
  std::string raw;           // the value's exact text
  std::string string_value;  // kString: the decoded string
};

struct JsonObject {
  std::vector<JsonMember> members;  // in input order, duplicates kept

  // The first member named `key`, or null.
  const JsonMember* Find(absl::string_view key) const;
};

// Deepest nesting of arrays and objects accepted.
inline constexpr int kJsonDepthMax = 256;

// Parses one JSON text that must be an object, with optional whitespace
// around it. InvalidArgument "not valid JSON: <simdjson's reason>" or "not a
// JSON object".
absl::StatusOr<JsonObject> ParseJsonObject(absl::string_view text);

// True when `bytes` can be embedded verbatim as a value in one NDJSON line and
// read back byte for byte: it is valid JSON (UTF-8, nesting at most
// kJsonDepthMax - 8), has no whitespace around the value, no line breaks at
// all, and is not the literal `null` (which stands for empty bytes).
bool IsEmbeddableJson(absl::string_view bytes);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_JSON_H_
