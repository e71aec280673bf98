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
// (tests/testutil/crash_child_util.h).
// Exit codes: 2 usage, 3 open failed, 4 an append failed, 5 stdout failed.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "engine/event_log.h"
#include "engine/options.h"
#include "tests/reliability/fault_env.h"
#include "tests/testutil/crash_child_util.h"

namespace {

constexpr char kProgram[] = "strata_power_loss_child";

}  // namespace

int main(int argc, char** argv) {
  const std::optional<uint64_t> seed =
      strata::crashtest::ParseChildArgs(kProgram, argc, argv, /*extra_args=*/1, "<sync|nosync>");
  if (!seed.has_value()) return 2;
  const bool sync = std::strcmp(argv[3], "sync") == 0;
  if (!sync && std::strcmp(argv[3], "nosync") != 0) {
    std::fprintf(stderr, "usage: %s <data_dir> <seed> <sync|nosync>\n", argv[0]);
    return 2;
  }
  // Never destroyed: the process ends by SIGKILL, and the Env must outlive the
  // log in any case.
  auto* fault_env = new strata::testing::FaultEnv();
  fault_env->fs().SetLossy(true);
  strata::EventLogOptions options;
  options.env = fault_env->env();
  options.durability = sync ? strata::Durability::kSync : strata::Durability::kUnsafeNoSync;
  std::unique_ptr<strata::EventLog> log =
      strata::crashtest::OpenLogOrExit(kProgram, argv[1], std::move(options));
  strata::crashtest::WriteToStdout(kProgram, "ready\n");
  strata::crashtest::AppendAndAcknowledgeForever(kProgram, log.get(), *seed, "p-");
  return 0;
}
