// strata_load's measurements (stats.h): Samples and their nearest-rank
// quantiles, CPU time, RSS and stratad's pid read from /proc, and the report
// as a text table or JSON.
#include "tools/load/stats.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/json_quote.h"

namespace strata::load {

void Samples::Merge(const Samples& other) {
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
  sorted_ = false;
}

double Samples::QuantileMs(double q) {
  if (values_.empty()) return 0;
  if (!sorted_) {
    std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values_.size())));
  return values_[std::clamp<size_t>(rank, 1, values_.size()) - 1] / 1000.0;
}

namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Fields of /proc/<pid>/stat after the command name (which may hold spaces):
// [0] is field 3 (state), so utime (field 14) is [11] and stime [12].
std::optional<std::vector<std::string>> StatFields(const std::string& pid) {
  std::optional<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.has_value()) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 > stat->size()) return std::nullopt;
  return absl::StrSplit(stat->substr(close + 2), ' ', absl::SkipEmpty());
}

std::optional<double> CpuSecondsOf(const std::string& pid) {
  std::optional<std::vector<std::string>> f = StatFields(pid);
  uint64_t utime = 0;
  uint64_t stime = 0;
  if (!f.has_value() || f->size() < 13 || !absl::SimpleAtoi((*f)[11], &utime) ||
      !absl::SimpleAtoi((*f)[12], &stime)) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

double SelfCpuSeconds() { return CpuSecondsOf("self").value_or(0); }

std::optional<double> ProcessCpuSeconds(pid_t pid) { return CpuSecondsOf(absl::StrCat(pid)); }

std::optional<pid_t> FindStratad() {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::vector<pid_t> found;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::optional<std::string> comm = ReadFile(absl::StrCat("/proc/", pid, "/comm"));
    if (comm.has_value() && *comm == "stratad\n") found.push_back(pid);
  }
  closedir(proc);
  if (found.size() != 1) return std::nullopt;
  return found[0];
}

std::optional<uint64_t> ProcessRssBytes(pid_t pid) {
  std::optional<std::string> status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.has_value()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint64_t kib = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kib)) return kib * 1024;
  }
  return std::nullopt;
}

bool IsStreamingMode(const std::string& mode) {
  return mode == "readall" || mode == "subscribe" || mode == "kurrent-readall";
}

namespace {

double Figure(const ModeReport& r) {
  return IsStreamingMode(r.mode) ? r.events_per_s() : r.calls_per_s();
}

std::string Errors(const ModeReport& r) {
  if (r.errors.empty()) return "0";
  return absl::StrJoin(r.errors, ",", absl::PairFormatter("="));
}

std::string Ratio(const ModeReport& r, const ModeReport* yardstick) {
  if (yardstick == nullptr || yardstick->calls_per_s() <= 0) return "-";
  return absl::StrFormat("%.2f", Figure(r) / yardstick->calls_per_s());
}

}  // namespace

std::string FormatTable(std::vector<ModeReport>& reports, const ModeReport* yardstick) {
  std::string out =
      absl::StrFormat("%-20s %4s %10s %11s %8s %8s %8s %8s %8s %7s %7s %6s  %s\n", "mode", "C",
                      "calls/s", "events/s", "p50 ms", "p90 ms", "p99 ms", "p999 ms", "max ms",
                      "cli cpu", "srv cpu", "x noop", "errors");
  std::string notes;
  for (ModeReport& r : reports) {
    const std::string server_cpu =
        r.server_cpu.has_value() ? absl::StrFormat("%.2f", *r.server_cpu) : "-";
    absl::StrAppendFormat(
        &out, "%-20s %4d %10.0f %11.0f %8.3f %8.3f %8.3f %8.3f %8.3f %7.2f %7s %6s  %s\n", r.mode,
        r.concurrency, r.calls_per_s(), r.events_per_s(), r.latency.QuantileMs(0.5),
        r.latency.QuantileMs(0.9), r.latency.QuantileMs(0.99), r.latency.QuantileMs(0.999),
        r.latency.QuantileMs(1.0), r.client_cpu, server_cpu, Ratio(r, yardstick), Errors(r));
    if (r.lag.size() > 0) {
      absl::StrAppendFormat(&notes,
                            "%s: read-your-write lag (%zu probes) p50 %.3f ms, p99 %.3f ms, "
                            "max %.3f ms\n",
                            r.mode, r.lag.size(), r.lag.QuantileMs(0.5), r.lag.QuantileMs(0.99),
                            r.lag.QuantileMs(1.0));
    }
    if (r.delivered > 0) {
      absl::StrAppendFormat(&notes,
                            "%s: live subscribers got %d events; delivery delay p50 %.3f ms, "
                            "p99 %.3f ms, max %.3f ms\n",
                            r.mode, r.delivered, r.delivery.QuantileMs(0.5),
                            r.delivery.QuantileMs(0.99), r.delivery.QuantileMs(1.0));
    }
    if (IsStreamingMode(r.mode) && r.seconds > 0) {
      absl::StrAppendFormat(&notes, "%s: %d events, %.1f MB/s of event payload\n", r.mode, r.events,
                            r.bytes / r.seconds / 1e6);
    }
    if (r.server_rss.has_value()) {
      absl::StrAppendFormat(&notes, "%s: stratad RSS %.1f MiB at the end\n", r.mode,
                            *r.server_rss / 1048576.0);
    }
  }
  return out + notes;
}

std::string FormatJson(std::vector<ModeReport>& reports, const ModeReport* yardstick) {
  std::vector<std::string> modes;
  for (ModeReport& r : reports) {
    std::string m = absl::StrFormat(
        "{\"mode\":%s,\"concurrency\":%d,\"seconds\":%.3f,\"calls\":%d,\"events\":%d,"
        "\"calls_per_s\":%.1f,\"events_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"client_cpu\":%.3f",
        JsonQuote(r.mode), r.concurrency, r.seconds, r.calls, r.events, r.calls_per_s(),
        r.events_per_s(), r.latency.QuantileMs(0.5), r.latency.QuantileMs(0.9),
        r.latency.QuantileMs(0.99), r.latency.QuantileMs(0.999), r.latency.QuantileMs(1.0),
        r.client_cpu);
    if (r.server_cpu.has_value()) absl::StrAppendFormat(&m, ",\"server_cpu\":%.3f", *r.server_cpu);
    if (r.server_rss.has_value())
      absl::StrAppendFormat(&m, ",\"server_rss_bytes\":%d", *r.server_rss);
    if (yardstick != nullptr && yardstick->calls_per_s() > 0) {
      absl::StrAppendFormat(&m, ",\"ratio_to_noop\":%.4f", Figure(r) / yardstick->calls_per_s());
    }
    if (r.lag.size() > 0) {
      absl::StrAppendFormat(&m, ",\"lag_p50_ms\":%.3f,\"lag_p99_ms\":%.3f,\"lag_max_ms\":%.3f",
                            r.lag.QuantileMs(0.5), r.lag.QuantileMs(0.99), r.lag.QuantileMs(1.0));
    }
    if (r.delivered > 0) {
      absl::StrAppendFormat(&m,
                            ",\"delivered\":%d,\"delivery_p50_ms\":%.3f,\"delivery_p99_ms\":%.3f",
                            r.delivered, r.delivery.QuantileMs(0.5), r.delivery.QuantileMs(0.99));
    }
    if (r.bytes > 0) absl::StrAppendFormat(&m, ",\"bytes\":%d", r.bytes);
    std::vector<std::string> errors;
    for (const auto& [code, n] : r.errors) errors.push_back(absl::StrCat(JsonQuote(code), ":", n));
    absl::StrAppend(&m, ",\"errors\":{", absl::StrJoin(errors, ","), "}}");
    modes.push_back(std::move(m));
  }
  return absl::StrCat("{\"cores\":", sysconf(_SC_NPROCESSORS_ONLN), ",\"modes\":[",
                      absl::StrJoin(modes, ","), "]}\n");
}

}  // namespace strata::load
