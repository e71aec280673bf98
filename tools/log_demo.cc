// strata_log_demo: opens an event log in a data directory, appends a few
// click events with optimistic concurrency, and prints what the log holds.
// A first look at the engine before the server exists.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/event_log.h"
#include "engine/base/cli_flags.h"

ABSL_FLAG(std::string, data_dir, "./data", "Directory of the event log (created when missing).");
ABSL_FLAG(int, clicks, 5, "Click events to append to the demo stream.");
ABSL_FLAG(std::string, stream, "link-demo", "Stream to append to.");

int main(int argc, char** argv) {
  strata::ParseFlags(argc, argv,
                     "Appends demo click events to a Strata event log and prints the log.\n"
                     "Usage: strata_log_demo [--data_dir DIR] [--clicks N] [--stream NAME]");
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  const std::string stream = absl::GetFlag(FLAGS_stream);

  absl::Time start = absl::Now();
  auto log = strata::EventLog::Open(dir);
  if (!log.ok()) {
    std::fprintf(stderr, "strata_log_demo: %s\n", log.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "strata: opened event log '%s' at head %llu in %s\n", dir.c_str(),
               static_cast<unsigned long long>((*log)->Head()),
               absl::FormatDuration(absl::Now() - start).c_str());

  auto head = (*log)->StreamLastVersion(stream);
  if (!head.ok()) {
    std::fprintf(stderr, "strata_log_demo: %s\n", head.status().ToString().c_str());
    return 1;
  }
  std::vector<strata::NewEvent> events;
  for (int i = 0; i < absl::GetFlag(FLAGS_clicks); ++i) {
    strata::NewEvent e;
    e.type = "ClickRecorded";
    e.content_type = "application/json";
    e.data = absl::StrCat(R"({"country":"DE","device":"mobile","n":)", i, "}");
    events.push_back(std::move(e));
  }
  const strata::ExpectedVersion expected = head->has_value()
                                               ? strata::ExpectedVersion::Exact(**head)
                                               : strata::ExpectedVersion::NoStream();
  auto appended = (*log)->Append(stream, expected, std::move(events));
  if (!appended.ok()) {
    std::fprintf(stderr, "strata_log_demo: %s\n", appended.status().ToString().c_str());
    return 1;
  }
  std::printf("appended positions %llu..%llu to '%s' (expected version %s, now at %llu)\n",
              static_cast<unsigned long long>(appended->first_position),
              static_cast<unsigned long long>(appended->last_position), stream.c_str(),
              expected.ToString().c_str(),
              static_cast<unsigned long long>(appended->last_version));

  strata::ReadAllOptions read;
  read.direction = strata::ReadDirection::kBackward;
  read.from_position = strata::kReadFromEnd;
  read.max_count = 10;
  auto last = (*log)->ReadAll(read);
  if (!last.ok()) {
    std::fprintf(stderr, "strata_log_demo: %s\n", last.status().ToString().c_str());
    return 1;
  }
  std::printf("%-10s %-20s %-8s %-16s %s\n", "POSITION", "STREAM", "VERSION", "TYPE", "DATA");
  for (const auto& e : *last) {
    std::printf("%-10llu %-20s %-8llu %-16s %s\n", static_cast<unsigned long long>(e.position),
                e.stream.c_str(), static_cast<unsigned long long>(e.stream_version),
                e.type.c_str(), e.data.c_str());
  }
  return 0;
}
