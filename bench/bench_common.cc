#include "bench/bench_common.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/options.h"

namespace strata::bench {
namespace {

const char*& ProgramNameSlot() {
  static const char* name = "strata_bench";
  return name;
}

absl::Status ScanOnce(const EventLog& log, uint64_t* events, uint64_t* data_bytes) {
  *events = 0;
  *data_bytes = 0;
  return log.ScanAll(ReadAllOptions{}, [&](const EventView& e) {
    ++*events;
    *data_bytes += e.data.size();
    return true;
  });
}

absl::Status BuildScanLog(const ScanLogLayout& layout, ScanLog* scan) {
  const auto start = std::chrono::steady_clock::now();
  scan->dir = FreshDir("scan-log");
  EventLogOptions options;
  options.durability = Durability::kUnsafeNoSync;  // fast build; durability is not measured
  {
    absl::StatusOr<std::unique_ptr<EventLog>> opened = EventLog::Open(scan->dir, options);
    if (!opened.ok()) return opened.status();
    std::unique_ptr<EventLog> log = *std::move(opened);

    // A window of asynchronous appends lets the writer group them. The writer
    // commits them in queue order, which the layout check below confirms.
    std::mutex mu;
    std::condition_variable cv;
    size_t in_flight = 0;
    absl::Status first_error;
    Random64 rng(7);
    const uint64_t appends = kScanEvents / kBuildEventsPerAppend;
    for (uint64_t a = 0; a < appends; ++a) {
      std::vector<NewEvent> events;
      events.reserve(kBuildEventsPerAppend);
      for (uint64_t i = 0; i < kBuildEventsPerAppend; ++i) {
        const GlobalPosition p = a * kBuildEventsPerAppend + i + 1;
        events.push_back(MakeEvent(layout.type(p), rng.Bytes(kPayloadBytes)));
      }
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return in_flight < kBuildAppendsInFlightMax; });
        if (!first_error.ok()) break;
        ++in_flight;
      }
      log->AppendAsync(layout.stream(a), layout.expected_version, std::move(events),
                       [&](absl::StatusOr<AppendResult> result) {
                         std::lock_guard<std::mutex> lock(mu);
                         if (!result.ok() && first_error.ok()) first_error = result.status();
                         --in_flight;
                         cv.notify_all();
                       });
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
    }
    if (!first_error.ok()) return first_error;
    if (log->Head() != kScanEvents) {
      return absl::InternalError(
          absl::StrCat("built log has head ", log->Head(), ", want ", kScanEvents));
    }
  }  // closed here, reopened below with the default options

  absl::StatusOr<std::unique_ptr<EventLog>> reopened = EventLog::Open(scan->dir);
  if (!reopened.ok()) return reopened.status();
  scan->log = *std::move(reopened);
  // One untimed warm-up scan, which also checks every event against the
  // layout (benchmarks may rely on it, e.g. for the counters' known values).
  uint64_t events = 0;
  std::string layout_error;
  absl::Status s = scan->log->ScanAll(ReadAllOptions{}, [&](const EventView& e) {
    ++events;
    if (e.position != events ||
        e.stream != layout.stream((e.position - 1) / kBuildEventsPerAppend) ||
        e.type != layout.type(e.position) || e.data.size() != kPayloadBytes) {
      layout_error = absl::StrCat("event ", events, " is at position ", e.position, " in '",
                                  e.stream, "' of type '", e.type, "' with ", e.data.size(),
                                  " data bytes: not the layout the benchmark expects");
      return false;
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!layout_error.empty()) return absl::InternalError(layout_error);
  if (events != kScanEvents) {
    return absl::InternalError(
        absl::StrCat("warm-up scan saw ", events, " events, want ", kScanEvents));
  }
  scan->build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%s: built a %llu-event log in %.1f s\n", ProgramName(),
               static_cast<unsigned long long>(kScanEvents), scan->build_s);
  return absl::OkStatus();
}

}  // namespace

void InitProgram(const char* program) {
  ProgramNameSlot() = program;
  // As stratad (engine/base/cli_flags.h): Debian's Abseil keeps absl::Mutex's
  // deadlock detection on, whose lock-order graph would be measured too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  (void)RootDir();  // create it now, so that the atexit below runs after its setup
  std::atexit([] { RemoveDir(RootDir()); });  // also on exit() paths
}

const char* ProgramName() { return ProgramNameSlot(); }

const std::string& RootDir() {
  static const std::string* root = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat((tmp != nullptr && *tmp != '\0') ? tmp : "/tmp", "/",
                                       ProgramName(), ".XXXXXX");
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      std::perror(absl::StrCat(ProgramName(), ": mkdtemp").c_str());
      std::exit(1);
    }
    return new std::string(buf.data());
  }();
  return *root;
}

std::string FreshDir(absl::string_view name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(RootDir(), "/", name, "-", counter.fetch_add(1));
}

void RemoveDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

NewEvent MakeEvent(std::string type, std::string data) {
  NewEvent e;
  e.type = std::move(type);
  e.content_type = kContentType;
  e.data = std::move(data);
  return e;
}

ScanLog& TheScanLog() {
  static auto* scan = new ScanLog;
  return *scan;
}

void BuildScanLogOnce(const ScanLogLayout& layout) {
  ScanLog& scan = TheScanLog();
  if (scan.log != nullptr || !scan.error.empty()) return;  // built (or failed) already
  absl::Status s = BuildScanLog(layout, &scan);
  if (!s.ok()) {
    scan.error = absl::StrCat("building the scan log: ", s.ToString());
    scan.log.reset();
  }
}

void RunScanLogBenchmark(benchmark::State& state) {
  ScanLog& scan = TheScanLog();
  if (scan.log == nullptr) {
    state.SkipWithError(scan.error.c_str());
    return;
  }
  uint64_t total_events = 0;
  for (auto _ : state) {
    uint64_t events = 0, data_bytes = 0;
    absl::Status s = ScanOnce(*scan.log, &events, &data_bytes);
    if (!s.ok() || events != kScanEvents) {
      state.SkipWithError(
          absl::StrCat("ScanAll: ", s.ToString(), ", ", events, " events").c_str());
      break;
    }
    benchmark::DoNotOptimize(data_bytes);
    total_events += events;
  }
  state.SetItemsProcessed(static_cast<int64_t>(total_events));
  state.SetBytesProcessed(static_cast<int64_t>(total_events * kPayloadBytes));
}

}  // namespace strata::bench
