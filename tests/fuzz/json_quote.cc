// json_quote: JsonQuote (engine/base/json_quote.h, under the CLI's JSON
// output and the JSON log lines) on arbitrary bytes.
//
// Input: the bytes to quote.
//
// Properties: the output is one JSON string that simdjson parses (so it is
// valid JSON and valid UTF-8 whatever the input); valid UTF-8 input decodes
// back to exactly itself; invalid input decodes to valid UTF-8 no longer than
// three bytes per input byte (each invalid byte becomes U+FFFD).
#include "engine/base/json_quote.h"

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "simdjson.h"
#include "tests/fuzz/fuzz_targets.h"

namespace strata::fuzz {

int FuzzJsonQuote(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string quoted = JsonQuote(absl::string_view(bytes.data(), bytes.size()));
  static simdjson::dom::parser* parser = new simdjson::dom::parser;
  std::string_view decoded;
  const simdjson::error_code error = parser->parse(quoted).get(decoded);
  STRATA_FUZZ_CHECK(error == simdjson::SUCCESS,
                    "not a JSON string: ", simdjson::error_message(error));
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
    STRATA_FUZZ_CHECK(decoded == bytes, "valid UTF-8 did not round-trip");
  } else {
    STRATA_FUZZ_CHECK(decoded.size() <= 3 * bytes.size(), "decoded text too long");
  }
  return 0;
}

}  // namespace strata::fuzz
