// The strata CLI's output helpers (output.h): JsonWriter, Table, time and number
// formatting, base64 and the progress display.
#include "tools/commands/output.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace strata::cli {
namespace {

constexpr char kTimeExactFormat[] = "%Y-%m-%dT%H:%M:%E6SZ";

}  // namespace

// ---- JsonWriter ----

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  out_ += JsonQuote(key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(absl::string_view value) {
  BeforeValue();
  out_ += JsonQuote(value);
  return *this;
}
JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}
JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
  } else {
    absl::StrAppend(&out_, value);
  }
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}
JsonWriter& JsonWriter::Raw(absl::string_view json) {
  BeforeValue();
  out_.append(json.data(), json.size());
  return *this;
}

// ---- Table ----

Table::Table(std::vector<std::string> header)
    : header_(std::move(header)), right_(header_.size(), false) {}

void Table::AlignRight(size_t column) {
  if (column < right_.size()) right_[column] = true;
}

void Table::AddRow(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> width(header_.size(), 0);
  for (size_t c = 0; c < header_.size(); ++c) width[c] = DisplayWidth(header_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], DisplayWidth(row[c]));
  }
  std::string out;
  auto render_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const size_t pad = width[c] - DisplayWidth(row[c]);
      const bool last = c + 1 == row.size();
      if (right_[c]) {
        line.append(pad, ' ');
        line += row[c];
      } else {
        line += row[c];
        if (!last) line.append(pad, ' ');
      }
      if (!last) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out.push_back('\n');
  };
  render_row(header_);
  for (const auto& row : rows_) render_row(row);
  return out;
}

size_t DisplayWidth(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Truncate(absl::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool lead = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (lead && ++n > width - 3) break;
    out.push_back(text[i]);
  }
  return out + "...";
}

// ---- Time, numbers, base64 ----

std::string FormatTimeExact(int64_t unix_us) {
  return absl::FormatTime(kTimeExactFormat, absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

std::optional<int64_t> ParseTimeExact(absl::string_view text) {
  if (text.empty() || text.back() != 'Z') return std::nullopt;
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", std::string(text), absl::UTCTimeZone(), &t,
                       &error)) {
    return std::nullopt;
  }
  // Exact only: the text must be what FormatTimeExact writes.
  const int64_t us = absl::ToUnixMicros(t);
  if (FormatTimeExact(us) != text) return std::nullopt;
  return us;
}

std::string FormatTimeHuman(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

std::string FormatCount(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<uint64_t>(std::llround(seconds));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string Base64Encode(absl::string_view bytes) { return absl::Base64Escape(bytes); }

std::optional<std::string> Base64Decode(absl::string_view text) {
  std::string out;
  if (!absl::Base64Unescape(text, &out)) return std::nullopt;
  // Canonical form only, so that decoding is the exact inverse of encoding.
  if (absl::Base64Escape(out) != text) return std::nullopt;
  return out;
}

// ---- Progress ----

Progress::Progress(std::string label, bool tty, absl::Duration plain_interval)
    : label_(std::move(label)), tty_(tty), plain_interval_(plain_interval) {}

void Progress::Update(uint64_t done, uint64_t total, double rate,
                      std::optional<double> seconds_left, absl::string_view unit) {
  const absl::Time now = absl::Now();
  const bool complete = total > 0 && done >= total;
  if (tty_) {
    if (now - last_draw_ < absl::Milliseconds(100) && !complete) return;
  } else if (now - last_draw_ < plain_interval_ && !complete) {
    return;
  }
  last_draw_ = now;
  const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / total);
  const int percent = static_cast<int>(fraction * 100);
  std::string rate_text =
      rate > 0 ? absl::StrCat(FormatCount(static_cast<uint64_t>(rate)), " ", unit, "/s")
               : absl::StrCat("- ", unit, "/s");
  std::string left_text =
      seconds_left.has_value() ? absl::StrCat(FormatSeconds(*seconds_left), " left") : "";
  if (tty_) {
    constexpr int kBarWidth = 30;
    const int filled = static_cast<int>(fraction * kBarWidth);
    std::string bar =
        absl::StrCat("[", std::string(filled, '#'), std::string(kBarWidth - filled, '.'), "]");
    std::string line = absl::StrFormat("\r%s %s %3d%%  %s/%s  %s  %s\x1b[K", label_, bar, percent,
                                       FormatCount(done), FormatCount(total), rate_text, left_text);
    WriteAll(stderr, line);
    drawn_ = true;
  } else {
    std::string line = absl::StrFormat("%s: %d%% (%s/%s %s), %s", label_, percent,
                                       FormatCount(done), FormatCount(total), unit, rate_text);
    if (!left_text.empty()) absl::StrAppend(&line, ", ", left_text);
    WriteAll(stderr, line + "\n");
  }
  std::fflush(stderr);
}

void Progress::Finish(absl::string_view line) {
  if (tty_ && drawn_) WriteAll(stderr, "\n");
  drawn_ = false;
  if (!line.empty()) WriteAll(stderr, absl::StrCat(line, "\n"));
  std::fflush(stderr);
}

void WriteAll(std::FILE* f, absl::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    const size_t n = std::fwrite(text.data() + done, 1, text.size() - done, f);
    if (n == 0) return;  // EPIPE or a full disk: the caller checks ferror
    done += n;
  }
}

}  // namespace strata::cli
