// The KurrentDB (EventStoreDB) client protocol over Strata's log, so that the
// official KurrentDB clients work against stratad unchanged: Streams.Read
// (a stream or $all, both directions, counts, filters, subscriptions),
// Streams.Append, and ServerFeatures.GetSupportedMethods. Served on its own
// listener (StrataServer, --kurrent_listen). Also Streams.Delete and
// Streams.Tombstone (EventLog::DeleteStream) and stream metadata (appends to
// and reads of "$$<stream>", engine/stream_metadata.h). Translation only: events,
// positions and versions are the engine's (commit_position = prepare_position
// = Strata's log position, stream_revision = stream version), so an event
// reads the same through either protocol.
//
// Not implemented, answered UNIMPLEMENTED: BatchAppend (not listed in the
// features, so the clients use Append), persistent subscriptions,
// projection management, users, gossip.
// Thread-safe.
#ifndef STRATA_SERVER_KURRENT_SERVICE_H_
#define STRATA_SERVER_KURRENT_SERVICE_H_

#include <string>
#include <vector>

#include "engine/event_log.h"
#include "engine/limits.h"
#include "schemas/kurrent/serverfeatures.grpc.pb.h"
#include "schemas/kurrent/streams.grpc.pb.h"
#include "server/blocking_executor.h"
#include "server/security.h"
#include "server/subscription_hub.h"

namespace strata::server {

// The KurrentDB release whose client protocol this speaks, as
// GetSupportedMethods reports it (the clients parse major.minor.patch).
inline constexpr char kKurrentProtocolVersion[] = "24.10.0";

class KurrentStreamsService final : public event_store::client::streams::Streams::CallbackService {
 public:
  // `reserved_prefixes`: streams no client may append to (as StreamsService).
  // `executor` runs the lookups an answer needs off the log's writer thread.
  KurrentStreamsService(EventLog* log, SubscriptionHub* hub, BlockingExecutor* executor,
                        std::vector<std::string> reserved_prefixes, Limits limits);

  // Checks each call's token (security.h): Read needs read, Append write,
  // Delete and Tombstone admin. Default: none, every call is allowed. Set
  // before the service is registered; `authorizer` outlives the service.
  void SetAuthorizer(const Authorizer* authorizer) { authorizer_ = authorizer; }

  grpc::ServerWriteReactor<event_store::client::streams::ReadResp>* Read(
      grpc::CallbackServerContext* context,
      const event_store::client::streams::ReadReq* request) override;
  grpc::ServerReadReactor<event_store::client::streams::AppendReq>* Append(
      grpc::CallbackServerContext* context,
      event_store::client::streams::AppendResp* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const event_store::client::streams::DeleteReq* request,
                                   event_store::client::streams::DeleteResp* response) override;
  grpc::ServerUnaryReactor* Tombstone(
      grpc::CallbackServerContext* context,
      const event_store::client::streams::TombstoneReq* request,
      event_store::client::streams::TombstoneResp* response) override;

 private:
  EventLog* log_;
  SubscriptionHub* hub_;
  BlockingExecutor* executor_;
  std::vector<std::string> reserved_prefixes_;
  Limits limits_;
  const Authorizer* authorizer_ = nullptr;
};

class KurrentFeaturesService final
    : public event_store::client::server_features::ServerFeatures::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetSupportedMethods(
      grpc::CallbackServerContext* context, const event_store::client::Empty* request,
      event_store::client::server_features::SupportedMethods* response) override;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_KURRENT_SERVICE_H_
