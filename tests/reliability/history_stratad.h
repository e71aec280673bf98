// stratad as a child process, and the gRPC client calls the history harness
// makes against it.
//
// StratadProcess starts the real binary (STRATAD_PATH, or another build of
// it such as stratad_power_cut) with --data_dir and
// --listen 127.0.0.1:0, appends its output to a log file and waits for the
// start-up line ("... (port N), data directory '...', recovered head position
// P"), so a test learns the port and the recovered head. A child that exits
// before that line (e.g. a crash point hit during recovery) is reported, not
// an error. The child gets PR_SET_PDEATHSIG, so it never outlives the test.
//
// Thread-safety: StratadProcess is not thread-safe (one owner). The free
// functions are thread-safe.
#ifndef STRATA_TESTS_RELIABILITY_HISTORY_STRATAD_H_
#define STRATA_TESTS_RELIABILITY_HISTORY_STRATAD_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "schemas/kurrent/streams.grpc.pb.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/reliability/history_checker.h"

namespace strata::reliability {

class StratadProcess {
 public:
  struct Options {
    // The server binary. Default: the built stratad (STRATAD_PATH).
    std::string binary = STRATAD_PATH;
    std::string data_dir;
    // The child's stdout and stderr are appended here.
    std::string log_path;
    // Extra environment entries, "NAME=value" (e.g. STRATA_CRASH_POINT=...).
    std::vector<std::string> env;
    // Extra flags (e.g. "--snapshot_interval=64").
    std::vector<std::string> args;
    // Longest wait for the start-up line. Default: 30 s.
    absl::Duration start_timeout = absl::Seconds(30);
  };

  // Starts stratad and waits until it listens or exits. Errors: Internal when
  // it cannot be spawned, DeadlineExceeded when it neither listens nor exits
  // in time (it is then killed).
  static absl::StatusOr<std::unique_ptr<StratadProcess>> Start(const Options& options);
  // Kills the child (SIGKILL) if it still runs.
  ~StratadProcess();

  StratadProcess(const StratadProcess&) = delete;
  StratadProcess& operator=(const StratadProcess&) = delete;

  // True when the start-up line was seen (the server served).
  bool listening() const { return port_ != 0; }
  int port() const { return port_; }
  std::string address() const;
  // The KurrentDB protocol's address; "" when it does not serve it.
  std::string kurrent_address() const;
  uint64_t recovered_head() const { return recovered_head_; }
  pid_t pid() const { return pid_; }

  // The exit code when it has exited: the code, or 128 + signal. Reaps it.
  std::optional<int> Poll();
  // Waits up to `timeout` for it to exit.
  std::optional<int> WaitExit(absl::Duration timeout);
  // kill -9 and reap; returns the exit code (128 + 9, or its own if it
  // exited first).
  int Kill9();
  // SIGTERM, then waits up to `timeout`; kill -9 after it. Returns the exit
  // code, or nullopt when it had to be killed.
  std::optional<int> Terminate(absl::Duration timeout);

  // What the child wrote since it was started.
  std::string Output() const;

 private:
  StratadProcess() = default;

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  int port_ = 0;
  int kurrent_port_ = 0;
  uint64_t recovered_head_ = 0;
  std::string log_path_;
  long log_offset_ = 0;  // where this child's output starts in the log file
};

// ok for OK; fail for codes that mean the call was definitely not carried
// out (ABORTED, INVALID_ARGUMENT, ALREADY_EXISTS, NOT_FOUND,
// FAILED_PRECONDITION, OUT_OF_RANGE); info for everything else (UNAVAILABLE,
// DEADLINE_EXCEEDED, CANCELLED, INTERNAL, ...): it may have happened.
Outcome Classify(const grpc::Status& status);
std::string StatusText(const grpc::Status& status);

// A channel with its own connection (not shared with other channels).
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

// A random (version 4) UUID in lower case.
std::string NewEventId(uint64_t* rng_state);

// The calls, each recorded in `history` (invoke before, completion after).
// `op` gives what to send: Append uses stream, expected kind/version,
// event_ids and payloads (type "HistoryEvent"); CreateLink uses link_id
// (destination and owner are derived from it), request_id; RecordClick uses
// link_id, country, device, clicked_at_us and request_id; UpdateDestination
// uses link_id, destination, request_id and expected_version when the kind is
// kExact. The op's stream and
// payloads are filled in for commands. Returns the call's status; `op_id`
// receives the history id.
grpc::Status RecordedAppend(History& history, strata::v1::Streams::Stub& stub, Op op,
                            absl::Duration timeout, strata::v1::AppendResponse* response = nullptr,
                            uint64_t* op_id = nullptr);
// An Append through the KurrentDB protocol (one message of options, then one
// per event), recorded like RecordedAppend. The protocol reports neither the
// first position nor deduplication: positions are those of a fresh append
// (the log's are contiguous per call), so use it for ops whose ids are new.
// `last_version` receives the stream revision after a successful append.
grpc::Status RecordedKurrentAppend(History& history,
                                   event_store::client::streams::Streams::Stub& stub, Op op,
                                   absl::Duration timeout, uint64_t* last_version = nullptr);
grpc::Status RecordedCreateLink(History& history, strata::v1::LinkCommands::Stub& stub, Op op,
                                absl::Duration timeout,
                                strata::v1::CommandResponse* response = nullptr,
                                uint64_t* op_id = nullptr);
grpc::Status RecordedUpdateDestination(History& history, strata::v1::LinkCommands::Stub& stub,
                                       Op op, absl::Duration timeout,
                                       strata::v1::CommandResponse* response = nullptr,
                                       uint64_t* op_id = nullptr);
grpc::Status RecordedClick(History& history, strata::v1::LinkCommands::Stub& stub, Op op,
                           absl::Duration timeout, strata::v1::CommandResponse* response = nullptr,
                           uint64_t* op_id = nullptr);

// The payloads the server stores for the link commands (what RecordedClick
// and RecordedCreateLink put in Op::payloads).
std::string LinkCreatedPayload(const std::string& link_id);
std::string ClickPayload(const Op& click);
// "desktop" -> DESKTOP, ...; DEVICE_UNSPECIFIED for an unknown name.
strata::v1::Device DeviceOf(const std::string& name);

// The stream's last version (nullopt: no stream) via ReadStream backwards,
// max_count 1.
absl::StatusOr<std::optional<uint64_t>> ReadStreamHead(strata::v1::Streams::Stub& stub,
                                                       const std::string& stream,
                                                       absl::Duration timeout);

// A full forward ReadAll. Error: the call's status as Unavailable/Internal.
absl::StatusOr<std::vector<LogEvent>> ReadAllEvents(const std::string& address,
                                                    absl::Duration timeout = absl::Seconds(60));

// The log's current head (0 when empty), via ReadAll backwards, max 1.
absl::StatusOr<uint64_t> ReadHead(const std::string& address);

// GetLinkAnalytics for [from_date, to_date] with min_position (live) or
// as_of_position; with `with_link_version`, also GetLink at the position the
// analytics answered (so both describe the same log prefix).
ReadModelAnswer QueryLinkModels(const std::shared_ptr<grpc::Channel>& channel, const std::string& link_id,
                                const std::string& from_date, const std::string& to_date,
                                std::optional<uint64_t> min_position,
                                std::optional<uint64_t> as_of, bool with_link_version,
                                absl::Duration timeout = absl::Seconds(20));

// What CheckServer asks the read models.
struct ModelQueries {
  std::vector<std::string> links;  // every link, created before the load
  std::string from_date;           // YYYY-MM-DD, covering every click
  std::string to_date;
  // The lowest position at which every link exists; as-of queries pick a
  // position in [min_as_of, head]. 0: no as-of queries.
  uint64_t min_as_of = 0;
};

// Defines the read model in `definition_json` (a ProjectionDefinition as
// JSON) through `address`. Errors: the call's.
absl::Status DefineProjection(const std::string& address, const std::string& definition_json);

// The shipped link_clicks definition (examples/projections/link_clicks.json,
// named "clicks"), whose rows must equal the built-in link_clicks; and a
// script ("clicks_script", partitioned by stream) counting each link's clicks.
std::string ShippedClicksDefinition();
std::string ClicksScriptDefinition();

// Violations (empty when none): for every link of `queries`, the defined
// "clicks" projection's all-time and per-day rows, or the "clicks_script"
// state, at `head` differ from what GetLinkAnalytics answers at `head`.
std::vector<std::string> CheckDefinedClicks(const std::string& address,
                                            const ModelQueries& queries, uint64_t head);

// Creates every link of `queries` through `address` (request ids
// "create-<link>", recorded in `history`) and raises queries->min_as_of to
// the position where the last one exists. Errors: the first failed call.
absl::Status CreateModelLinks(History& history, const std::string& address,
                              ModelQueries* queries);

// One check of a (re)started server: a full ReadAll, every link's read models
// live (min_position = head, plus GetLink) and as of a position chosen with
// `random`, then `checker` on `history`, `subscribers` and `load_answers`
// (read model answers taken during the load, see Workload). A failed read is a
// violation (of rule 5). `head` is the head the server recovered.
struct CheckTimings {
  absl::Duration read;     // the full ReadAll
  absl::Duration models;   // the read model queries
  absl::Duration checker;  // Checker::Check
};
CheckReport CheckServer(const std::string& address, uint64_t head, const History& history,
                        Checker& checker, const std::vector<const SubscriberLog*>& subscribers,
                        const ModelQueries& queries, uint64_t random,
                        std::vector<ReadModelAnswer> load_answers = {},
                        CheckTimings* timings = nullptr);

// A positive integer from the environment, or `fallback`.
uint64_t EnvOr(const char* name, uint64_t fallback);

}  // namespace strata::reliability

#endif  // STRATA_TESTS_RELIABILITY_HISTORY_STRATAD_H_
