// JSON string literals for everything Strata writes as JSON (the CLI's
// output, JSON log lines). Thread-safe (a pure function).
#ifndef STRATA_ENGINE_BASE_JSON_QUOTE_H_
#define STRATA_ENGINE_BASE_JSON_QUOTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace strata {

// `text` as a JSON string literal, quotes included. Invalid UTF-8 bytes become
// U+FFFD so the output is always valid JSON.
std::string JsonQuote(absl::string_view text);
// The same, appended to `out` (no temporary string).
void AppendJsonQuoted(absl::string_view text, std::string* out);

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_JSON_QUOTE_H_
