// Test helpers for kill -9 tests: the parent's side of a child process that
// reports on its stdout until the test kills it with SIGKILL at a chosen
// moment. Not thread-safe; one child at a time per caller.
#ifndef STRATA_TESTS_TESTUTIL_CHILD_PROCESS_H_
#define STRATA_TESTS_TESTUTIL_CHILD_PROCESS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace strata::testing {

// The seed of a randomized test: STRATA_TEST_SEED if it is set to a number,
// else a random one (the caller prints and records it so a run can repeat).
uint64_t ChooseSeed();

// When RunAndKillChild kills the child.
struct KillPlan {
  // How long after the fork (or, with wait_for_ready, after the "ready" line)
  // the child is killed.
  std::chrono::milliseconds kill_after{0};
  // Whether the child's first line, which must be exactly "ready", starts the
  // kill_after clock (for children that need time to open their store).
  bool wait_for_ready = false;
  // How long the child may take to write "ready".
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
};

// What RunAndKillChild saw of the child.
struct ChildRun {
  std::string output;   // everything the child wrote to stdout, after "ready" if awaited
  bool ready = false;   // the child wrote "ready" (only with wait_for_ready)
  bool killed = false;  // we sent SIGKILL
  int wait_status = 0;  // from waitpid
};

// Fork+execs argv[0] with `argv` and its stdout on a pipe, reads the pipe
// with poll() until the moment `plan` names, kills the child with SIGKILL,
// drains the pipe to EOF and reaps the child. Fails the test (fatally: call
// it in ASSERT_NO_FATAL_FAILURE) on system errors, when "ready" is late or
// not the first line, and unless the child died of that SIGKILL. The child
// never outlives a call, whatever fails.
void RunAndKillChild(const std::vector<std::string>& argv, const KillPlan& plan, ChildRun* run);

}  // namespace strata::testing

#endif  // STRATA_TESTS_TESTUTIL_CHILD_PROCESS_H_
