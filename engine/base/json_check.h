// CheckJson: whether a text is exactly one JSON value (RFC 8259), checked
// with simdjson.
//
// simdjson's DOM parser refuses numbers it cannot hold in 64 bits (an integer
// like 123456789012345678901234567890, 1e400), which are valid JSON. When
// that is its only complaint, CheckJson walks the text again with On-Demand,
// checking each number's spelling against RFC 8259's grammar instead of
// converting it. Thread-safe (each thread has its own parsers).
#ifndef STRATA_ENGINE_BASE_JSON_CHECK_H_
#define STRATA_ENGINE_BASE_JSON_CHECK_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace strata {

// OK, or InvalidArgument with simdjson's reason. `depth_max`: the deepest
// nesting of arrays and objects accepted (1: one level, as in {"a":1}).
absl::Status CheckJson(absl::string_view text, size_t depth_max);

// Whether `token` is a JSON number as RFC 8259 spells it.
bool IsJsonNumber(absl::string_view token);

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_JSON_CHECK_H_
