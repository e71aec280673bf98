// Metastream names, the tombstone error, and $metadata JSON (stream_metadata.h)
// read with simdjson: $tb, $maxCount and $maxAge parsed, and the object
// rewritten with a new $tb.
#include "engine/stream_metadata.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/json_quote.h"
#include "simdjson.h"

namespace strata {
namespace {

constexpr absl::string_view kTruncateBefore = "$tb";
constexpr absl::string_view kMaxCount = "$maxCount";
constexpr absl::string_view kMaxAge = "$maxAge";

absl::StatusOr<simdjson::dom::object> ParseObject(simdjson::dom::parser& parser,
                                                  absl::string_view json, absl::string_view field) {
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root); error) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": stream metadata is not valid JSON (",
                                                   simdjson::error_message(error), ")"));
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": stream metadata must be a JSON object"));
  }
  return object;
}

// A non-negative integer of at least `min`, or an error naming field.key.
absl::StatusOr<uint64_t> IntegerAtLeast(simdjson::dom::element value, absl::string_view field,
                                        absl::string_view key, uint64_t min) {
  uint64_t n = 0;
  if (value.get(n) != simdjson::SUCCESS || n < min) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".", key, ": must be an integer >= ", min,
                                                   ", not ", simdjson::minify(value)));
  }
  return n;
}

}  // namespace

std::string MetastreamOf(absl::string_view stream) {
  return absl::StrCat(kMetastreamPrefix, stream);
}

std::optional<absl::string_view> StreamOfMetastream(absl::string_view metastream) {
  if (!absl::StartsWith(metastream, kMetastreamPrefix) ||
      metastream.size() == kMetastreamPrefix.size()) {
    return std::nullopt;
  }
  return metastream.substr(kMetastreamPrefix.size());
}

absl::Status TombstonedError(absl::string_view stream, GlobalPosition position) {
  return absl::FailedPreconditionError(
      absl::StrCat("stream '", stream, "' is deleted (tombstoned at position ", position, ")"));
}

absl::StatusOr<StreamMetadata> ParseStreamMetadata(absl::string_view json,
                                                   absl::string_view field) {
  simdjson::dom::parser parser;
  absl::StatusOr<simdjson::dom::object> object = ParseObject(parser, json, field);
  if (!object.ok()) return object.status();
  StreamMetadata metadata;
  for (auto [key, value] : *object) {
    const absl::string_view k(key.data(), key.size());
    if (k == kTruncateBefore) {
      absl::StatusOr<uint64_t> n = IntegerAtLeast(value, field, k, 0);
      if (!n.ok()) return n.status();
      metadata.truncate_before = *n;
    } else if (k == kMaxCount) {
      absl::StatusOr<uint64_t> n = IntegerAtLeast(value, field, k, 1);
      if (!n.ok()) return n.status();
      metadata.max_count = *n;
    } else if (k == kMaxAge) {
      absl::StatusOr<uint64_t> n = IntegerAtLeast(value, field, k, 1);
      if (!n.ok()) return n.status();
      metadata.max_age_seconds = *n;
    }
  }
  return metadata;
}

std::string WithTruncateBefore(absl::string_view json, StreamVersion truncate_before) {
  std::string out = absl::StrCat("{\"", kTruncateBefore, "\":", truncate_before);
  simdjson::dom::parser parser;
  absl::StatusOr<simdjson::dom::object> object =
      json.empty() ? absl::StatusOr<simdjson::dom::object>(absl::NotFoundError("none"))
                   : ParseObject(parser, json, "metadata");
  if (object.ok()) {
    for (auto [key, value] : *object) {
      const absl::string_view k(key.data(), key.size());
      if (k == kTruncateBefore) continue;
      absl::StrAppend(&out, ",", JsonQuote(k), ":", simdjson::minify(value));
    }
  }
  out += "}";
  return out;
}

}  // namespace strata
