// Output helpers of the strata CLI: a compact JSON writer with correct string
// escaping, aligned text tables, time and number formatting, base64, and a
// progress display (a redrawn bar on a terminal, plain lines otherwise).
// Not thread-safe; each object belongs to one thread.
#ifndef STRATA_TOOLS_COMMANDS_OUTPUT_H_
#define STRATA_TOOLS_COMMANDS_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/base/json_quote.h"

namespace strata::cli {

// Builds one compact JSON text. Keys and values are written in call order;
// commas are inserted as needed.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // non-finite: null
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value already in JSON form, written verbatim.
  JsonWriter& Raw(absl::string_view json);

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

using ::strata::JsonQuote;  // engine/base/json_quote.h

// A text table: a header row and data rows, columns padded to their widest
// cell (counted in characters, not bytes), two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  // Columns whose cells are right-aligned (numbers).
  void AlignRight(size_t column);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Characters (UTF-8 code points) in `text`.
size_t DisplayWidth(absl::string_view text);
// `text` cut to `width` characters, with "..." when cut.
std::string Truncate(absl::string_view text, size_t width);

// "2024-03-10T12:00:00.000000Z": exact, for JSON and export.
std::string FormatTimeExact(int64_t unix_us);
// Parses FormatTimeExact's form (any number of fraction digits, 'Z' only).
std::optional<int64_t> ParseTimeExact(absl::string_view text);
// "2024-03-10 12:00:00": for tables (UTC).
std::string FormatTimeHuman(int64_t unix_us);
// 12345 -> "12,345".
std::string FormatCount(uint64_t n);
// 83 -> "1:23"; 3700 -> "1:01:40".
std::string FormatSeconds(double seconds);

std::string Base64Encode(absl::string_view bytes);
// nullopt unless `text` is valid base64 (RFC 4648, padded).
std::optional<std::string> Base64Decode(absl::string_view text);

// Progress of a long operation on stderr: with `tty`, one line redrawn in
// place (at most 10 times a second) with a bar, percent, rate and time left;
// otherwise a plain line at most every `plain_interval`.
class Progress {
 public:
  Progress(std::string label, bool tty, absl::Duration plain_interval = absl::Seconds(1));
  // `rate` in units per second (0: unknown); `seconds_left` when known.
  void Update(uint64_t done, uint64_t total, double rate, std::optional<double> seconds_left,
              absl::string_view unit = "events");
  // Ends the display (a newline after the bar) and prints `line` when given.
  void Finish(absl::string_view line = "");

 private:
  std::string label_;
  bool tty_;
  absl::Duration plain_interval_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool drawn_ = false;
};

// Writes `text` to `f` in full (retrying short writes).
void WriteAll(std::FILE* f, absl::string_view text);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_OUTPUT_H_
