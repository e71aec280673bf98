// The loggers of engine/base/logger.h: the text and JSON line forms, levels,
// and escaping (quotes, control characters, invalid UTF-8 as U+FFFD, so every
// JSON line stays valid JSON).
#include "engine/base/logger.h"

#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata {
namespace {

TEST(LoggerTest, TextLines) {
  std::vector<std::string> lines;
  auto logger = LineLogger(false, [&](const std::string& l) { lines.push_back(l); });
  logger->Log(LogLevel::kInfo, "server", "listening");
  logger->Log(LogLevel::kError, "log", "write failed");
  logger->Log(LogLevel::kWarning, "rocksdb", "two\nlines\r");
  ASSERT_EQ(lines.size(), 3u);
  const std::regex ts(R"re(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )re");
  for (const std::string& line : lines) {
    EXPECT_TRUE(std::regex_search(line, ts)) << line;
    EXPECT_EQ(line.find(' '), 24u) << line;  // after the time
  }
  EXPECT_EQ(lines[0].substr(25), "info server: listening");
  EXPECT_EQ(lines[1].substr(25), "error log: write failed");
  EXPECT_EQ(lines[2].substr(25), "warning rocksdb: two\\nlines\\r");
}

TEST(LoggerTest, JsonLinesEscapeEverything) {
  std::vector<std::string> lines;
  auto logger = LineLogger(true, [&](const std::string& l) { lines.push_back(l); });
  logger->Log(LogLevel::kWarning, "rocksdb", std::string("say \"hi\"\n\x01 \xff end"));
  ASSERT_EQ(lines.size(), 1u);
  const std::regex ts(R"re(^\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",)re");
  EXPECT_TRUE(std::regex_search(lines[0], ts)) << lines[0];
  const std::string rest = lines[0].substr(lines[0].find(",\"level\""));
  EXPECT_EQ(rest,
            R"(,"level":"warning","component":"rocksdb","msg":"say \"hi\"\n\u0001 \ufffd end"})");
}

}  // namespace
}  // namespace strata
