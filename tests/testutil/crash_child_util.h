// Both halves of the crash children's protocol (crash_test, power_loss_test,
// projection_crash_test): the child's command line and stdout, the appender
// threads that write one acknowledgement line per acknowledged append, and,
// for the parent, parsing those lines and checking a reopened log against
// them. No gtest here: checks return a status and the test asserts on it.
//
// An acknowledgement line, written with one write(2) so that a pipe gets it
// whole or not at all:
//   <first_position> <stream> <last_version> <event_id_1>,<event_id_2>,...\n
// Child exit codes: 2 usage, 3 open failed, 4 an append failed, 5 stdout
// failed.
#ifndef STRATA_TESTS_TESTUTIL_CRASH_CHILD_UTIL_H_
#define STRATA_TESTS_TESTUTIL_CRASH_CHILD_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/options.h"

namespace strata::crashtest {

// The appenders write to streams "<prefix>0".."<prefix>{kStreams - 1}".
inline constexpr int kStreams = 10;

// Child side.

// Parses a child's command line, `<data_dir> <seed>` and then `extra_args`
// more words (shown as `extra_usage` in the usage message), and returns the
// seed. On a wrong word count or a seed that is not a decimal number it says
// so on stderr and returns nullopt: the child then exits with 2.
std::optional<uint64_t> ParseChildArgs(const char* program, int argc, char** argv, int extra_args,
                                       const char* extra_usage);

// Opens the log in `data_dir` with `options`; on failure says why on stderr,
// naming `program`, and ends the process with exit code 3.
std::unique_ptr<EventLog> OpenLogOrExit(const char* program, const std::string& data_dir,
                                        EventLogOptions options = {});

// Writes `text` to stdout with one write(2), retrying on EINTR; any other
// outcome ends the process with exit code 5 after a message naming `program`.
void WriteToStdout(const char* program, absl::string_view text);

// Appends to `log` from 4 threads until the process is killed: batches of
// 1-5 events, ExpectedVersion::Any, to random streams "<stream_prefix>N",
// with random event ids and the data PayloadFor (crash_payload.h) derives
// from each id, seeded by `seed` and the thread. After each acknowledged
// append a thread writes its acknowledgement line under a mutex. A failed
// append ends the process with exit code 4.
void AppendAndAcknowledgeForever(const char* program, EventLog* log, uint64_t seed,
                                 absl::string_view stream_prefix);

// Parent side.

// One acknowledged append, as reported by the child.
struct Ack {
  GlobalPosition first_position = 0;
  std::string stream;
  StreamVersion last_version = 0;
  std::vector<EventId> ids;
};

// Appends to *acks the acknowledgements in the complete lines of a child's
// `output` (a line cut by the kill was never fully reported, so it does not
// count) and adds their number of events to *events. InvalidArgument names
// the first malformed line.
absl::Status ParseAcks(absl::string_view output, std::vector<Ack>* acks, size_t* events);

// What one check found. `lost` counts acknowledged events that are not at
// their reported position (the durability promise); every other finding is a
// structural fault that no durability mode may produce (an error status).
struct CheckOutcome {
  GlobalPosition head = 0;
  size_t checked = 0;      // acknowledged events checked
  size_t lost = 0;         // acknowledged events missing or displaced
  std::string first_loss;  // a description of the first one
};

// Checks the log of a crash child's data directory after each kill, against
// the acknowledgements the child reported. Each check opens the log with
// RocksDB's default Env, checks it and closes it. The checker remembers what
// the last check verified (the head, each stream's next version, the position
// of each stored event id), so one checker follows one directory through
// many kills. Not thread-safe.
class RecoveredLogChecker {
 public:
  RecoveredLogChecker(std::string data_dir, std::string stream_prefix);

  // Checks the whole log: the head did not move back; positions are dense,
  // each stream's versions dense from 0 (also through StreamLastVersion and
  // ReadStream), each event id stored once with the data derived from it;
  // every event stored at the last check is still at its position; every
  // acknowledgement in `acks` is at its reported place; RocksDB's checksums
  // of every file verify.
  absl::Status CheckAll(const std::vector<Ack>& acks, CheckOutcome* outcome);

  // Checks what changed since the last check: the head did not move back; the
  // same structure for the events after the last check's head (continuing its
  // streams' versions and ids); acks[new_from..] at their reported places,
  // and `sample` earlier acknowledgements picked with `rng`, read back with
  // ReadEvent.
  absl::Status CheckNew(const std::vector<Ack>& acks, size_t new_from, int sample,
                        std::mt19937_64& rng, CheckOutcome* outcome);

 private:
  // What is known to be stored after the last check: the log up to `head`,
  // checked; each stream's next version; each stored event id's position.
  struct Verified {
    GlobalPosition head = 0;
    std::map<std::string, StreamVersion> next_version;
    absl::flat_hash_map<EventId, GlobalPosition> position_of;
  };

  // CheckAll (full) or CheckNew: opens the log and checks what they say.
  absl::Status Check(const std::vector<Ack>& acks, bool full, size_t new_from, int sample,
                     std::mt19937_64* rng, CheckOutcome* outcome);

  const std::string data_dir_;
  const std::string stream_prefix_;
  Verified verified_;
};

}  // namespace strata::crashtest

#endif  // STRATA_TESTS_TESTUTIL_CRASH_CHILD_UTIL_H_
