// What every strata subcommand shares: exit codes, Ctrl-C handling, error
// reporting, argument parsing with --help, the connection to a server (a
// running one over --server, or one started in-process on a stopped server's
// --data_dir for the writing commands) and the offline opening of a data
// directory, read-only for the commands that only read.
//
// Thread-safety: Interrupted() and the interrupt registry are thread-safe;
// everything else belongs to the main thread.
#ifndef STRATA_TOOLS_COMMANDS_COMMON_H_
#define STRATA_TOOLS_COMMANDS_COMMON_H_

#include <memory>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "grpcpp/grpcpp.h"
#include "projections/data_dir.h"
#include "projections/runtime/runtime.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tools/commands/args.h"

namespace strata::cli {

namespace v1 = ::strata::v1;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;        // findings, or a failed request
inline constexpr int kExitUsage = 2;          // unknown subcommand or flag, missing argument
inline constexpr int kExitInterrupted = 130;  // Ctrl-C before the command finished

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

// ---- Ctrl-C ----

// SIGINT and SIGTERM set a flag (a second one kills the process) and cancel
// every registered gRPC call.
void InstallInterruptHandler();
bool Interrupted();

// Registers `context` to be cancelled on Ctrl-C while this object lives.
class CancelOnInterrupt {
 public:
  explicit CancelOnInterrupt(grpc::ClientContext* context);
  ~CancelOnInterrupt();
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

 private:
  grpc::ClientContext* context_;
};

// ---- Errors ----

// An error about local state (a data directory in use, a bad file) that is
// printed as "strata: <message>" without a status code name.
absl::Status LocalError(absl::StatusCode code, const std::string& message);

// Prints one line for `status` to stderr and returns the exit code: 130 when
// interrupted; otherwise "strata: <CODE>: <message>" (or "strata: <message>"
// for a LocalError) and 1.
int Fail(const absl::Status& status);
// Prints "strata: <message>" and returns 1.
int FailWith(const std::string& message);
// Prints "strata <path>: <message>" and the command's usage to stderr;
// returns 2.
int UsageError(const CommandSpec& spec, const std::string& message);

// Parses `argv` for `spec`. Returns nullopt with `*exit_code` set when the
// command must end now: 0 after printing --help, 2 after a usage error.
std::optional<Args> ParseOrExit(const CommandSpec& spec, const std::vector<std::string>& argv,
                                int* exit_code);

// --server and --data_dir exclude each other; InvalidArgument otherwise.
absl::Status CheckTarget(const Args& args);

// ParseOrExit, then CheckTarget: giving both --server and --data_dir is a
// usage error (exit code 2).
std::optional<Args> ParseTargetOrExit(const CommandSpec& spec,
                                      const std::vector<std::string>& argv, int* exit_code);

// Reads each named unsigned flag into its slot (nullopt when absent). A
// malformed value is a usage error: returns false with `*exit_code` = 2.
bool ReadUintsOrExit(
    const CommandSpec& spec, const Args& args,
    std::initializer_list<std::pair<const char*, std::optional<uint64_t>*>> flags,
    int* exit_code);

// ---- Talking to a server ----

// A client of a running server (--server) or, for the commands that write
// offline (projections rebuild, demo), of a server started in-process on
// 127.0.0.1:0 over a stopped server's data directory (--data_dir). Commands
// that only read open the directory read-only instead (OpenOfflineStore).
class Connection {
 public:
  // Errors: a LocalError when the data directory has no event log or is in
  // use, or the in-process server's error.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const Args& args);
  ~Connection();

  v1::Streams::Stub& streams() { return *streams_; }
  v1::LinkCommands::Stub& commands() { return *commands_; }
  v1::LinkQueries::Stub& queries() { return *queries_; }
  v1::Projections::Stub& projections() { return *projections_; }
  v1::ProjectionQueries::Stub& projection_queries() { return *projection_queries_; }
  v1::Admin::Stub& admin() { return *admin_; }

  // A context with the request deadline (--timeout, default 30 s; none when
  // `deadline` is false, for reads that stream the whole log).
  std::unique_ptr<grpc::ClientContext> Context(bool deadline = true) const;

  bool offline() const { return server_ != nullptr; }
  // "127.0.0.1:50051", or the data directory when offline.
  const std::string& target() const { return target_; }
  // The --server value when given explicitly (for printing commands to try).
  const std::string& server_flag() const { return server_flag_; }

 private:
  Connection() = default;
  std::unique_ptr<server::StrataServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Streams::Stub> streams_;
  std::unique_ptr<v1::LinkCommands::Stub> commands_;
  std::unique_ptr<v1::LinkQueries::Stub> queries_;
  std::unique_ptr<v1::Projections::Stub> projections_;
  std::unique_ptr<v1::ProjectionQueries::Stub> projection_queries_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  absl::Duration timeout_ = absl::Seconds(30);
  std::string target_;
  std::string server_flag_;
};

// Adds the target to an UNAVAILABLE status from the client ("... (server
// 127.0.0.1:50051: is stratad running?)").
absl::Status Explain(const Connection& connection, const grpc::Status& status);

// ---- Offline ----


// A LocalError unless <data_dir>/log holds an event log.
absl::Status CheckLogExists(const std::string& data_dir);
// CheckLogExists, then CheckNotInUse.
absl::Status CheckHasLog(const std::string& data_dir);
// A LocalError "data directory D is in use (is stratad running?)" when another
// process holds the log or projection store of `data_dir`.
absl::Status CheckNotInUse(const std::string& data_dir);
// Turns a store's lock error into "data directory D is in use (is stratad
// running?)"; other errors pass through.
absl::Status ExplainOpenError(const std::string& data_dir, const absl::Status& status);

enum class OfflineAccess {
  kRead,    // read-only (RocksDB secondary mode): writes nothing, works beside a running server
  kWrite,   // an existing log, for appends (refused while a server holds it)
  kCreate,  // as kWrite, creating the log when missing
};

// A data directory opened read-only in process (RocksDB secondary mode): the
// log and the projection store, with this domain's read models attached for
// replays. Writes nothing to the directory and works beside a running server
// (it sees the store as of opening).
struct OfflineStore {
  std::unique_ptr<EventLog> log;
  std::unique_ptr<ProjectionRuntime> runtime;  // after `log`: destroyed first
};
absl::StatusOr<OfflineStore> OpenOfflineStore(const std::string& data_dir);

// Opens <data_dir>/log for `access`.
absl::StatusOr<std::unique_ptr<EventLog>> OpenOfflineLog(const std::string& data_dir,
                                                         OfflineAccess access);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_COMMON_H_
