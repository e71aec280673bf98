// Helpers for the strata CLI tests: run the built `strata` binary as a
// subprocess (capturing stdout, stderr and the exit code), follow a long-running
// one line by line, and a fixture with a real server on 127.0.0.1:0 over a temp
// data directory, on a fixed clock, filled with a known set of events.
// Not thread-safe; one per test.
#ifndef STRATA_TESTS_TOOLS_CLI_TEST_UTIL_H_
#define STRATA_TESTS_TOOLS_CLI_TEST_UTIL_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::cli_test {

namespace v1 = ::strata::v1;

// Fixed server clock: 2024-03-10T12:00:00Z.
inline constexpr int64_t kNowUs = 1710072000LL * 1000000;
inline constexpr int64_t kDayUs = 86400LL * 1000000;

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// A running `strata` child with its stdout and stderr as pipes.
class CliProcess {
 public:
  explicit CliProcess(const std::vector<std::string>& args) {
    int out_pipe[2];
    int err_pipe[2];
    EXPECT_EQ(pipe(out_pipe), 0);
    EXPECT_EQ(pipe(err_pipe), 0);
    // Everything the child needs is built before fork: the test process has
    // threads, so the child may only call async-signal-safe functions.
    std::string path = STRATA_CLI_PATH;
    std::vector<std::string> copy = args;
    std::vector<char*> argv = {path.data()};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out_pipe[1], 1);
      dup2(err_pipe[1], 2);
      close(out_pipe[0]);
      close(err_pipe[0]);
      close(out_pipe[1]);
      close(err_pipe[1]);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
  }

  ~CliProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Reads until stdout holds `lines` complete lines or `timeout` passes.
  std::string ReadLines(size_t lines, absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (CountLines(out_) < lines && absl::Now() < deadline && (out_fd_ >= 0 || err_fd_ >= 0)) {
      Pump(100);
    }
    return out_;
  }

  void Signal(int signal) { kill(pid_, signal); }

  // Reads both pipes to the end and waits for the exit code (60 s at most).
  CliResult Finish() {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while ((out_fd_ >= 0 || err_fd_ >= 0) && absl::Now() < deadline) Pump(100);
    if (out_fd_ >= 0 || err_fd_ >= 0) kill(pid_, SIGKILL);
    CliResult r;
    r.code = Wait();
    r.out = out_;
    r.err = err_;
    return r;
  }

 private:
  static size_t CountLines(const std::string& s) {
    return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
  }

  void Pump(int timeout_ms) {
    pollfd fds[2];
    int n = 0;
    if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
    if (poll(fds, n, timeout_ms) <= 0) return;
    for (int i = 0; i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const bool is_out = fds[i].fd == out_fd_;
      char buf[8192];
      const ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got <= 0) {
        close(fds[i].fd);
        (is_out ? out_fd_ : err_fd_) = -1;
        continue;
      }
      (is_out ? out_ : err_).append(buf, got);
    }
  }

  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

inline CliResult RunCli(const std::vector<std::string>& args) {
  CliProcess p(args);
  return p.Finish();
}

// Prints the command's output when an expectation fails.
inline std::string Describe(const CliResult& r) {
  return absl::StrCat("exit ", r.code, "\n--- stdout ---\n", r.out, "--- stderr ---\n", r.err);
}

// A test's data directory with a server started on it on demand.
class CliFixture : public ::testing::Test {
 protected:
  // Starts the server on dir_; `fixed_clock` pins recorded times to kNowUs.
  void StartServer(bool fixed_clock = true) {
    server::ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.kurrent_listen = "127.0.0.1:0";
    if (fixed_clock) options.log.clock_us = [] { return kNowUs; };
    options.projections.snapshot_interval_events = 4;
    options.projections.logger = NullLogger();
    auto server = server::StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
    kurrent_address_ = absl::StrCat("127.0.0.1:", server_->kurrent_port());
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    streams_ = v1::Streams::NewStub(channel_);
    commands_ = v1::LinkCommands::NewStub(channel_);
  }

  void StopServer() {
    streams_.reset();
    commands_.reset();
    channel_.reset();
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
  }

  void TearDown() override { StopServer(); }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }

  void Append(const std::string& stream, v1::ExpectedVersion::Kind kind, uint64_t version,
              const std::vector<v1::ProposedEvent>& events) {
    v1::AppendRequest req;
    req.set_stream(stream);
    req.mutable_expected_version()->set_kind(kind);
    req.mutable_expected_version()->set_version(version);
    for (const auto& e : events) *req.add_events() = e;
    v1::AppendResponse resp;
    grpc::Status s = streams_->Append(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  static v1::ProposedEvent Event(const std::string& id, const std::string& type,
                                 const std::string& content_type, const std::string& data,
                                 const std::string& metadata = "") {
    v1::ProposedEvent e;
    e.set_event_id(id);
    e.set_type(type);
    e.set_content_type(content_type);
    e.set_data(data);
    e.set_metadata(metadata);
    return e;
  }

  // Positions 1-5: generic events (JSON, binary, JSON-typed bytes that are not
  // JSON); 6-12: link "promo" created, five clicks, its destination updated.
  void Populate() {
    Append("orders-1", v1::ExpectedVersion::NO_STREAM, 0,
           {Event("00000000-0000-4000-8000-000000000001", "OrderPlaced", "application/json",
                  R"({"sku":"A1","qty":2})", R"({"user":"ann"})"),
            Event("00000000-0000-4000-8000-000000000002", "OrderPaid", "application/json",
                  R"({"paid":true})")});
    Append("orders-2", v1::ExpectedVersion::ANY, 0,
           {Event("00000000-0000-4000-8000-000000000003", "OrderPlaced", "application/json",
                  R"({"sku":"B7"})")});
    Append("blobs-1", v1::ExpectedVersion::ANY, 0,
           {Event("00000000-0000-4000-8000-000000000004", "Blob", "application/octet-stream",
                  std::string("\x00\x01\xff"
                              "bin",
                              6),
                  "m\n")});
    Append("orders-1", v1::ExpectedVersion::EXACT, 1,
           {Event("00000000-0000-4000-8000-000000000005", "OrderShipped", "application/json",
                  "not json")});
    v1::CommandResponse c;
    v1::CreateLinkRequest create;
    create.set_link_id("promo");
    create.set_destination("https://example.com/promo");
    create.set_owner("ann");
    create.set_request_id("create-promo");
    ASSERT_TRUE(commands_->CreateLink(Ctx().get(), create, &c).ok());
    struct ClickSpec {
      const char* country;
      v1::Device device;
      int64_t at;
    };
    const ClickSpec clicks[] = {{"DE", v1::MOBILE, kNowUs - 2 * kDayUs},
                                {"FR", v1::DESKTOP, kNowUs - 2 * kDayUs},
                                {"DE", v1::MOBILE, kNowUs},
                                {"", v1::BOT, kNowUs},
                                {"DE", v1::TABLET, kNowUs - 40 * kDayUs}};
    int n = 0;
    for (const ClickSpec& k : clicks) {
      v1::RecordClickRequest req;
      req.set_link_id("promo");
      req.set_country(k.country);
      req.set_device(k.device);
      req.set_clicked_at(k.at);
      req.set_request_id(absl::StrCat("click-", n++));
      ASSERT_TRUE(commands_->RecordClick(Ctx().get(), req, &c).ok());
    }
    v1::UpdateDestinationRequest up;
    up.set_link_id("promo");
    up.set_destination("https://example.org/new");
    up.set_expected_version(0);
    up.set_request_id("update-promo");
    ASSERT_TRUE(commands_->UpdateDestination(Ctx().get(), up, &c).ok());
    ASSERT_EQ(c.position(), 12u);
    WaitForProjections(12);
  }

  void WaitForProjections(uint64_t position) {
    for (const char* name : {"link_details", "link_clicks"}) {
      ASSERT_TRUE(server_->runtime().WaitFor(name, position, absl::Now() + absl::Seconds(20)).ok());
    }
  }

  std::vector<std::string> Server() const { return {"--server", address_}; }
  std::vector<std::string> DataDir() const { return {"--data_dir", dir_.path()}; }

  // `strata <args> <target>`.
  static std::vector<std::string> With(std::vector<std::string> args,
                                       const std::vector<std::string>& target) {
    args.insert(args.end(), target.begin(), target.end());
    return args;
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<server::StrataServer> server_;
  std::string address_;
  std::string kurrent_address_;  // the KurrentDB protocol
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Streams::Stub> streams_;
  std::unique_ptr<v1::LinkCommands::Stub> commands_;
};

// Replaces each match of `pattern` with `replacement`.
inline std::string Normalize(const std::string& text, const std::string& pattern,
                             const std::string& replacement) {
  return std::regex_replace(text, std::regex(pattern), replacement);
}

}  // namespace strata::cli_test

#endif  // STRATA_TESTS_TOOLS_CLI_TEST_UTIL_H_
