// What the strata CLI's subcommands share (common.h): Ctrl-C handling that
// cancels registered calls, error and usage reporting, Connection (to a
// running server, or one started in-process on a data directory), and the
// offline opening of a data directory.
#include "tools/commands/common.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/client_channel.h"
#include "api/grpc_status.h"
#include "engine/base/macros.h"
#include "links/links.h"
#include "rocksdb/env.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

constexpr char kLocalPayload[] = "strata.cli/local";

std::atomic<bool> g_interrupted{false};

// Never destroyed: the watcher thread may use them while the process exits.
std::mutex& ContextsMutex() {
  static auto* mu = new std::mutex();
  return *mu;
}
std::set<grpc::ClientContext*>& Contexts() {
  static auto* contexts = new std::set<grpc::ClientContext*>();
  return *contexts;
}

void OnSignal(int) { g_interrupted.store(true); }

// Cancels the registered calls once a signal arrived; polls, because a
// signal handler may not take locks.
void WatchInterrupts() {
  while (!g_interrupted.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::lock_guard<std::mutex> lock(ContextsMutex());
  for (grpc::ClientContext* c : Contexts()) c->TryCancel();
}

}  // namespace

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills the process
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::thread(WatchInterrupts).detach();
}

bool Interrupted() { return g_interrupted.load(); }

CancelOnInterrupt::CancelOnInterrupt(grpc::ClientContext* context) : context_(context) {
  std::lock_guard<std::mutex> lock(ContextsMutex());
  Contexts().insert(context_);
  if (g_interrupted.load()) context_->TryCancel();
}

CancelOnInterrupt::~CancelOnInterrupt() {
  std::lock_guard<std::mutex> lock(ContextsMutex());
  Contexts().erase(context_);
}

absl::Status LocalError(absl::StatusCode code, const std::string& message) {
  absl::Status s(code, message);
  s.SetPayload(kLocalPayload, absl::Cord("1"));
  return s;
}

int Fail(const absl::Status& status) {
  if (Interrupted()) {
    WriteAll(stderr, "strata: interrupted\n");
    return kExitInterrupted;
  }
  if (status.GetPayload(kLocalPayload).has_value()) return FailWith(std::string(status.message()));
  WriteAll(stderr, absl::StrCat("strata: ", absl::StatusCodeToString(status.code()), ": ",
                                status.message(), "\n"));
  return kExitFailure;
}

int FailWith(const std::string& message) {
  WriteAll(stderr, absl::StrCat("strata: ", message, "\n"));
  return kExitFailure;
}

int UsageError(const CommandSpec& spec, const std::string& message) {
  WriteAll(stderr, absl::StrCat("strata ", spec.path, ": ", message, "\n\n", Usage(spec)));
  return kExitUsage;
}

std::optional<Args> ParseTargetOrExit(const CommandSpec& spec,
                                      const std::vector<std::string>& argv, int* exit_code) {
  std::optional<Args> args = ParseOrExit(spec, argv, exit_code);
  if (!args.has_value()) return std::nullopt;
  if (absl::Status s = CheckTarget(*args); !s.ok()) {
    *exit_code = UsageError(spec, std::string(s.message()));
    return std::nullopt;
  }
  return args;
}

bool ReadUintsOrExit(
    const CommandSpec& spec, const Args& args,
    std::initializer_list<std::pair<const char*, std::optional<uint64_t>*>> flags,
    int* exit_code) {
  for (const auto& [name, slot] : flags) {
    absl::StatusOr<std::optional<uint64_t>> value = args.GetUint(name);
    if (!value.ok()) {
      *exit_code = UsageError(spec, std::string(value.status().message()));
      return false;
    }
    *slot = *value;
  }
  return true;
}

std::optional<Args> ParseOrExit(const CommandSpec& spec, const std::vector<std::string>& argv,
                                int* exit_code) {
  absl::StatusOr<Args> args = ParseArgs(spec, argv);
  if (!args.ok()) {
    *exit_code = UsageError(spec, std::string(args.status().message()));
    return std::nullopt;
  }
  if (args->help()) {
    WriteAll(stdout, Usage(spec));
    *exit_code = kExitOk;
    return std::nullopt;
  }
  return std::move(*args);
}

absl::Status CheckTarget(const Args& args) {
  if (args.Has("server") && args.Has("data-dir")) {
    return absl::InvalidArgumentError(
        "--server and --data_dir exclude each other: talk to a running server or open a stopped "
        "one's data directory");
  }
  return absl::OkStatus();
}

// ---- Connection ----

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const Args& args) {
  std::unique_ptr<Connection> c(new Connection());
  absl::StatusOr<std::optional<double>> timeout = args.GetDouble("timeout");
  if (timeout.ok() && timeout->has_value() && **timeout > 0) {
    c->timeout_ = absl::Seconds(**timeout);
  }
  std::string address;
  if (std::optional<std::string> dir = args.Get("data-dir"); dir.has_value()) {
    STRATA_RETURN_IF_ERROR(CheckHasLog(*dir));
    server::ServerOptions options;
    options.data_dir = *dir;
    options.listen = "127.0.0.1:0";
    options.log.create_if_missing = false;
    // The in-process server's lines (start-up, projection progress) are not
    // this command's output.
    options.logger = NullLogger();
    // Offline commands wait for the read models to catch up with the log.
    options.default_wait = absl::Hours(1);
    absl::StatusOr<std::unique_ptr<server::StrataServer>> server =
        server::StrataServer::Start(options);
    if (!server.ok()) return ExplainOpenError(*dir, server.status());
    c->server_ = std::move(*server);
    address = absl::StrCat("127.0.0.1:", c->server_->port());
    c->target_ = absl::StrCat("data directory ", *dir);
    if (c->timeout_ < absl::Hours(1)) c->timeout_ = absl::Hours(1);
  } else {
    address = args.GetOr("server", kDefaultServer);
    c->server_flag_ = args.GetOr("server", "");
    c->target_ = address;
  }
  api::ClientSecurity security;
  if (c->server_ == nullptr) {  // the in-process server is plaintext and open, on loopback
    const char* env_token = std::getenv("STRATA_TOKEN");
    security.token = args.GetOr("token", env_token == nullptr ? "" : env_token);
    security.use_tls = args.Has("tls");
    security.tls_ca_file = args.GetOr("tls-ca", "");
    security.tls_cert_file = args.GetOr("tls-cert", "");
    security.tls_key_file = args.GetOr("tls-key", "");
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      api::NewChannel(address, security, channel_args);
  if (!channel.ok()) {
    return LocalError(channel.status().code(), std::string(channel.status().message()));
  }
  c->channel_ = *std::move(channel);
  c->streams_ = v1::Streams::NewStub(c->channel_);
  c->commands_ = v1::LinkCommands::NewStub(c->channel_);
  c->queries_ = v1::LinkQueries::NewStub(c->channel_);
  c->projections_ = v1::Projections::NewStub(c->channel_);
  c->projection_queries_ = v1::ProjectionQueries::NewStub(c->channel_);
  c->admin_ = v1::Admin::NewStub(c->channel_);
  return c;
}

Connection::~Connection() {
  streams_.reset();
  commands_.reset();
  queries_.reset();
  projections_.reset();
  projection_queries_.reset();
  admin_.reset();
  channel_.reset();
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
}

std::unique_ptr<grpc::ClientContext> Connection::Context(bool deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
  }
  return ctx;
}

absl::Status Explain(const Connection& connection, const grpc::Status& status) {
  absl::Status s = api::FromGrpc(status);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !connection.offline()) {
    return absl::UnavailableError(absl::StrCat(status.error_message(), " (server ",
                                               connection.target(), ": is stratad running?)"));
  }
  return s;
}

// ---- Offline ----


absl::Status CheckHasLog(const std::string& data_dir) {
  STRATA_RETURN_IF_ERROR(CheckLogExists(data_dir));
  return CheckNotInUse(data_dir);
}

absl::Status CheckLogExists(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return LocalError(absl::StatusCode::kNotFound,
                      absl::StrCat("data directory ", data_dir, " does not exist"));
  }
  if (!std::filesystem::exists(std::filesystem::path(LogDir(data_dir)) / "CURRENT", ec)) {
    return LocalError(absl::StatusCode::kNotFound,
                      absl::StrCat("data directory ", data_dir, " has no event log (no ",
                                   LogDir(data_dir), "/CURRENT)"));
  }
  return absl::OkStatus();
}

absl::Status CheckNotInUse(const std::string& data_dir) {
  for (const std::string& dir : {LogDir(data_dir), ProjectionsDir(data_dir)}) {
    std::error_code ec;
    const std::string lock_path = dir + "/LOCK";
    if (!std::filesystem::exists(lock_path, ec)) continue;
    rocksdb::FileLock* lock = nullptr;
    rocksdb::Status s = rocksdb::Env::Default()->LockFile(lock_path, &lock);
    if (!s.ok()) {
      return LocalError(
          absl::StatusCode::kUnavailable,
          absl::StrCat("data directory ", data_dir, " is in use (is stratad running?)"));
    }
    rocksdb::Env::Default()->UnlockFile(lock).PermitUncheckedError();
  }
  return absl::OkStatus();
}

absl::Status ExplainOpenError(const std::string& data_dir, const absl::Status& status) {
  const std::string message(status.message());
  if (absl::StrContains(message, "/LOCK") ||
      absl::StrContains(message, "in use by another process") ||
      absl::StrContains(message, "lock hold")) {
    return LocalError(
        absl::StatusCode::kUnavailable,
        absl::StrCat("data directory ", data_dir, " is in use (is stratad running?)"));
  }
  return status;
}

absl::StatusOr<std::unique_ptr<EventLog>> OpenOfflineLog(const std::string& data_dir,
                                                         OfflineAccess access) {
  switch (access) {
    case OfflineAccess::kRead:
      STRATA_RETURN_IF_ERROR(CheckLogExists(data_dir));
      break;
    case OfflineAccess::kWrite:
      STRATA_RETURN_IF_ERROR(CheckHasLog(data_dir));
      break;
    case OfflineAccess::kCreate:
      STRATA_RETURN_IF_ERROR(CheckNotInUse(data_dir));
      break;
  }
  EventLogOptions options;
  options.create_if_missing = access == OfflineAccess::kCreate;
  options.read_only = access == OfflineAccess::kRead;
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(LogDir(data_dir), options);
  if (!log.ok()) return ExplainOpenError(data_dir, log.status());
  return log;
}

absl::StatusOr<OfflineStore> OpenOfflineStore(const std::string& data_dir) {
  OfflineStore store;
  STRATA_ASSIGN_OR_RETURN(store.log, OpenOfflineLog(data_dir, OfflineAccess::kRead));
  ProjectionRuntimeOptions options;
  options.read_only = true;
  options.logger = NullLogger();  // the answers say what matters
  STRATA_ASSIGN_OR_RETURN(
      store.runtime, ProjectionRuntime::Open(ProjectionsDir(data_dir), store.log.get(), options));
  for (std::shared_ptr<Projection>& p : links::Projections()) {
    STRATA_RETURN_IF_ERROR(store.runtime->Register(std::move(p)));
  }
  return store;
}

}  // namespace strata::cli
