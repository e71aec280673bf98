// Recovery after kill -9. Each cycle fork+execs strata_crash_child on the same
// data directory; the child appends from 4 threads and prints one line per
// acknowledged append on a pipe. The test reads the pipe with poll() until a
// random moment 20-300 ms after the start, kills the child with SIGKILL, drains
// the pipe, then reopens the log and checks that every append acknowledged in
// any cycle so far (complete lines only) is stored exactly once at its
// reported positions with its stream, version, id and data; that positions are
// dense 1..Head(); that each stream's versions are dense; and that checksums
// verify. The seed (random, or STRATA_TEST_SEED) is printed and recorded.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "gtest/gtest.h"
#include "tests/engine/crash_payload.h"
#include "tests/testutil/temp_dir.h"

#ifndef STRATA_CRASH_CHILD_PATH
#error "STRATA_CRASH_CHILD_PATH must name the strata_crash_child executable"
#endif

namespace strata {
namespace {

using ::strata::testing::TempDir;

constexpr int kCycles = 25;
constexpr int kKillAfterMsMin = 20;
constexpr int kKillAfterMsMax = 300;
constexpr int kStreams = 10;

// One acknowledged append, as reported by the child.
struct Ack {
  GlobalPosition first_position = 0;
  std::string stream;
  StreamVersion last_version = 0;
  std::vector<EventId> ids;
};

// Parses "<first_position> <stream> <last_version> <id>,<id>,...".
std::optional<Ack> ParseAck(absl::string_view line) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
  if (fields.size() != 4) return std::nullopt;
  Ack ack;
  if (!absl::SimpleAtoi(fields[0], &ack.first_position)) return std::nullopt;
  ack.stream = std::string(fields[1]);
  if (!absl::SimpleAtoi(fields[2], &ack.last_version)) return std::nullopt;
  for (absl::string_view text : absl::StrSplit(fields[3], ',')) {
    std::optional<EventId> id = EventId::Parse(text);
    if (!id.has_value()) return std::nullopt;
    ack.ids.push_back(*id);
  }
  if (ack.first_position == 0 || ack.ids.empty() || ack.last_version + 1 < ack.ids.size()) {
    return std::nullopt;
  }
  return ack;
}

uint64_t ChooseSeed() {
  const char* env = std::getenv("STRATA_TEST_SEED");
  uint64_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

struct ChildRun {
  std::string output;     // everything the child wrote to stdout
  bool killed = false;    // we sent SIGKILL
  int wait_status = 0;    // from waitpid
};

// Runs the child on `data_dir`, kills it `kill_after` after the fork, and
// returns its output once the pipe is closed. Fails the test on system errors.
void RunAndKillChild(const std::string& data_dir, uint64_t child_seed,
                     std::chrono::milliseconds kill_after, ChildRun* run) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  std::string path = STRATA_CRASH_CHILD_PATH;
  std::string dir = data_dir;
  std::string seed = absl::StrCat(child_seed);
  char* argv[] = {path.data(), dir.data(), seed.data(), nullptr};

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    // Child: stdout becomes the pipe (dup2 clears O_CLOEXEC on fd 1).
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
    ::execv(path.c_str(), argv);
    ::_exit(127);
  }
  ::close(fds[1]);
  const auto kill_at = start + kill_after;

  char buf[1 << 16];
  bool eof = false;
  while (!eof) {
    int timeout_ms = 30'000;  // after the kill: EOF must come quickly
    if (!run->killed) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= kill_at) {
        ASSERT_EQ(::kill(pid, SIGKILL), 0) << std::strerror(errno);
        run->killed = true;
        continue;
      }
      timeout_ms = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(kill_at - now).count());
    }
    pollfd p{fds[0], POLLIN, 0};
    const int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0) {
      ASSERT_EQ(errno, EINTR) << std::strerror(errno);
      continue;
    }
    if (rc == 0) {
      ASSERT_FALSE(run->killed) << "no EOF on the child's pipe 30 s after SIGKILL";
      continue;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      run->output.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else {
      ASSERT_EQ(errno, EINTR) << std::strerror(errno);
    }
  }
  ::close(fds[0]);
  pid_t waited;
  do {
    waited = ::waitpid(pid, &run->wait_status, 0);
  } while (waited < 0 && errno == EINTR);
  ASSERT_EQ(waited, pid) << std::strerror(errno);
}

// Opens the log, checks it against every acknowledgement so far, and closes
// it. Adds the number of acknowledged events checked to *checked.
void CheckLog(const std::string& data_dir, const std::vector<Ack>& acks, size_t* checked) {
  absl::StatusOr<std::unique_ptr<EventLog>> opened = EventLog::Open(data_dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const EventLog& log = **opened;

  const GlobalPosition head = log.Head();
  absl::StatusOr<std::vector<RecordedEvent>> all = log.ReadAll(ReadAllOptions{});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), head);

  // Dense positions, dense versions per stream, each id once, intact data.
  std::map<std::string, StreamVersion> next_version;
  absl::flat_hash_map<EventId, GlobalPosition> position_of;
  for (size_t i = 0; i < all->size(); ++i) {
    const RecordedEvent& e = (*all)[i];
    ASSERT_EQ(e.position, i + 1);
    ASSERT_EQ(e.stream_version, next_version[e.stream]++) << "stream " << e.stream;
    const auto [it, inserted] = position_of.emplace(e.event_id, e.position);
    ASSERT_TRUE(inserted) << "event id " << e.event_id.ToString() << " at positions "
                          << it->second << " and " << e.position;
    ASSERT_EQ(e.type, crashtest::kEventType) << "position " << e.position;
    ASSERT_EQ(e.content_type, crashtest::kContentType) << "position " << e.position;
    ASSERT_EQ(e.data, crashtest::PayloadFor(e.event_id)) << "position " << e.position;
  }
  for (int s = 0; s < kStreams; ++s) {
    const std::string stream = absl::StrCat("c-", s);
    absl::StatusOr<std::vector<RecordedEvent>> events = log.ReadStream(stream, ReadStreamOptions{});
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), next_version[stream]) << stream;
    for (size_t v = 0; v < events->size(); ++v) {
      ASSERT_EQ((*events)[v].stream_version, v) << stream;
      ASSERT_EQ((*events)[v], (*all)[(*events)[v].position - 1]) << stream;
    }
    absl::StatusOr<std::optional<StreamVersion>> stream_head = log.StreamHead(stream);
    ASSERT_TRUE(stream_head.ok()) << stream_head.status();
    if (events->empty()) {
      ASSERT_EQ(*stream_head, std::nullopt) << stream;
    } else {
      ASSERT_EQ(*stream_head, std::optional<StreamVersion>(events->size() - 1)) << stream;
    }
  }

  // Every acknowledged event at its reported place.
  for (const Ack& ack : acks) {
    const StreamVersion first_version = ack.last_version + 1 - ack.ids.size();
    for (size_t i = 0; i < ack.ids.size(); ++i) {
      const GlobalPosition position = ack.first_position + i;
      ASSERT_LE(position, head) << "acknowledged event " << ack.ids[i].ToString()
                                << " at position " << position << " lost; head is " << head;
      const RecordedEvent& e = (*all)[position - 1];
      ASSERT_EQ(e.event_id, ack.ids[i]) << "position " << position;
      ASSERT_EQ(e.stream, ack.stream) << "position " << position;
      ASSERT_EQ(e.stream_version, first_version + i) << "position " << position;
      ++*checked;
    }
  }
  const absl::Status verified = log.VerifyChecksums();
  ASSERT_TRUE(verified.ok()) << verified;
}

TEST(CrashTest, AcknowledgedAppendsSurviveKillNine) {
  const uint64_t seed = ChooseSeed();
  std::printf("crash_test seed: %llu (set STRATA_TEST_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", absl::StrCat(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (STRATA_TEST_SEED)"));
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
  std::uniform_int_distribution<int> kill_after_ms(kKillAfterMsMin, kKillAfterMsMax);

  TempDir tmp;
  const std::string data_dir = tmp.Sub("db");
  std::vector<Ack> acks;
  size_t checked_total = 0;
  size_t acked_events = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const uint64_t child_seed = (static_cast<uint64_t>(rng()) << 32) | rng();
    const int kill_ms = kill_after_ms(rng);
    SCOPED_TRACE(absl::StrCat("cycle ", cycle, ", kill after ", kill_ms, " ms"));

    ChildRun run;
    ASSERT_NO_FATAL_FAILURE(
        RunAndKillChild(data_dir, child_seed, std::chrono::milliseconds(kill_ms), &run));
    ASSERT_TRUE(run.killed) << "the child exited before the kill, wait status "
                            << run.wait_status;
    ASSERT_TRUE(WIFSIGNALED(run.wait_status) && WTERMSIG(run.wait_status) == SIGKILL)
        << "wait status " << run.wait_status;

    // Complete lines only: a line cut by the kill was never fully reported.
    size_t line_start = 0;
    size_t cycle_acks = 0;
    for (size_t nl; (nl = run.output.find('\n', line_start)) != std::string::npos;
         line_start = nl + 1) {
      const absl::string_view line(run.output.data() + line_start, nl - line_start);
      std::optional<Ack> ack = ParseAck(line);
      ASSERT_TRUE(ack.has_value()) << "bad line from the child: '" << line << "'";
      acked_events += ack->ids.size();
      acks.push_back(*std::move(ack));
      ++cycle_acks;
    }

    size_t checked = 0;
    const auto check_start = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(CheckLog(data_dir, acks, &checked));
    checked_total += checked;
    const auto check_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - check_start);
    std::printf("cycle %d: killed after %d ms, %zu acknowledged appends, checked in %lld ms\n",
                cycle, kill_ms, cycle_acks, static_cast<long long>(check_ms.count()));
  }
  std::printf("crash_test: %d cycles, %zu acknowledged events, %zu event checks\n", kCycles,
              acked_events, checked_total);
  ::testing::Test::RecordProperty("acknowledged_events", absl::StrCat(acked_events));
  EXPECT_GT(acked_events, 0u) << "the child never acknowledged an append";
}

}  // namespace
}  // namespace strata
