// Streams: the generic event log over gRPC (callback API: no gRPC thread ever
// blocks). Reads and subscriptions stream batches of events (EventWriter in
// event_writer.h) with at most one message in flight, so a stalled client
// holds one message and one page of memory. Thread-safe.
#ifndef STRATA_SERVER_STREAMS_SERVICE_H_
#define STRATA_SERVER_STREAMS_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/event_log.h"
#include "engine/log_cursor.h"
#include "schemas/strata.pb.h"
#include "server/rpc_service.h"
#include "server/subscription_hub.h"

namespace strata::server {

// InvalidArgument naming `stream` when a client may not append to it (or
// delete it): a system name (starting with '$') or one starting with a
// reserved prefix (the streams of a domain service, e.g. LinkCommands). A
// metastream "$$<stream>" is writable when its stream is.
absl::Status CheckWritableStream(absl::string_view stream,
                                 const std::vector<std::string>& reserved_prefixes);
// ValidateStreamName (the name's form), then CheckWritableStream.
absl::Status CheckValidWritableStream(absl::string_view stream,
                                      const std::vector<std::string>& reserved_prefixes);

class StreamsService final : public RpcService {
 public:
  // Appends to streams starting with one of `reserved_prefixes` are refused:
  // those streams belong to a domain service (e.g. LinkCommands).
  // ListStreams runs on `executor`.
  StreamsService(EventLog* log, SubscriptionHub* hub, BlockingExecutor* executor,
                 std::vector<std::string> reserved_prefixes);

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const strata::v1::AppendRequest* request,
                                   strata::v1::AppendResponse* response);
  grpc::ServerUnaryReactor* DeleteStream(grpc::CallbackServerContext* context,
                                         const strata::v1::DeleteStreamRequest* request,
                                         strata::v1::DeleteStreamResponse* response);
  grpc::ServerWriteReactor<strata::v1::ReadStreamResponse>* ReadStream(
      grpc::CallbackServerContext* context, const strata::v1::ReadStreamRequest* request);
  grpc::ServerWriteReactor<strata::v1::ReadAllResponse>* ReadAll(
      grpc::CallbackServerContext* context, const strata::v1::ReadAllRequest* request);
  grpc::ServerWriteReactor<strata::v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const strata::v1::SubscribeRequest* request);
  grpc::Status ListStreams(grpc::CallbackServerContext* context,
                           const strata::v1::ListStreamsRequest* request,
                           strata::v1::ListStreamsResponse* response);

 private:
  EventLog* log_;
  SubscriptionHub* hub_;
  std::vector<std::string> reserved_prefixes_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_STREAMS_SERVICE_H_
