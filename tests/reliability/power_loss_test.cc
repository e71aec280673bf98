// Power loss, simulated: each cycle fork+execs strata_power_loss_child, which
// opens the log through a lossy FaultEnv (unsynced bytes live only in the
// child's memory), appends from 4 threads and prints one line per
// acknowledged append. Once the child has printed "ready" (the log is open),
// the test waits a random 10-60 ms, SIGKILLs it (losing exactly what a power
// cut would: everything not synced), drains the pipe, reopens the log with
// RocksDB's default Env and checks (CheckLog):
//  - the head never moves back; positions are dense, each stream's versions
//    dense from 0 (also through StreamHead and ReadStream), each event id
//    stored once, each event's data the bytes derived from its id;
//  - every event acknowledged in the cycle is at the position its reply
//    named, in its stream at its version, and so is a random sample of the
//    events acknowledged in earlier cycles.
// Every 25 cycles, and after the last, the store is compacted (as a running
// server would) and checked in full: the whole log, every event still where
// the previous check saw it, every acknowledgement of every cycle, checksums.
//
// Phase 1 (Durability::kSync) must lose nothing. Phase 2, the negative
// control, runs the same cycles with Durability::kUnsafeNoSync on a fresh
// store; there the checker must catch lost acknowledged events in at least
// one cycle, or the test fails: a checker that cannot fail proves nothing.
//
// STRATA_TEST_SEED repeats a run; STRATA_POWER_LOSS_CYCLES and
// STRATA_POWER_LOSS_CONTROL_CYCLES change the number of cycles (defaults 200
// and 20).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
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
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "tests/engine/crash_payload.h"
#include "tests/testutil/temp_dir.h"

#ifndef STRATA_POWER_LOSS_CHILD_PATH
#error "STRATA_POWER_LOSS_CHILD_PATH must name the strata_power_loss_child executable"
#endif

namespace strata {
namespace {

using ::strata::testing::TempDir;

constexpr int kDefaultCycles = 200;
constexpr int kDefaultControlCycles = 20;
constexpr int kKillAfterReadyMsMin = 10;
constexpr int kKillAfterReadyMsMax = 60;
constexpr int kStreams = 10;
// The sync phase compacts the store (see CompactStore) and checks it fully
// every this many cycles; the cycles between check what changed.
constexpr int kFullCheckEvery = 25;

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

int CyclesFromEnv(const char* name, int default_value) {
  const char* env = std::getenv(name);
  int n = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &n) && n > 0) return n;
  return default_value;
}

struct ChildRun {
  std::string output;   // everything the child wrote to stdout after "ready"
  bool ready = false;   // the child printed "ready"
  bool killed = false;  // we sent SIGKILL
  int wait_status = 0;  // from waitpid
};

// Runs the child on `data_dir` in `mode` ("sync" or "nosync"), kills it
// `kill_after` after it printed "ready", and returns its output once the pipe
// is closed. Fails the test on system errors.
void RunAndKillChild(const std::string& data_dir, uint64_t child_seed, const char* mode,
                     std::chrono::milliseconds kill_after, ChildRun* run) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  std::string path = STRATA_POWER_LOSS_CHILD_PATH;
  std::string dir = data_dir;
  std::string seed = absl::StrCat(child_seed);
  std::string mode_arg = mode;
  char* argv[] = {path.data(), dir.data(), seed.data(), mode_arg.data(), nullptr};

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    // Child: stdout becomes the pipe (dup2 clears O_CLOEXEC on fd 1).
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
    ::execv(path.c_str(), argv);
    ::_exit(127);
  }
  ::close(fds[1]);
  std::chrono::steady_clock::time_point kill_at;
  const auto ready_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);

  std::string raw;
  char buf[1 << 16];
  bool eof = false;
  while (!eof) {
    int timeout_ms = 30'000;  // after the kill: EOF must come quickly
    if (!run->killed) {
      const auto now = std::chrono::steady_clock::now();
      if (!run->ready) {
        if (now >= ready_deadline) {
          ::kill(pid, SIGKILL);
          run->killed = true;
          ADD_FAILURE() << "the child did not print 'ready' within 30 s";
          continue;
        }
        timeout_ms = static_cast<int>(
            std::chrono::ceil<std::chrono::milliseconds>(ready_deadline - now).count());
      } else {
        if (now >= kill_at) {
          ASSERT_EQ(::kill(pid, SIGKILL), 0) << std::strerror(errno);
          run->killed = true;
          continue;
        }
        timeout_ms =
            static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(kill_at - now).count());
      }
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
      raw.append(buf, static_cast<size_t>(n));
      if (!run->ready && raw.find('\n') != std::string::npos) {
        const size_t nl = raw.find('\n');
        if (raw.compare(0, nl, "ready") != 0) {
          ::kill(pid, SIGKILL);
          run->killed = true;
          ADD_FAILURE() << "the child's first line is '" << raw.substr(0, nl) << "', not 'ready'";
        } else {
          run->ready = true;
          kill_at = std::chrono::steady_clock::now() + kill_after;
          raw.erase(0, nl + 1);
        }
      }
    } else if (n == 0) {
      eof = true;
    } else {
      ASSERT_EQ(errno, EINTR) << std::strerror(errno);
    }
  }
  ::close(fds[0]);
  run->output = std::move(raw);
  pid_t waited;
  do {
    waited = ::waitpid(pid, &run->wait_status, 0);
  } while (waited < 0 && errno == EINTR);
  ASSERT_EQ(waited, pid) << std::strerror(errno);
}

// Parses the complete lines of `output` (a line cut by the kill was never
// fully reported, so it does not count as acknowledged).
void ParseAcks(const std::string& output, std::vector<Ack>* acks, size_t* events) {
  size_t line_start = 0;
  for (size_t nl; (nl = output.find('\n', line_start)) != std::string::npos; line_start = nl + 1) {
    const absl::string_view line(output.data() + line_start, nl - line_start);
    std::optional<Ack> ack = ParseAck(line);
    ASSERT_TRUE(ack.has_value()) << "bad line from the child: '" << line << "'";
    *events += ack->ids.size();
    acks->push_back(*std::move(ack));
  }
}

// What is known to be stored after the last check: the log up to `head`,
// checked; each stream's next version; each stored event id's position.
struct Verified {
  GlobalPosition head = 0;
  std::map<std::string, StreamVersion> next_version;
  absl::flat_hash_map<EventId, GlobalPosition> position_of;
};

// What a check found. `lost` counts acknowledged events that are not at
// their reported position (the durability promise); every other finding is a
// structural failure that no durability mode may produce (a fatal failure).
struct CheckOutcome {
  GlobalPosition head = 0;
  size_t checked = 0;      // acknowledged events checked
  size_t lost = 0;         // acknowledged events missing or displaced
  std::string first_loss;  // a description of the first one
};

// Opens the log with RocksDB's default Env, checks it and closes it.
//  - full: reads the whole log and checks its structure (dense positions,
//    dense versions per stream, each id once, each event's bytes), that every
//    event stored at the last check is still at the same position, every
//    acknowledgement in `acks`, each stream through ReadStream, and RocksDB's
//    checksums of every file.
//  - incremental: the head did not move back, the same structure checks for
//    the events after the last check's head (continuing its streams' versions
//    and ids), the acknowledgements acks[new_from..], and a sample of 32
//    earlier acknowledgements read back with ReadEvent.
void CheckLog(const std::string& data_dir, const std::vector<Ack>& acks, size_t new_from, bool full,
              std::mt19937_64& rng, Verified* state, CheckOutcome* outcome) {
  absl::StatusOr<std::unique_ptr<EventLog>> opened = EventLog::Open(data_dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const EventLog& log = **opened;

  const GlobalPosition head = log.Head();
  outcome->head = head;
  ASSERT_GE(head, state->head) << "the head moved back from " << state->head << " to " << head
                               << ": events recovered at an earlier restart are gone";
  Verified next;
  if (!full) {
    next.next_version = state->next_version;
    next.position_of = state->position_of;
  }
  const GlobalPosition from = full ? 1 : state->head + 1;
  ReadAllOptions read;
  read.from_position = from;
  absl::StatusOr<std::vector<RecordedEvent>> tail = log.ReadAll(read);
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->size(), head - from + 1);
  for (size_t i = 0; i < tail->size(); ++i) {
    const RecordedEvent& e = (*tail)[i];
    ASSERT_EQ(e.position, from + i);
    ASSERT_EQ(e.stream_version, next.next_version[e.stream]++) << "stream " << e.stream;
    const auto [it, inserted] = next.position_of.emplace(e.event_id, e.position);
    ASSERT_TRUE(inserted) << "event id " << e.event_id.ToString() << " at positions " << it->second
                          << " and " << e.position;
    ASSERT_EQ(e.type, crashtest::kEventType) << "position " << e.position;
    ASSERT_EQ(e.content_type, crashtest::kContentType) << "position " << e.position;
    ASSERT_EQ(e.data, crashtest::PayloadFor(e.event_id)) << "position " << e.position;
  }
  if (full) {
    for (const auto& [id, position] : state->position_of) {
      auto it = next.position_of.find(id);
      ASSERT_TRUE(it != next.position_of.end() && it->second == position)
          << "event " << id.ToString() << " stored at position " << position
          << " at an earlier check is no longer there";
    }
  }
  // Each stream: its head, and its events through the stream index.
  for (int s = 0; s < kStreams; ++s) {
    const std::string stream = absl::StrCat("p-", s);
    auto known = next.next_version.find(stream);
    absl::StatusOr<std::optional<StreamVersion>> stream_head = log.StreamHead(stream);
    ASSERT_TRUE(stream_head.ok()) << stream_head.status();
    if (known == next.next_version.end()) {
      ASSERT_EQ(*stream_head, std::nullopt) << stream;
      continue;
    }
    ASSERT_EQ(*stream_head, std::optional<StreamVersion>(known->second - 1)) << stream;
    ReadStreamOptions stream_read;
    if (!full) {
      auto before = state->next_version.find(stream);
      stream_read.from_version = before == state->next_version.end() ? 0 : before->second;
    }
    absl::StatusOr<std::vector<RecordedEvent>> events = log.ReadStream(stream, stream_read);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), known->second - stream_read.from_version) << stream;
    for (size_t v = 0; v < events->size(); ++v) {
      const RecordedEvent& e = (*events)[v];
      ASSERT_EQ(e.stream_version, stream_read.from_version + v) << stream;
      ASSERT_GE(e.position, from) << stream;
      ASSERT_EQ(e, (*tail)[e.position - from]) << stream;
    }
  }

  // Acknowledged events at their reported places.
  auto check_ack = [&](const Ack& ack) {
    const StreamVersion first_version = ack.last_version + 1 - ack.ids.size();
    for (size_t i = 0; i < ack.ids.size(); ++i) {
      const GlobalPosition position = ack.first_position + i;
      ++outcome->checked;
      std::string problem;
      if (position > head) {
        problem = absl::StrCat("acknowledged event ", ack.ids[i].ToString(), " at position ",
                               position, " lost: the head is ", head);
      } else {
        RecordedEvent stored;
        if (position >= from) {
          stored = (*tail)[position - from];
        } else {
          absl::StatusOr<RecordedEvent> e = log.ReadEvent(position);
          ASSERT_TRUE(e.ok()) << e.status();
          stored = *std::move(e);
        }
        if (stored.event_id != ack.ids[i] || stored.stream != ack.stream ||
            stored.stream_version != first_version + i) {
          problem = absl::StrCat("acknowledged event ", ack.ids[i].ToString(), " (", ack.stream,
                                 " v", first_version + i, ") at position ", position,
                                 ": the position holds ", stored.event_id.ToString(), " (",
                                 stored.stream, " v", stored.stream_version, ")");
        }
      }
      if (!problem.empty()) {
        if (outcome->lost == 0) outcome->first_loss = problem;
        ++outcome->lost;
      }
    }
  };
  if (full) {
    for (const Ack& ack : acks) ASSERT_NO_FATAL_FAILURE(check_ack(ack));
  } else {
    for (size_t i = new_from; i < acks.size(); ++i) ASSERT_NO_FATAL_FAILURE(check_ack(acks[i]));
    if (new_from > 0) {
      std::uniform_int_distribution<size_t> pick(0, new_from - 1);
      for (int k = 0; k < 32; ++k) ASSERT_NO_FATAL_FAILURE(check_ack(acks[pick(rng)]));
    }
  }
  if (full) {
    const absl::Status verified = log.VerifyChecksums();
    ASSERT_TRUE(verified.ok()) << verified;
  }
  next.head = head;
  *state = std::move(next);
}

// Drops RocksDB's info log (plain RocksDB would otherwise write a LOG file
// into the store).
class QuietLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// Compacts the closed store with plain RocksDB, as a long-running server's
// background compaction would. Each check's reopen flushes the recovered WAL
// into new L0 files, and a writer killed after 10-60 ms rarely finishes a
// compaction, so without this L0 grows by about three files a cycle: every
// open reads more files, and past 36 files per column family RocksDB would
// stop the child's writes.
void CompactStore(const std::string& data_dir) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"events", {}}, {"streams", {}}, {"event_ids", {}}};
  rocksdb::DBOptions options;
  options.info_log = std::make_shared<QuietLogger>();
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.paranoid_checks = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, data_dir, cfs, &handles, &raw);
  ASSERT_TRUE(s.ok()) << "compaction: open: " << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 1; i < handles.size(); ++i) {
    s = db->CompactRange(rocksdb::CompactRangeOptions(), handles[i], nullptr, nullptr);
    EXPECT_TRUE(s.ok()) << "compaction: " << s.ToString();
  }
  for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  s = db->Close();
  EXPECT_TRUE(s.ok()) << "compaction: close: " << s.ToString();
}

struct PhaseTotals {
  int cycles = 0;
  size_t acked_appends = 0;
  size_t acked_events = 0;
  size_t checked = 0;  // acknowledged-event checks
  int full_checks = 0;
  int cycles_with_loss = 0;
  size_t lost = 0;
  GlobalPosition head = 0;
  std::chrono::nanoseconds child_time{0};  // fork to EOF after the kill
  std::chrono::nanoseconds check_time{0};  // reopen, check, close (and compaction)
};

// Runs `cycles` kill cycles of the child in `mode` on `data_dir`. With
// `durable`, any lost acknowledgement fails the test, acknowledgements
// accumulate across cycles, and every kFullCheckEvery cycles (and after the
// last) the store is compacted and fully checked against all of them.
// Otherwise (the control) each cycle checks its own acknowledgements and
// losses are counted.
void RunPhase(const char* phase, const std::string& data_dir, const char* mode, int cycles,
              bool durable, std::mt19937_64& rng, PhaseTotals* totals) {
  std::uniform_int_distribution<int> kill_after_ms(kKillAfterReadyMsMin, kKillAfterReadyMsMax);
  std::vector<Ack> acks;
  Verified state;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const uint64_t child_seed = rng();
    const int kill_ms = kill_after_ms(rng);
    SCOPED_TRACE(absl::StrCat(phase, " cycle ", cycle, ", kill ", kill_ms, " ms after ready"));

    ChildRun run;
    const auto child_start = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(
        RunAndKillChild(data_dir, child_seed, mode, std::chrono::milliseconds(kill_ms), &run));
    ASSERT_TRUE(run.ready);
    ASSERT_TRUE(run.killed) << "the child exited before the kill, wait status " << run.wait_status;
    ASSERT_TRUE(WIFSIGNALED(run.wait_status) && WTERMSIG(run.wait_status) == SIGKILL)
        << "wait status " << run.wait_status;

    if (!durable) acks.clear();
    const size_t new_from = acks.size();
    size_t events = 0;
    ASSERT_NO_FATAL_FAILURE(ParseAcks(run.output, &acks, &events));
    totals->acked_appends += acks.size() - new_from;
    totals->acked_events += events;

    CheckOutcome outcome;
    const auto check_start = std::chrono::steady_clock::now();
    totals->child_time += check_start - child_start;
    ASSERT_NO_FATAL_FAILURE(
        CheckLog(data_dir, acks, new_from, /*full=*/false, rng, &state, &outcome));
    if (durable) {
      ASSERT_EQ(outcome.lost, 0u) << outcome.first_loss;
    }
    const bool full = durable && ((cycle + 1) % kFullCheckEvery == 0 || cycle + 1 == cycles);
    if (full) {
      ASSERT_NO_FATAL_FAILURE(CompactStore(data_dir));
      CheckOutcome full_outcome;
      ASSERT_NO_FATAL_FAILURE(
          CheckLog(data_dir, acks, 0, /*full=*/true, rng, &state, &full_outcome));
      ASSERT_EQ(full_outcome.lost, 0u) << full_outcome.first_loss;
      outcome.checked += full_outcome.checked;
      ++totals->full_checks;
    }
    totals->check_time += std::chrono::steady_clock::now() - check_start;
    totals->checked += outcome.checked;
    totals->lost += outcome.lost;
    totals->head = outcome.head;
    ++totals->cycles;
    if (outcome.lost > 0) ++totals->cycles_with_loss;
    if (!durable || full) {
      std::printf("%s cycle %d: %zu appends acknowledged (%zu events), head %llu, %zu lost%s%s%s\n",
                  phase, cycle, acks.size() - new_from, events,
                  static_cast<unsigned long long>(outcome.head), outcome.lost,
                  outcome.lost > 0 ? ", e.g. " : "", outcome.first_loss.c_str(),
                  full ? "; compacted and fully checked" : "");
      std::fflush(stdout);
    }
  }
}

TEST(PowerLossTest, SyncedAppendsSurvivePowerLossAndUnsyncedOnesAreCaught) {
  const uint64_t seed = ChooseSeed();
  std::printf("power_loss_test seed: %llu (set STRATA_TEST_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", absl::StrCat(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (STRATA_TEST_SEED)"));
  std::mt19937_64 rng(seed);
  const int cycles = CyclesFromEnv("STRATA_POWER_LOSS_CYCLES", kDefaultCycles);
  const int control_cycles =
      CyclesFromEnv("STRATA_POWER_LOSS_CONTROL_CYCLES", kDefaultControlCycles);

  TempDir tmp;
  const auto start = std::chrono::steady_clock::now();
  PhaseTotals sync;
  ASSERT_NO_FATAL_FAILURE(
      RunPhase("sync", tmp.Sub("sync"), "sync", cycles, /*durable=*/true, rng, &sync));
  const auto sync_end = std::chrono::steady_clock::now();
  PhaseTotals control;
  ASSERT_NO_FATAL_FAILURE(RunPhase("control(nosync)", tmp.Sub("nosync"), "nosync", control_cycles,
                                   /*durable=*/false, rng, &control));
  const auto end = std::chrono::steady_clock::now();
  auto ms = [](auto d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };

  std::printf(
      "power_loss_test: sync phase: %d cycles in %lld ms (children %lld ms, checks %lld ms), "
      "%zu appends / %zu events acknowledged, head %llu, %zu acknowledged-event checks "
      "(%d full checks), %zu lost\n",
      sync.cycles, ms(sync_end - start), ms(sync.child_time), ms(sync.check_time),
      sync.acked_appends, sync.acked_events, static_cast<unsigned long long>(sync.head),
      sync.checked, sync.full_checks, sync.lost);
  std::printf(
      "power_loss_test: control phase (kUnsafeNoSync): %d cycles in %lld ms, %zu events "
      "acknowledged, %d of %d cycles caught losing acknowledged events (%zu events lost)\n",
      control.cycles, ms(end - sync_end), control.acked_events, control.cycles_with_loss,
      control.cycles, control.lost);
  ::testing::Test::RecordProperty("cycles", sync.cycles);
  ::testing::Test::RecordProperty("acknowledged_events", absl::StrCat(sync.acked_events));
  ::testing::Test::RecordProperty("event_checks", absl::StrCat(sync.checked));
  ::testing::Test::RecordProperty("control_cycles", control.cycles);
  ::testing::Test::RecordProperty("control_cycles_caught", control.cycles_with_loss);

  EXPECT_GT(sync.acked_events, 0u) << "the child never acknowledged an append with sync on";
  EXPECT_EQ(sync.lost, 0u);
  EXPECT_GT(control.acked_events, 0u) << "the control child never acknowledged an append";
  EXPECT_GE(control.cycles_with_loss, 1)
      << "with sync off, no cycle lost an acknowledged event: the lossy Env or the checker "
         "cannot detect lost writes, so the sync phase proves nothing";
}

}  // namespace
}  // namespace strata
