// The link analytics services: LinkCommands (callback API: appends complete on
// the log's writer thread), LinkQueries and Projections (synchronous API on
// gRPC's thread pool, since a query may wait for min_position). Thread-safe.
#ifndef STRATA_SERVER_LINK_SERVICE_H_
#define STRATA_SERVER_LINK_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "engine/event_log.h"
#include "projections/runtime/runtime.h"
#include "schemas/strata.grpc.pb.h"

namespace strata::server {

class LinkCommandsService final : public strata::v1::LinkCommands::CallbackService {
 public:
  // `now_us` is the server's clock (microseconds since the Unix epoch).
  LinkCommandsService(EventLog* log, std::function<int64_t()> now_us)
      : log_(log), now_us_(std::move(now_us)) {}

  grpc::ServerUnaryReactor* CreateLink(grpc::CallbackServerContext* context,
                                       const strata::v1::CreateLinkRequest* request,
                                       strata::v1::CommandResponse* response) override;
  grpc::ServerUnaryReactor* RecordClick(grpc::CallbackServerContext* context,
                                        const strata::v1::RecordClickRequest* request,
                                        strata::v1::CommandResponse* response) override;
  grpc::ServerUnaryReactor* UpdateDestination(grpc::CallbackServerContext* context,
                                              const strata::v1::UpdateDestinationRequest* request,
                                              strata::v1::CommandResponse* response) override;

 private:
  EventLog* log_;
  std::function<int64_t()> now_us_;
};

class LinkQueriesService final : public strata::v1::LinkQueries::Service {
 public:
  LinkQueriesService(EventLog* log, ProjectionRuntime* runtime, absl::Duration default_wait)
      : log_(log), runtime_(runtime), default_wait_(default_wait) {}

  grpc::Status GetLink(grpc::ServerContext* context, const strata::v1::GetLinkRequest* request,
                       strata::v1::GetLinkResponse* response) override;
  grpc::Status GetLinkAnalytics(grpc::ServerContext* context,
                                const strata::v1::GetLinkAnalyticsRequest* request,
                                strata::v1::GetLinkAnalyticsResponse* response) override;

 private:
  EventLog* log_;
  ProjectionRuntime* runtime_;
  absl::Duration default_wait_;
};

class ProjectionsService final : public strata::v1::Projections::Service {
 public:
  explicit ProjectionsService(ProjectionRuntime* runtime) : runtime_(runtime) {}
  grpc::Status ListProjections(grpc::ServerContext* context,
                               const strata::v1::ListProjectionsRequest* request,
                               strata::v1::ListProjectionsResponse* response) override;
  grpc::Status RebuildProjection(grpc::ServerContext* context,
                                 const strata::v1::RebuildProjectionRequest* request,
                                 strata::v1::RebuildProjectionResponse* response) override;

 private:
  ProjectionRuntime* runtime_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_LINK_SERVICE_H_
