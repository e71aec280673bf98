// The append validation of validate.h: UTF-8 well-formedness, stream names,
// and an append's events against the Limits (count, sizes, names, event ids).
#include "engine/base/validate.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace strata::internal {

size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

namespace {

absl::Status ValidateName(absl::string_view value, absl::string_view field, size_t max_bytes,
                          bool allow_empty) {
  if (value.empty()) {
    if (allow_empty) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not be empty"));
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", value.size(),
                                                   " bytes, more than the limit of ", max_bytes));
  }
  if (value.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not contain NUL"));
  }
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not valid UTF-8"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateStreamName(absl::string_view stream, absl::string_view field) {
  return ValidateName(stream, field, kStreamNameBytesMax, /*allow_empty=*/false);
}

absl::Status ValidateEvents(const std::vector<NewEvent>& events, const Limits& limits) {
  if (events.empty()) {
    return absl::InvalidArgumentError("events: an append needs at least one event");
  }
  if (events.size() > limits.events_per_append_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("events: ", events.size(), " events, more than the limit of ",
                     limits.events_per_append_max, " per append"));
  }
  size_t total_bytes = 0;
  absl::flat_hash_map<EventId, size_t> seen_ids;
  for (size_t i = 0; i < events.size(); ++i) {
    const NewEvent& e = events[i];
    const std::string field = absl::StrCat("events[", i, "]");
    absl::Status s = ValidateName(e.type, field + ".type", kEventTypeBytesMax, false);
    if (!s.ok()) return s;
    s = ValidateName(e.content_type, field + ".content_type", kContentTypeBytesMax, true);
    if (!s.ok()) return s;
    const size_t bytes = e.data.size() + e.metadata.size() + e.type.size() + e.content_type.size();
    if (bytes > limits.event_bytes_max) {
      return absl::ResourceExhaustedError(
          absl::StrCat(field, ": ", bytes, " bytes (data + metadata + type + content_type), ",
                       "more than the limit of ", limits.event_bytes_max));
    }
    total_bytes += bytes;
    if (e.event_id.has_value()) {
      if (e.event_id->IsNil()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".event_id: the nil UUID is not a valid event id"));
      }
      auto [it, inserted] = seen_ids.emplace(*e.event_id, i);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".event_id: ",
                                                       e.event_id->ToString(),
                                                       " repeats events[", it->second, "]"));
      }
    }
  }
  if (total_bytes > limits.append_bytes_max) {
    return absl::ResourceExhaustedError(absl::StrCat("events: ", total_bytes,
                                                     " bytes in one append, more than the limit of ",
                                                     limits.append_bytes_max));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
