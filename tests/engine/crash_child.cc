// strata_crash_child: the writing half of crash_test. Usage:
//   strata_crash_child <data_dir> <seed>
// Opens the log in <data_dir> and appends from 4 threads until killed: batches
// of 1-5 events, ExpectedVersion::Any, to random streams "c-0".."c-9", with
// explicit random event ids and 10-500 bytes of data derived from each id
// (crash_payload.h). After each acknowledged append it writes one line to
// stdout, in a single write(2) under a mutex:
//   <first_position> <stream> <last_version> <event_id_1>,<event_id_2>,...\n
// so the parent knows exactly which appends were acknowledged before the kill
// (tests/testutil/crash_child_util.h).
// Exit codes: 2 usage, 3 open failed, 4 an append failed, 5 stdout failed.

#include <cstdint>
#include <memory>
#include <optional>

#include "engine/event_log.h"
#include "tests/testutil/crash_child_util.h"

namespace {

constexpr char kProgram[] = "strata_crash_child";

}  // namespace

int main(int argc, char** argv) {
  const std::optional<uint64_t> seed =
      strata::crashtest::ParseChildArgs(kProgram, argc, argv, /*extra_args=*/0, "");
  if (!seed.has_value()) return 2;
  std::unique_ptr<strata::EventLog> log = strata::crashtest::OpenLogOrExit(kProgram, argv[1]);
  strata::crashtest::AppendAndAcknowledgeForever(kProgram, log.get(), *seed, "c-");
  return 0;
}
