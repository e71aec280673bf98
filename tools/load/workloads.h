// The calls strata_load makes, one kind per mode, and the closed loop that
// keeps exactly C of them in flight on gRPC's callback API (no thread per
// call): each slot starts its next call from the previous one's completion.
#ifndef STRATA_TOOLS_LOAD_WORKLOADS_H_
#define STRATA_TOOLS_LOAD_WORKLOADS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "schemas/kurrent/streams.grpc.pb.h"
#include "schemas/strata.grpc.pb.h"
#include "tools/load/stats.h"

namespace strata::load {

struct LoadOptions {
  int concurrency = 64;
  absl::Duration duration = absl::Seconds(10);
  uint64_t max_calls = 0;    // 0: run for `duration`
  uint64_t read_events = 0;  // readall: 0 reads the whole log
  int events_per_call = 1;   // append
  int links = 100;           // click, update-destination, analytics
  std::string link_prefix = "load-link-";
  int spread_days = 90;  // clicks fall on the last N days
  int analytics_days = 30;
  int data_bytes = 100;  // append: event payload size
  absl::Duration call_timeout = absl::Seconds(30);
  std::vector<std::pair<std::string, int>> mix;  // mixed: (mode, weight)
};

// What every call shares: the channel, stubs and the read-your-write probe's
// latest acknowledged click. `kurrent`: the KurrentDB protocol's channel, for
// the kurrent-* modes (may be null when none runs).
class Target {
 public:
  Target(std::shared_ptr<grpc::Channel> channel, LoadOptions options, std::string nonce,
         std::shared_ptr<grpc::Channel> kurrent = nullptr);

  const LoadOptions& options() const { return options_; }
  const std::string& nonce() const { return nonce_; }
  std::string LinkId(int i) const { return options_.link_prefix + std::to_string(i); }

  strata::v1::Streams::Stub& streams() { return *streams_; }
  strata::v1::LinkCommands::Stub& commands() { return *commands_; }
  strata::v1::LinkQueries::Stub& queries() { return *queries_; }
  grpc::GenericStub& generic() { return generic_; }
  bool has_kurrent() const { return kurrent_ != nullptr; }
  event_store::client::streams::Streams::Stub& kurrent() { return *kurrent_; }

  // The newest acknowledged click, for the lag probe.
  struct Ack {
    uint64_t position = 0;
    absl::Time at;
    std::string link_id;
  };
  void NoteClickAck(uint64_t position, const std::string& link_id);
  // Waits (up to `timeout`) for an ack newer than `after`.
  bool WaitForAck(uint64_t after, absl::Duration timeout, Ack* out);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  LoadOptions options_;
  std::string nonce_;
  std::unique_ptr<strata::v1::Streams::Stub> streams_;
  std::unique_ptr<strata::v1::LinkCommands::Stub> commands_;
  std::unique_ptr<strata::v1::LinkQueries::Stub> queries_;
  grpc::GenericStub generic_;
  std::unique_ptr<event_store::client::streams::Streams::Stub> kurrent_;
  absl::Mutex mu_;
  Ack ack_ ABSL_GUARDED_BY(mu_);
};

// One slot's calls, one at a time. Start runs `done(status, events)` exactly
// once, on a gRPC thread, after the call ends.
class Call {
 public:
  using Done = std::function<void(const grpc::Status&, uint64_t events)>;
  virtual ~Call() = default;
  virtual void Start(grpc::ClientContext* context, Done done) = 0;
};

// The unary modes: noop, click, create-link, update-destination, append,
// analytics, mixed and kurrent-append (Append through the KurrentDB protocol,
// events_per_call events a call). InvalidArgument for another name or a bad
// mix.
absl::StatusOr<std::unique_ptr<Call>> NewCall(const std::string& mode, Target* target, int slot);

// Runs `mode` with options().concurrency calls in flight until the duration
// or the call budget is spent; fills calls, events, errors and latency.
void RunClosedLoop(const std::string& mode, Target* target, ModeReport* report);

// One reader of the whole log (readall: ReadAll from the start; subscribe:
// Subscribe from the start until caught up; kurrent-readall: the KurrentDB
// protocol's Read of $all): events, bytes, per-message gaps.
void RunStreamRead(const std::string& mode, Target* target, ModeReport* report);

// Makes sure links 0..links-1 exist (CreateLink with a request id, so a rerun
// is a no-op).
absl::Status CreateLinks(Target* target);

// The log's head position.
absl::StatusOr<uint64_t> Head(Target* target);

// Live subscribers from the head while a mode runs (callback reactors, no
// thread each); the first one samples each event's delivery delay.
class LiveSubscribers {
 public:
  LiveSubscribers(Target* target, int count, uint64_t after_position);
  ~LiveSubscribers();
  // Cancels them, waits until all ended, and adds what they saw to `report`.
  void Stop(ModeReport* report);

 private:
  class Reader;
  std::vector<Reader*> readers_;
};

// Read-your-write probes while a click mode runs: after each new click ack,
// GetLinkAnalytics with min_position = that click, timed from the ack.
class LagProbe {
 public:
  explicit LagProbe(Target* target);
  ~LagProbe();
  void Stop(ModeReport* report);

 private:
  void Loop();
  Target* target_;
  std::atomic<bool> stop_{false};
  Samples lag_;
  std::thread thread_;
};

}  // namespace strata::load

#endif  // STRATA_TOOLS_LOAD_WORKLOADS_H_
