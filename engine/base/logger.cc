// The loggers of logger.h: text or JSON lines, to stderr or a sink.
#include "engine/base/logger.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/json_quote.h"

namespace strata {
namespace {

class SinkLogger : public Logger {
 public:
  SinkLogger(bool json, std::function<void(const std::string&)> sink)
      : json_(json), sink_(std::move(sink)) {}

  void Log(LogLevel level, absl::string_view component, absl::string_view message) override {
    if (json_) {
      sink_(absl::StrCat(
          "{\"ts\":",
          JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone())),
          ",\"level\":\"", LogLevelName(level), "\",\"component\":", JsonQuote(component),
          ",\"msg\":", JsonQuote(message), "}"));
      return;
    }
    // One line whatever the message holds: line breaks written as \n.
    std::string text;
    if (message.find_first_of("\r\n") == absl::string_view::npos) {
      text = std::string(message);
    } else {
      text = absl::StrReplaceAll(message, {{"\r", "\\r"}, {"\n", "\\n"}});
    }
    sink_(absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                       " ", LogLevelName(level), " ", component, ": ", text));
  }

 private:
  const bool json_;
  const std::function<void(const std::string&)> sink_;
};

class DropLogger : public Logger {
 public:
  void Log(LogLevel, absl::string_view, absl::string_view) override {}
};

void ToStderr(const std::string& line) {
  const std::string with_newline = line + "\n";
  std::fwrite(with_newline.data(), 1, with_newline.size(), stderr);  // one write per line
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

std::shared_ptr<Logger> LineLogger(bool json, std::function<void(const std::string&)> sink) {
  return std::make_shared<SinkLogger>(json, std::move(sink));
}

std::shared_ptr<Logger> TextLogger() {
  static const std::shared_ptr<Logger> logger = LineLogger(false, ToStderr);
  return logger;
}

std::shared_ptr<Logger> JsonLogger() {
  static const std::shared_ptr<Logger> logger = LineLogger(true, ToStderr);
  return logger;
}

std::shared_ptr<Logger> NullLogger() {
  static const std::shared_ptr<Logger> logger = std::make_shared<DropLogger>();
  return logger;
}

std::shared_ptr<Logger> OrDefault(std::shared_ptr<Logger> logger) {
  return logger != nullptr ? std::move(logger) : TextLogger();
}

}  // namespace strata
