// Reading JSON for defined projections, with simdjson.
//
// JsonReader indexes one JSON text once (simdjson On-Demand) and then answers
// any number of JSON pointer lookups on it, each converted to a Value at once
// (numbers: integers that fit int64 as kInt, others as kDouble; objects,
// arrays and null as their JSON text).
//
// Thread-safety: a JsonReader belongs to one thread; ParseJsonValue is pure.
#ifndef STRATA_PROJECTIONS_DEFINED_JSON_H_
#define STRATA_PROJECTIONS_DEFINED_JSON_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "projections/defined/value.h"

namespace strata::defined {

// The whole of `text` as one value; InvalidArgument when it is not JSON.
absl::StatusOr<Value> ParseJsonValue(absl::string_view text);

class JsonReader {
 public:
  JsonReader();
  ~JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Indexes `text` (copied). The error, if it is not JSON, comes from Find.
  void Reset(absl::string_view text);
  // The value at `pointer` ("" is the whole text), or nullopt when nothing is
  // there. InvalidArgument when the text is not valid JSON ("invalid JSON: ...").
  absl::StatusOr<std::optional<Value>> Find(absl::string_view pointer);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_JSON_H_
