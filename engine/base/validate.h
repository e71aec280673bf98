// Input validation for appends. Thread-safe (pure functions).
#ifndef STRATA_ENGINE_BASE_VALIDATE_H_
#define STRATA_ENGINE_BASE_VALIDATE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "engine/limits.h"

namespace strata::internal {

// Length (1-4) of the well-formed UTF-8 sequence starting at text[i], or 0
// when it is malformed (overlong, surrogate, beyond U+10FFFF, truncated).
// Requires i < text.size().
size_t Utf8SequenceLength(absl::string_view text, size_t i);

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, at
// most U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Checks a stream name: non-empty, <= kStreamNameBytesMax, valid UTF-8, no NUL.
// InvalidArgument naming `field`.
absl::Status ValidateStreamName(absl::string_view stream, absl::string_view field = "stream");

// Checks an append's events against `limits`: count, per-event size, type,
// content type, duplicate ids within the call. InvalidArgument or
// ResourceExhausted naming the field, e.g. "events[3].type".
absl::Status ValidateEvents(const std::vector<NewEvent>& events, const Limits& limits);

}  // namespace strata::internal

#endif  // STRATA_ENGINE_BASE_VALIDATE_H_
