// What strata_load measures and how it prints it: latency samples with their
// percentiles, process CPU time from /proc, and one report row per mode
// (text table or JSON). Not thread-safe: each in-flight call slot keeps its
// own Samples, merged once the mode ends.
#ifndef STRATA_TOOLS_LOAD_STATS_H_
#define STRATA_TOOLS_LOAD_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace strata::load {

// Latencies in microseconds.
class Samples {
 public:
  void Add(int64_t micros) {
    values_.push_back(micros);
    sorted_ = false;
  }
  void Merge(const Samples& other);
  size_t size() const { return values_.size(); }
  // The q-quantile (0 < q <= 1) by nearest rank, in milliseconds; 0 when empty.
  // Sorts on first use after an Add or Merge.
  double QuantileMs(double q);

 private:
  std::vector<int64_t> values_;
  bool sorted_ = true;
};

// CPU seconds (user + system) used so far by this process, or by `pid`
// (nullopt when /proc/<pid>/stat cannot be read).
double SelfCpuSeconds();
std::optional<double> ProcessCpuSeconds(pid_t pid);

// The one process named "stratad" on this machine, or nullopt when there is
// none or several (then --server_pid says which).
std::optional<pid_t> FindStratad();

// Resident set size of `pid` in bytes, or nullopt.
std::optional<uint64_t> ProcessRssBytes(pid_t pid);

// One mode's result.
struct ModeReport {
  std::string mode;
  int concurrency = 0;
  double seconds = 0;
  uint64_t calls = 0;
  uint64_t events = 0;
  uint64_t bytes = 0;                      // payload bytes received (streaming modes)
  std::map<std::string, uint64_t> errors;  // by gRPC status code name
  Samples latency;                         // per call (unary) or per message (streams)
  double client_cpu = 0;                   // cores: CPU seconds / wall seconds
  std::optional<double> server_cpu;
  std::optional<uint64_t> server_rss;  // bytes, at the end of the mode
  Samples lag;                         // read-your-write lag probes, if any
  Samples delivery;                    // live subscriber delivery delay, if any
  uint64_t delivered = 0;              // events delivered to live subscribers

  double calls_per_s() const { return seconds > 0 ? calls / seconds : 0; }
  double events_per_s() const { return seconds > 0 ? events / seconds : 0; }
};

// Human-readable table, one row per report, with each row's calls/s (or
// events/s for streaming modes) as a ratio of `yardstick`'s calls/s.
std::string FormatTable(std::vector<ModeReport>& reports, const ModeReport* yardstick);

// One JSON object: {"machine": ..., "modes": [...]}.
std::string FormatJson(std::vector<ModeReport>& reports, const ModeReport* yardstick);

// True for modes whose figure is events streamed, not calls.
bool IsStreamingMode(const std::string& mode);

}  // namespace strata::load

#endif  // STRATA_TOOLS_LOAD_STATS_H_
