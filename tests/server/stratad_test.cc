// The stratad binary as an operator runs it: --help, a start-up line naming
// the address, data directory and recovered head, a clean stop on SIGTERM and
// SIGINT (exit 0, appends acknowledged before the signal kept), and a clear
// one-line error for an address it cannot bind, and no log line a client can
// provoke with a malformed request; no crash-point hook in the released binary.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/testutil/temp_dir.h"

namespace {

using ::testing::HasSubstr;

struct Child {
  pid_t pid = -1;
  int err_fd = -1;  // the child's stderr
};

Child Spawn(const std::vector<std::string>& args) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(pipe_fds[1], 2);
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    std::vector<char*> argv;
    std::string path = STRATAD_PATH;
    argv.push_back(path.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  c.err_fd = pipe_fds[0];
  return c;
}

// Reads the child's output until `pattern` matches or it closes (10 s max).
std::string ReadUntil(int fd, const std::regex& pattern, std::smatch* match) {
  std::string out;
  char buf[4096];
  for (int waited_ms = 0; waited_ms < 10000;) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r == 0) {
      waited_ms += 100;
      continue;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, n);
    if (std::regex_search(out, *match, pattern)) break;
  }
  return out;
}

int WaitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ReadRest(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

TEST(StratadTest, HelpListsTheFlags) {
  Child c = Spawn({"--help"});
  std::string out = ReadRest(c.err_fd);
  EXPECT_EQ(WaitExit(c.pid), 0);
  EXPECT_THAT(out, HasSubstr("--data_dir"));
  EXPECT_THAT(out, HasSubstr("--listen"));
  EXPECT_THAT(out, HasSubstr("--kurrent_listen"));
  EXPECT_THAT(out, HasSubstr("--http_listen"));
  EXPECT_THAT(out, HasSubstr("--unsafe_no_sync"));
}

TEST(StratadTest, StopsCleanlyOnSignalsAndKeepsAcknowledgedAppends) {
  strata::testing::TempDir dir;
  for (int signal : {SIGTERM, SIGINT}) {
    Child c = Spawn(
        {"--data_dir", dir.path(), "--listen", "127.0.0.1:0", "--kurrent_listen", "127.0.0.1:0",
         "--http_listen", "127.0.0.1:0"});
    std::smatch m;
    std::string out = ReadUntil(
        c.err_fd, std::regex(R"(port (\d+)\), data directory '[^']+', recovered head position (\d+))"),
        &m);
    ASSERT_EQ(m.size(), 3u) << out;
    const int port = std::stoi(m[1]);
    const uint64_t recovered = std::stoull(m[2]);
    EXPECT_EQ(recovered, signal == SIGTERM ? 0u : 2u);

    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                       grpc::InsecureChannelCredentials());
    auto streams = strata::v1::Streams::NewStub(channel);
    strata::v1::AppendRequest req;
    req.set_stream("s");
    req.mutable_expected_version()->set_kind(strata::v1::ExpectedVersion::ANY);
    req.add_events()->set_type("T");
    req.add_events()->set_type("T");
    strata::v1::AppendResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    ASSERT_TRUE(streams->Append(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.last_position(), recovered + 2);

    kill(c.pid, signal);
    out += ReadRest(c.err_fd);
    EXPECT_EQ(WaitExit(c.pid), 0) << out;
    EXPECT_THAT(out, HasSubstr("shutting down"));
    EXPECT_THAT(out, HasSubstr("stopped cleanly"));
    // A clean stop flushes the memtables: no write-ahead log is left to
    // replay on the next start.
    for (const char* sub : {"log", "projections"}) {
      for (const auto& f : std::filesystem::directory_iterator(dir.path() + "/" + sub)) {
        if (f.path().extension() == ".log") {
          EXPECT_EQ(f.file_size(), 0u) << f.path();
        }
      }
    }
  }
}

// A request protobuf refuses (invalid UTF-8) is answered INVALID_ARGUMENT
// naming the field, and leaves no line in the server's log: otherwise any
// client could write to it at will.
TEST(StratadTest, InvalidUtf8IsAnsweredAndNotLogged) {
  strata::testing::TempDir dir;
  Child c = Spawn(
      {"--data_dir", dir.path(), "--listen", "127.0.0.1:0", "--kurrent_listen", "127.0.0.1:0",
         "--http_listen", "127.0.0.1:0"});
  std::smatch m;
  std::string out =
      ReadUntil(c.err_fd, std::regex(R"(stratad listening on \S+ \(port (\d+)\))"), &m);
  ASSERT_EQ(m.size(), 2u) << out;
  auto streams = strata::v1::Streams::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", std::stoi(m[1])), grpc::InsecureChannelCredentials()));
  strata::v1::AppendRequest req;
  req.set_stream(std::string("bad-\xFF", 5));
  req.add_events()->set_type("T");
  for (int i = 0; i < 3; ++i) {
    strata::v1::AppendResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    const grpc::Status s = streams->Append(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "stream: not valid UTF-8");
  }
  kill(c.pid, SIGTERM);
  out += ReadRest(c.err_fd);
  EXPECT_EQ(WaitExit(c.pid), 0) << out;
  EXPECT_THAT(out, ::testing::Not(HasSubstr("UTF-8"))) << out;
}

TEST(StratadTest, UnusableAddressIsOneClearLine) {
  strata::testing::TempDir dir;
  Child c = Spawn({"--data_dir", dir.path(), "--listen", "256.1.1.1:99999", "--kurrent_listen", "",
                   "--http_listen", "", "--insecure"});
  std::string out = ReadRest(c.err_fd);
  EXPECT_EQ(WaitExit(c.pid), 1);
  EXPECT_THAT(out, HasSubstr("Z error server: UNAVAILABLE: cannot listen on '256.1.1.1:99999'"));
}

// A public address without TLS is refused at start, before the data
// directory is created, with one line saying what to give.
TEST(StratadTest, RefusesAPublicAddressWithoutTls) {
  strata::testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  Child c = Spawn(
      {"--data_dir", data, "--listen", "0.0.0.0:0", "--kurrent_listen", "", "--http_listen", ""});
  std::string out = ReadRest(c.err_fd);
  EXPECT_EQ(WaitExit(c.pid), 1);
  ASSERT_GT(out.size(), 25u);  // after the time: one line
  EXPECT_EQ(out.substr(25),
            "error server: FAILED_PRECONDITION: refusing to serve plaintext on the non-loopback "
            "address --listen=0.0.0.0:0: give --tls_cert and --tls_key, or --insecure to do it "
            "on purpose\n");
  EXPECT_FALSE(std::filesystem::exists(data));
}

// --log_format json: every line stratad writes is one JSON object with its
// time, level, component and message; an unknown format is a usage error.
TEST(StratadTest, JsonLogLines) {
  strata::testing::TempDir dir;
  Child c = Spawn({"--data_dir", dir.path(), "--listen", "127.0.0.1:0", "--kurrent_listen",
                   "127.0.0.1:0", "--log_format", "json"});
  std::smatch m;
  std::string out = ReadUntil(c.err_fd, std::regex(R"(recovered head position (\d+))"), &m);
  ASSERT_EQ(m.size(), 2u) << out;
  kill(c.pid, SIGTERM);
  out += ReadRest(c.err_fd);
  EXPECT_EQ(WaitExit(c.pid), 0) << out;
  const std::regex line(
      R"re(\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","level":"(info|warning|error)",)re"
      R"re("component":"[a-z]+","msg":"([^"\\]|\\.)*"\})re");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << out;
  for (const std::string& l : lines) EXPECT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_THAT(out, HasSubstr(R"("level":"info","component":"server","msg":"stratad listening on )"
                             R"(127.0.0.1:0 (port )"));
  EXPECT_THAT(out, HasSubstr(R"("component":"projections","msg":"projection link_clicks v1 )"));
  EXPECT_THAT(lines.back(), HasSubstr(R"("msg":"stopped cleanly"})"));

  Child bad = Spawn({"--data_dir", dir.path(), "--log_format", "xml"});
  out = ReadRest(bad.err_fd);
  EXPECT_EQ(WaitExit(bad.pid), 2);
  EXPECT_EQ(out, "stratad: --log_format: 'xml' is neither text nor json\n");
}

// Crash points are a test build's: the released binary holds no trace of the
// variable that arms them, the test build (the control) does.
TEST(StratadTest, ReleaseBinaryHasNoCrashPointHook) {
  auto contents = [](const char* path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string release = contents(STRATAD_PATH);
  const std::string test_build = contents(STRATAD_TEST_HOOKS_PATH);
  ASSERT_GT(release.size(), 1000u);
  EXPECT_EQ(release.find("STRATA_CRASH_POINT"), std::string::npos);
  EXPECT_NE(test_build.find("STRATA_CRASH_POINT"), std::string::npos);
}

}  // namespace
