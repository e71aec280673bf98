// Reading JSON for defined projections, with simdjson.
//
// ParsedJson holds one JSON text parsed whole (simdjson's DOM, which validates
// all of it) and answers any number of JSON pointer lookups on it, each
// converted to a Value (numbers: integers that fit int64 as kInt, others as
// kDouble; objects and arrays as their minified JSON text; null as "null").
// Once parsed it does not change, so any number of threads may read it: an
// event read by several defined projections is parsed once (json_events.h).
//
// Thread-safety: Parse needs exclusive access; the const methods may run on
// any number of threads at once. ParseJsonValue is pure.
#ifndef STRATA_PROJECTIONS_DEFINED_JSON_H_
#define STRATA_PROJECTIONS_DEFINED_JSON_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "projections/defined/value.h"

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace strata::defined {

// The whole of `text` as one value; InvalidArgument when it is not JSON.
absl::StatusOr<Value> ParseJsonValue(absl::string_view text);

class ParsedJson {
 public:
  ParsedJson();
  ~ParsedJson();
  ParsedJson(const ParsedJson&) = delete;
  ParsedJson& operator=(const ParsedJson&) = delete;

  // Parses `text`, replacing what was parsed before (its memory is reused).
  void Parse(absl::string_view text);
  // Whether the text parsed was empty (status() is then an error too).
  bool empty() const { return empty_; }
  // OK, or InvalidArgument "invalid JSON: ..." when the text is not JSON.
  const absl::Status& status() const { return status_; }
  // The value at `pointer` ("" is the whole text), or nullopt when nothing is
  // there; status() when the text is not JSON.
  absl::StatusOr<std::optional<Value>> Find(absl::string_view pointer) const;
  // Whether the text has a DOM: false when status() is not OK, and for valid
  // JSON holding a number simdjson's DOM cannot (an integer beyond 64 bits,
  // 1e400), whose fields Find reads one by one instead.
  bool has_dom() const { return status_.ok() && fallback_.empty(); }
  // The root of the parsed text; only when has_dom().
  simdjson::dom::element root() const;
  // Memory held for the parsed form, in bytes (an estimate from simdjson's
  // capacity), and its release (nothing is parsed after it).
  size_t capacity_bytes() const;
  void Release();

 private:
  struct Document;
  std::unique_ptr<Document> doc_;
  std::string fallback_;  // the text, when it has no DOM
  absl::Status status_ = absl::FailedPreconditionError("nothing parsed");
  bool empty_ = true;
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_JSON_H_
