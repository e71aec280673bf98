// The row layout of rows.h: key encoding and decoding (escaped parts, field
// keys), GetRow, ScanRows by prefix and range with page resumption, and the
// skip bookkeeping read back as SkipInfo.
#include "projections/defined/rows.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"

namespace strata::defined {
namespace {

constexpr char kEscape = '\x03';
constexpr absl::string_view kBookkeepingPrefix("\x03~", 2);

absl::Status Malformed(absl::string_view key) {
  return absl::DataLossError(absl::StrCat("defined projection key '", absl::CHexEscape(key),
                                          "' is malformed"));
}

// Splits a state key into its row's encoded key and the field's kind and name.
bool SplitFieldKey(absl::string_view state_key, absl::string_view* row, char* kind,
                   absl::string_view* field) {
  const size_t marker = state_key.find(kFieldMarker);
  if (marker == absl::string_view::npos || marker + 1 >= state_key.size()) return false;
  *row = state_key.substr(0, marker);
  *kind = state_key[marker + 1];
  *field = state_key.substr(marker + 2);
  return *kind == kCounterField || *kind == kValueField;
}

absl::StatusOr<Value> DecodeField(char kind, absl::string_view stored) {
  if (kind == kCounterField) {
    std::optional<uint64_t> counter = DecodeCounter(stored);
    if (!counter.has_value()) return absl::DataLossError("defined projection counter is malformed");
    return Value::Int(static_cast<int64_t>(*counter));
  }
  return DecodeValue(stored);
}

// Collects consecutive fields into rows.
class RowBuilder {
 public:
  // Adds one field; false with `error` set on a malformed entry.
  absl::Status Add(absl::string_view state_key, absl::string_view stored) {
    absl::string_view row;
    absl::string_view field;
    char kind = 0;
    if (!SplitFieldKey(state_key, &row, &kind, &field)) return Malformed(state_key);
    if (rows_.empty() || row != current_) {
      std::optional<std::vector<std::string>> parts = DecodeKey(row);
      if (!parts.has_value()) return Malformed(state_key);
      rows_.push_back(Row{*std::move(parts), {}});
      current_ = std::string(row);
    }
    STRATA_ASSIGN_OR_RETURN(Value v, DecodeField(kind, stored));
    rows_.back().values.emplace(std::string(field), std::move(v));
    return absl::OkStatus();
  }
  const std::string& current() const { return current_; }
  std::vector<Row>& rows() { return rows_; }

 private:
  std::vector<Row> rows_;
  std::string current_;
};

}  // namespace

void AppendKeyPart(absl::string_view part, std::string* out) {
  for (char c : part) {
    if (static_cast<unsigned char>(c) <= 0x03) {
      out->push_back(kEscape);
      out->push_back(static_cast<char>('0' + c));
    } else {
      out->push_back(c);
    }
  }
}

std::string EncodeKey(absl::Span<const std::string> parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.push_back(kPartSeparator);
    AppendKeyPart(parts[i], &out);
  }
  return out;
}

std::optional<std::vector<std::string>> DecodeKey(absl::string_view encoded) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == kPartSeparator) {
      parts.emplace_back();
    } else if (c == kEscape) {
      if (i + 1 >= encoded.size() || encoded[i + 1] < '0' || encoded[i + 1] > '3') {
        return std::nullopt;
      }
      parts.back().push_back(static_cast<char>(encoded[++i] - '0'));
    } else if (c == kFieldMarker || c == '\0') {
      return std::nullopt;
    } else {
      parts.back().push_back(c);
    }
  }
  return parts;
}

void AppendFieldKey(absl::string_view encoded_key, char kind, absl::string_view field,
                    std::string* out) {
  out->append(encoded_key.data(), encoded_key.size());
  out->push_back(kFieldMarker);
  out->push_back(kind);
  out->append(field.data(), field.size());
}

std::string FieldKey(absl::string_view encoded_key, char kind, absl::string_view field) {
  std::string out;
  out.reserve(encoded_key.size() + 2 + field.size());
  AppendFieldKey(encoded_key, kind, field, &out);
  return out;
}

absl::StatusOr<std::optional<Row>> GetRow(const StateReader& state,
                                          absl::Span<const std::string> key) {
  std::string prefix = EncodeKey(key);
  prefix.push_back(kFieldMarker);
  RowBuilder builder;
  absl::Status error;
  STRATA_RETURN_IF_ERROR(state.Scan(prefix, [&](absl::string_view k, absl::string_view v) {
    error = builder.Add(k, v);
    return error.ok();
  }));
  STRATA_RETURN_IF_ERROR(error);
  if (builder.rows().empty()) return std::nullopt;
  return std::move(builder.rows().front());
}

absl::StatusOr<ScanResult> ScanRows(const StateReader& state, const ScanRange& range) {
  // Parts are tested as vectors: [""] encodes to "", which is a real key.
  const bool has_prefix = !range.prefix.empty();
  const bool has_end = !range.end.empty();
  const std::string prefix = has_prefix ? EncodeKey(range.prefix) : "";
  std::string start = range.start.empty() ? prefix : EncodeKey(range.start);
  if (range.after.has_value()) {
    // Past every field of that row: its fields are after + 0x01 + [cv] + name.
    start = std::max(start, absl::StrCat(*range.after, "\x01\xff"));
  }
  const std::string end = has_end ? EncodeKey(range.end) : "";
  ScanResult result;
  RowBuilder builder;
  absl::Status error;
  STRATA_RETURN_IF_ERROR(
      state.ScanFrom(prefix, start, [&](absl::string_view k, absl::string_view v) {
        if (!has_prefix && absl::StartsWith(k, kBookkeepingPrefix)) return true;
        if (has_prefix) {
          // The prefix must end at a part boundary: ["a"] is no prefix of ["ab"],
          // and past the boundary bytes no key of the prefix follows.
          const char next = k[prefix.size()];
          if (next != kFieldMarker && next != kPartSeparator) {
            return static_cast<unsigned char>(next) < static_cast<unsigned char>(kPartSeparator);
          }
        }
        const absl::string_view row = k.substr(0, k.find(kFieldMarker));
        if (has_end && row >= end) return false;
        if (builder.rows().size() == range.limit && row != builder.current()) {
          result.more = true;
          result.last = builder.current();
          return false;
        }
        error = builder.Add(k, v);
        return error.ok();
      }));
  STRATA_RETURN_IF_ERROR(error);
  result.rows = std::move(builder.rows());
  return result;
}

absl::StatusOr<SkipInfo> ReadSkipInfo(const StateReader& state) {
  SkipInfo info;
  STRATA_ASSIGN_OR_RETURN(info.skipped, state.GetCounter(kSkippedCountKey));
  for (auto [key, out] : {std::pair{kFirstSkippedKey, &info.first},
                          std::pair{kLastSkippedKey, &info.last}}) {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored, state.Get(key));
    if (!stored.has_value()) continue;
    STRATA_ASSIGN_OR_RETURN(Value v, DecodeValue(*stored));
    *out = static_cast<GlobalPosition>(v.i);
  }
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> error, state.Get(kLastSkipErrorKey));
  if (error.has_value()) {
    STRATA_ASSIGN_OR_RETURN(Value v, DecodeValue(*error));
    info.last_error = v.text;
  }
  return info;
}

}  // namespace strata::defined
