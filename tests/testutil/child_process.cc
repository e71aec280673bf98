#include "tests/testutil/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

// After the kill, EOF on the pipe must come within this.
constexpr int kEofTimeoutMs = 30'000;

// Kills (unless RunAndKillChild already did) and reaps the child and closes
// the pipe when RunAndKillChild returns early, so a failed assertion never
// leaves the child running. Disarm() hands the reaping back to the caller.
class ChildReaper {
 public:
  ChildReaper(pid_t pid, int fd, ChildRun* run) : pid_(pid), fd_(fd), run_(run) {}
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;
  ~ChildReaper() {
    if (pid_ > 0) {
      if (!run_->killed) ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &run_->wait_status, 0) < 0 && errno == EINTR) {
      }
    }
    ::close(fd_);
  }
  void Disarm() { pid_ = -1; }

 private:
  pid_t pid_;
  int fd_;
  ChildRun* run_;
};

}  // namespace

uint64_t ChooseSeed() {
  const char* env = std::getenv("STRATA_TEST_SEED");
  uint64_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

void RunAndKillChild(const std::vector<std::string>& argv, const KillPlan& plan, ChildRun* run) {
  ASSERT_FALSE(argv.empty());
  // Built before the fork: the child only calls dup2, execv and _exit.
  std::vector<std::string> args = argv;
  std::vector<char*> exec_argv;
  for (std::string& arg : args) exec_argv.push_back(arg.data());
  exec_argv.push_back(nullptr);

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: stdout becomes the pipe (dup2 clears O_CLOEXEC on fd 1).
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
    ::execv(exec_argv[0], exec_argv.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(fds[1]);
  ChildReaper reaper(pid, fds[0], run);
  ASSERT_GT(pid, 0) << "fork: " << std::strerror(fork_errno);

  std::optional<Clock::time_point> kill_at;
  if (!plan.wait_for_ready) kill_at = start + plan.kill_after;
  const auto ready_deadline = start + plan.ready_timeout;
  char buf[1 << 16];
  bool eof = false;
  while (!eof) {
    int timeout_ms = kEofTimeoutMs;
    if (!run->killed) {
      const auto now = Clock::now();
      if (kill_at.has_value() && now >= *kill_at) {
        ASSERT_EQ(::kill(pid, SIGKILL), 0) << std::strerror(errno);
        run->killed = true;
        continue;
      }
      ASSERT_TRUE(kill_at.has_value() || now < ready_deadline)
          << "the child did not write 'ready' within " << plan.ready_timeout.count() << " ms";
      const auto until = kill_at.has_value() ? *kill_at : ready_deadline;
      timeout_ms = static_cast<int>(
          std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(until - now).count()));
    }
    pollfd p{fds[0], POLLIN, 0};
    const int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0) {
      ASSERT_EQ(errno, EINTR) << std::strerror(errno);
      continue;
    }
    if (rc == 0) {
      ASSERT_FALSE(run->killed) << "no EOF on the child's pipe " << kEofTimeoutMs / 1000
                                << " s after SIGKILL";
      continue;  // a deadline passed: the loop head acts on it
    }
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      run->output.append(buf, static_cast<size_t>(n));
      const size_t nl =
          plan.wait_for_ready && !run->ready ? run->output.find('\n') : std::string::npos;
      if (nl != std::string::npos) {
        ASSERT_EQ(run->output.substr(0, nl), "ready") << "the child's first line";
        run->ready = true;
        kill_at = Clock::now() + plan.kill_after;
        run->output.erase(0, nl + 1);
      }
    } else if (n == 0) {
      eof = true;
    } else {
      ASSERT_EQ(errno, EINTR) << std::strerror(errno);
    }
  }
  reaper.Disarm();
  pid_t waited;
  do {
    waited = ::waitpid(pid, &run->wait_status, 0);
  } while (waited < 0 && errno == EINTR);
  ASSERT_EQ(waited, pid) << std::strerror(errno);
  ASSERT_TRUE(run->ready || !plan.wait_for_ready)
      << "the child exited before writing 'ready', wait status " << run->wait_status;
  ASSERT_TRUE(run->killed) << "the child exited before the kill, wait status "
                           << run->wait_status;
  ASSERT_TRUE(WIFSIGNALED(run->wait_status) && WTERMSIG(run->wait_status) == SIGKILL)
      << "wait status " << run->wait_status;
}

}  // namespace strata::testing
