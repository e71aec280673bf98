// The link analytics services: LinkCommands (protobuf <-> the domain's
// commands, links/commands.h; callback API: appends complete on
// the log's writer thread) and LinkQueries (handlers on the server's
// BlockingExecutor, not on gRPC's callback threads, since a query may wait for
// min_position). Thread-safe.
#ifndef STRATA_SERVER_LINK_SERVICE_H_
#define STRATA_SERVER_LINK_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "engine/event_log.h"
#include "links/commands.h"
#include "projections/runtime/runtime.h"
#include "schemas/strata.pb.h"
#include "server/rpc_service.h"

namespace strata::server {

class LinkCommandsService final : public RpcService {
 public:
  // `now_us` is the server's clock (microseconds since the Unix epoch).
  LinkCommandsService(EventLog* log, std::function<int64_t()> now_us);

  grpc::ServerUnaryReactor* CreateLink(grpc::CallbackServerContext* context,
                                       const strata::v1::CreateLinkRequest* request,
                                       strata::v1::CommandResponse* response);
  grpc::ServerUnaryReactor* RecordClick(grpc::CallbackServerContext* context,
                                        const strata::v1::RecordClickRequest* request,
                                        strata::v1::CommandResponse* response);
  grpc::ServerUnaryReactor* UpdateDestination(grpc::CallbackServerContext* context,
                                              const strata::v1::UpdateDestinationRequest* request,
                                              strata::v1::CommandResponse* response);

 private:
  links::Commands commands_;
};

class LinkQueriesService final : public RpcService {
 public:
  LinkQueriesService(EventLog* log, ProjectionRuntime* runtime, absl::Duration default_wait,
                     BlockingExecutor* executor);

  grpc::Status GetLink(grpc::CallbackServerContext* context,
                       const strata::v1::GetLinkRequest* request,
                       strata::v1::GetLinkResponse* response);
  grpc::Status GetLinkAnalytics(grpc::CallbackServerContext* context,
                                const strata::v1::GetLinkAnalyticsRequest* request,
                                strata::v1::GetLinkAnalyticsResponse* response);

 private:
  EventLog* log_;
  ProjectionRuntime* runtime_;
  absl::Duration default_wait_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_LINK_SERVICE_H_
