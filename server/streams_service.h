// Streams: the generic event log over gRPC (callback API: no gRPC thread ever
// blocks). Reads and subscriptions stream one event per message with at most
// one message in flight, so a stalled client holds one message of memory.
// Live subscriptions park on a SubscriptionHub, one thread that follows the
// log's head and resumes them. Thread-safe.
#ifndef STRATA_SERVER_STREAMS_SERVICE_H_
#define STRATA_SERVER_STREAMS_SERVICE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine/event_log.h"
#include "schemas/strata.pb.h"
#include "server/rpc_service.h"

namespace strata::server {

// Something parked until the head moves past its cursor.
class Parkable {
 public:
  virtual ~Parkable() = default;
  virtual GlobalPosition cursor() const = 0;
  virtual void Resume() = 0;  // called on the hub thread
  virtual void Close() = 0;   // ends it with a clear status: the hub is stopping
  virtual void Unref() = 0;   // drops the reference taken by Park
};

class SubscriptionHub {
 public:
  explicit SubscriptionHub(EventLog* log);
  ~SubscriptionHub();  // calls Stop()
  // Holds `p` (which has taken a reference for the hub) until the head passes
  // its cursor, then calls Resume and Unref on the hub thread.
  void Park(Parkable* p);
  // Stops the thread and ends every parked subscription (and any parked
  // later) with UNAVAILABLE.
  void Stop();

 private:
  void Loop();
  EventLog* log_;
  absl::Mutex mu_;
  std::vector<Parkable*> parked_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> stop_{false};
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
