// Logger: where Strata's libraries report what an operator should see (a
// projection going live, a failed write, RocksDB's warnings), injected
// through their options as leveldb's info_log is. Libraries never write to
// stderr themselves; the program chooses the format and the destination.
//
// Thread-safety: a Logger's Log may be called from any thread concurrently.
#ifndef STRATA_ENGINE_BASE_LOGGER_H_
#define STRATA_ENGINE_BASE_LOGGER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace strata {

enum class LogLevel { kInfo, kWarning, kError };
const char* LogLevelName(LogLevel level);  // "info", "warning", "error"

class Logger {
 public:
  virtual ~Logger() = default;
  // One event from `component` ("log", "projections", "server", "rocksdb").
  virtual void Log(LogLevel level, absl::string_view component, absl::string_view message) = 0;
};

// "<UTC time to the millisecond> <level> <component>: <message>" lines on
// stderr ("2026-12-04T04:41:33.123Z info server: stratad listening on ...");
// line breaks in a message are written as \n. The default.
std::shared_ptr<Logger> TextLogger();
// One JSON object a line on stderr:
// {"ts":"2026-12-03T07:10:00.123456Z","level":"info","component":"projections","msg":"..."}.
std::shared_ptr<Logger> JsonLogger();
// Drops everything (tools whose output is their answer).
std::shared_ptr<Logger> NullLogger();
// Each event as one formatted line to `sink` (tests, and JsonLogger/TextLogger
// with another destination): the text or JSON form.
std::shared_ptr<Logger> LineLogger(bool json, std::function<void(const std::string&)> sink);

// `logger`, or TextLogger() when null: what an options struct's default means.
std::shared_ptr<Logger> OrDefault(std::shared_ptr<Logger> logger);

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_LOGGER_H_
