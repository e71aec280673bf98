// The generic projection services: Projections (status, rebuilds, and the
// read models defined at run time) and ProjectionQueries (rows of defined
// projections). Handlers run on the server's BlockingExecutor, not on gRPC's
// callback threads, since a query may wait for min_position and a definition
// is appended to the log. Thread-safe.
#ifndef STRATA_SERVER_PROJECTION_SERVICE_H_
#define STRATA_SERVER_PROJECTION_SERVICE_H_

#include "absl/time/time.h"
#include "engine/event_log.h"
#include "projections/defined/registry.h"
#include "projections/runtime/runtime.h"
#include "schemas/strata.pb.h"
#include "server/rpc_service.h"

namespace strata::server {

class ProjectionsService final : public RpcService {
 public:
  ProjectionsService(ProjectionRuntime* runtime, defined::DefinitionRegistry* registry,
                     BlockingExecutor* executor);

  grpc::Status ListProjections(grpc::CallbackServerContext* context,
                               const strata::v1::ListProjectionsRequest* request,
                               strata::v1::ListProjectionsResponse* response);
  grpc::Status RebuildProjection(grpc::CallbackServerContext* context,
                                 const strata::v1::RebuildProjectionRequest* request,
                                 strata::v1::RebuildProjectionResponse* response);
  grpc::Status DefineProjection(grpc::CallbackServerContext* context,
                                const strata::v1::DefineProjectionRequest* request,
                                strata::v1::DefineProjectionResponse* response);
  grpc::Status GetProjectionDefinition(grpc::CallbackServerContext* context,
                                       const strata::v1::GetProjectionDefinitionRequest* request,
                                       strata::v1::GetProjectionDefinitionResponse* response);
  grpc::Status DeleteProjection(grpc::CallbackServerContext* context,
                                const strata::v1::DeleteProjectionRequest* request,
                                strata::v1::DeleteProjectionResponse* response);

 private:
  ProjectionRuntime* runtime_;
  defined::DefinitionRegistry* registry_;
};

class ProjectionQueriesService final : public RpcService {
 public:
  ProjectionQueriesService(EventLog* log, ProjectionRuntime* runtime,
                           defined::DefinitionRegistry* registry, absl::Duration default_wait,
                           BlockingExecutor* executor);

  grpc::Status Get(grpc::CallbackServerContext* context, const strata::v1::GetRowRequest* request,
                   strata::v1::GetRowResponse* response);
  grpc::Status Scan(grpc::CallbackServerContext* context,
                    const strata::v1::ScanRowsRequest* request,
                    strata::v1::ScanRowsResponse* response);

 private:
  EventLog* log_;
  ProjectionRuntime* runtime_;
  defined::DefinitionRegistry* registry_;
  absl::Duration default_wait_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_PROJECTION_SERVICE_H_
