// strata_power_loss_child: the writing half of power_loss_test. Usage:
//   strata_power_loss_child <data_dir> <seed> <sync|nosync>
// Opens the log in <data_dir> through a lossy FaultEnv (fault_env.h: bytes
// not yet synced stay in this process's memory, so SIGKILL loses them as a
// power cut would) with Durability::kSync ("sync") or kUnsafeNoSync ("nosync",
// the negative control). Then it writes "ready\n" and appends from 4 threads
// until killed: batches of 1-5 events, ExpectedVersion::Any, to random streams
// "p-0".."p-9", with explicit random event ids and 10-500 bytes of data
// derived from each id (tests/engine/crash_payload.h). After each acknowledged
// append it writes one line to stdout with a single write(2) under a mutex:
//   <first_position> <stream> <last_version> <event_id_1>,<event_id_2>,...\n
// Exit codes: 2 usage, 3 open failed, 4 an append failed, 5 stdout failed.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/options.h"
#include "tests/engine/crash_payload.h"
#include "tests/reliability/fault_env.h"

namespace {

constexpr int kThreads = 4;
constexpr int kStreams = 10;
constexpr int kBatchMin = 1;
constexpr int kBatchMax = 5;

// One write(2): a line is far below PIPE_BUF, so the pipe gets it whole or not
// at all.
void WriteLine(const std::string& line) {
  for (;;) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data(), line.size());
    if (n == static_cast<ssize_t>(line.size())) return;
    if (n < 0 && errno == EINTR) continue;
    std::fprintf(stderr, "strata_power_loss_child: write to stdout failed (%zd of %zu)\n", n,
                 line.size());
    std::_Exit(5);
  }
}

strata::EventId RandomId(std::mt19937_64& rng) {
  strata::EventId id;
  for (size_t i = 0; i < id.bytes.size(); i += 8) {
    const uint64_t r = rng();
    for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

void AppendForever(strata::EventLog* log, uint64_t seed, int thread_index, std::mutex* out_mu) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(thread_index)};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<int> batch_size(kBatchMin, kBatchMax);
  std::uniform_int_distribution<int> stream_index(0, kStreams - 1);
  for (;;) {
    const std::string stream = absl::StrCat("p-", stream_index(rng));
    std::vector<strata::NewEvent> events(batch_size(rng));
    std::string ids;
    for (strata::NewEvent& e : events) {
      const strata::EventId id = RandomId(rng);
      e.event_id = id;
      e.type = strata::crashtest::kEventType;
      e.content_type = strata::crashtest::kContentType;
      e.data = strata::crashtest::PayloadFor(id);
      absl::StrAppend(&ids, ids.empty() ? "" : ",", id.ToString());
    }
    absl::StatusOr<strata::AppendResult> r =
        log->Append(stream, strata::ExpectedVersion::Any(), std::move(events));
    if (!r.ok()) {
      std::fprintf(stderr, "strata_power_loss_child: append to %s failed: %s\n", stream.c_str(),
                   r.status().ToString().c_str());
      std::_Exit(4);
    }
    const std::string line =
        absl::StrCat(r->first_position, " ", stream, " ", r->last_version, " ", ids, "\n");
    std::lock_guard<std::mutex> lock(*out_mu);
    WriteLine(line);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::strcmp(argv[3], "sync") != 0 && std::strcmp(argv[3], "nosync") != 0)) {
    std::fprintf(stderr, "usage: %s <data_dir> <seed> <sync|nosync>\n", argv[0]);
    return 2;
  }
  char* end = nullptr;
  errno = 0;
  const uint64_t seed = std::strtoull(argv[2], &end, 10);
  if (errno != 0 || end == argv[2] || *end != '\0') {
    std::fprintf(stderr, "strata_power_loss_child: bad seed '%s'\n", argv[2]);
    return 2;
  }
  // Never destroyed: the process ends by SIGKILL, and the Env must outlive the
  // log in any case.
  auto* fault_env = new strata::testing::FaultEnv();
  fault_env->fs().SetLossy(true);
  strata::EventLogOptions options;
  options.env = fault_env->env();
  options.durability = std::strcmp(argv[3], "sync") == 0 ? strata::Durability::kSync
                                                         : strata::Durability::kUnsafeNoSync;
  absl::StatusOr<std::unique_ptr<strata::EventLog>> log =
      strata::EventLog::Open(argv[1], std::move(options));
  if (!log.ok()) {
    std::fprintf(stderr, "strata_power_loss_child: open %s failed: %s\n", argv[1],
                 log.status().ToString().c_str());
    return 3;
  }
  std::mutex out_mu;
  WriteLine("ready\n");
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(AppendForever, log->get(), seed, t, &out_mu);
  }
  // The threads run until SIGKILL; nothing returns normally.
  for (std::thread& th : threads) th.join();
  return 0;
}
