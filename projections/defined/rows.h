// How a defined projection's rows are laid out in its state (projection.h's
// key/value store), and reading them back.
//
// A row is a key (1-8 string parts) and fields. Each field is one state key:
//   EncodeKey(parts) 0x01 'c' field -> 8-byte counter (count)
//   EncodeKey(parts) 0x01 'v' field -> a stored Value (value.h)
// EncodeKey joins the parts with 0x02 after escaping the bytes 0x00-0x03 of
// each (0x03 then '0'+byte), so a row's fields are contiguous, a key sorts
// before the longer keys it is a prefix of (["a"] < ["a","b"] < ["ab"]), and
// scanning by a prefix of parts is a prefix scan. Keys starting "\x03~" (which
// EncodeKey never produces) hold the projection's own bookkeeping: the bad
// events it skipped.
//
// Thread-safety: pure functions over a StateReader.
#ifndef STRATA_PROJECTIONS_DEFINED_ROWS_H_
#define STRATA_PROJECTIONS_DEFINED_ROWS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/event.h"
#include "projections/defined/value.h"
#include "projections/projection.h"

namespace strata::defined {

inline constexpr char kPartSeparator = '\x02';
inline constexpr char kFieldMarker = '\x01';
inline constexpr char kCounterField = 'c';
inline constexpr char kValueField = 'v';

// Bookkeeping keys.
inline constexpr char kSkippedCountKey[] = "\x03~skipped";          // counter
inline constexpr char kFirstSkippedKey[] = "\x03~first_skipped";    // 'i' position
inline constexpr char kLastSkippedKey[] = "\x03~last_skipped";      // 'i' position
inline constexpr char kLastSkipErrorKey[] = "\x03~last_skip_error";  // 's' message

std::string EncodeKey(absl::Span<const std::string> parts);
// Appends one part of a key (escaped, without a separator) to `out`.
void AppendKeyPart(absl::string_view part, std::string* out);
// nullopt when `encoded` is not an EncodeKey result.
std::optional<std::vector<std::string>> DecodeKey(absl::string_view encoded);
// The state key of `field` in the row at `encoded_key`; AppendFieldKey
// appends it to `out`.
std::string FieldKey(absl::string_view encoded_key, char kind, absl::string_view field);
void AppendFieldKey(absl::string_view encoded_key, char kind, absl::string_view field,
                    std::string* out);

struct Row {
  std::vector<std::string> key;
  std::map<std::string, Value> values;
  friend bool operator==(const Row&, const Row&) = default;
};

// The row at `key`, or nullopt when it has no field.
absl::StatusOr<std::optional<Row>> GetRow(const StateReader& state,
                                          absl::Span<const std::string> key);

struct ScanRange {
  std::vector<std::string> prefix;  // parts every row's key starts with
  std::vector<std::string> start;   // from this key, inclusive (empty: the prefix's first)
  std::vector<std::string> end;     // to this key, exclusive (empty: the prefix's last)
  std::optional<std::string> after;  // resume after this encoded key (a page token's)
  size_t limit = 100;
};

struct ScanResult {
  std::vector<Row> rows;
  bool more = false;  // rows follow the last one
  std::string last;   // encoded key of the last row, when `more`
};

absl::StatusOr<ScanResult> ScanRows(const StateReader& state, const ScanRange& range);

struct SkipInfo {
  uint64_t skipped = 0;
  GlobalPosition first = 0;
  GlobalPosition last = 0;
  std::string last_error;
};
absl::StatusOr<SkipInfo> ReadSkipInfo(const StateReader& state);

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_ROWS_H_
