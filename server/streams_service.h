// Streams: the generic event log over gRPC (callback API: no gRPC thread ever
// blocks). Reads and subscriptions stream one event per message with at most
// one message in flight, so a stalled client holds one message of memory.
// Reads go through the engine's LogCursor, subscriptions through its Follower;
// a caught-up subscription parks on a SubscriptionHub, which resumes it when
// the log's writer says its follower has events. No log read runs while a
// reactor's lock is held. Thread-safe.
#ifndef STRATA_SERVER_STREAMS_SERVICE_H_
#define STRATA_SERVER_STREAMS_SERVICE_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "engine/event_log.h"
#include "engine/log_cursor.h"
#include "schemas/strata.pb.h"
#include "server/rpc_service.h"

namespace strata::server {

// A live subscription parked until its follower has events.
class Parkable {
 public:
  virtual ~Parkable() = default;
  virtual Follower& follower() = 0;
  virtual void Resume() = 0;  // called on the hub thread
  virtual void Close() = 0;   // ends it with a clear status: the hub is stopping
  virtual void Unref() = 0;   // drops the reference taken by Park
};

// Resumes parked subscriptions on one thread of its own once the log's writer
// reports, through their followers, that the head passed their cursor. No
// polling: the thread sleeps until a follower wakes it or Stop.
class SubscriptionHub {
 public:
  SubscriptionHub();
  ~SubscriptionHub();  // calls Stop()
  // Holds `p` (which has taken a reference for the hub) until its follower is
  // ready, then calls Resume and Unref on the hub thread.
  void Park(Parkable* p);
  // Takes `p` back if it is parked or about to resume: true when it was (the
  // caller then owns the hub's reference). Call without holding p's locks.
  bool Unpark(Parkable* p);
  // Stops the thread and ends every parked subscription (and any parked
  // later) with UNAVAILABLE.
  void Stop();

 private:
  void Ready(Parkable* p);  // from a follower, on the log's writer thread
  void Loop();
  absl::Mutex mu_;
  absl::flat_hash_set<Parkable*> parked_ ABSL_GUARDED_BY(mu_);
  std::deque<Parkable*> ready_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class StreamsService final : public RpcService {
 public:
  // Appends to streams starting with one of `reserved_prefixes` are refused:
  // those streams belong to a domain service (e.g. LinkCommands).
  StreamsService(EventLog* log, SubscriptionHub* hub, std::vector<std::string> reserved_prefixes);

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const strata::v1::AppendRequest* request,
                                   strata::v1::AppendResponse* response);
  grpc::ServerWriteReactor<strata::v1::ReadStreamResponse>* ReadStream(
      grpc::CallbackServerContext* context, const strata::v1::ReadStreamRequest* request);
  grpc::ServerWriteReactor<strata::v1::ReadAllResponse>* ReadAll(
      grpc::CallbackServerContext* context, const strata::v1::ReadAllRequest* request);
  grpc::ServerWriteReactor<strata::v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const strata::v1::SubscribeRequest* request);

 private:
  EventLog* log_;
  SubscriptionHub* hub_;
  std::vector<std::string> reserved_prefixes_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_STREAMS_SERVICE_H_
