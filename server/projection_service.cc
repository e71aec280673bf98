// ProjectionsService and ProjectionQueriesService (projection_service.h):
// projection status, rebuilds and definitions through the DefinitionRegistry,
// and Get and Scan of defined projections' rows after waiting for min_position.
#include "server/projection_service.h"

#include "absl/strings/str_cat.h"
#include "api/defined_api.h"
#include "api/grpc_status.h"
#include "api/links_api.h"
#include "server/query_wait.h"

namespace strata::server {

using api::ToGrpc;

ProjectionsService::ProjectionsService(ProjectionRuntime* runtime,
                                       defined::DefinitionRegistry* registry,
                                       BlockingExecutor* executor)
    : RpcService("Projections"), runtime_(runtime), registry_(registry) {
  AddBlockingUnary("ListProjections", Role::kRead, executor, &ProjectionsService::ListProjections);
  AddBlockingUnary("RebuildProjection", Role::kAdmin, executor,
                   &ProjectionsService::RebuildProjection);
  AddBlockingUnary("DefineProjection", Role::kAdmin, executor,
                   &ProjectionsService::DefineProjection);
  AddBlockingUnary("GetProjectionDefinition", Role::kRead, executor,
                   &ProjectionsService::GetProjectionDefinition);
  AddBlockingUnary("DeleteProjection", Role::kAdmin, executor,
                   &ProjectionsService::DeleteProjection);
}

grpc::Status ProjectionsService::ListProjections(grpc::CallbackServerContext* /*context*/,
                                                 const strata::v1::ListProjectionsRequest*,
                                                 strata::v1::ListProjectionsResponse* response) {
  for (const ProjectionStatus& st : runtime_->Status()) {
    strata::v1::ProjectionInfo* info = response->add_projections();
    api::ToProto(st, info);
    if (!registry_->IsDefined(st.name)) continue;
    info->set_defined(true);
    // What the live version skipped (a building one has no readable state yet).
    if (st.state != GenerationState::kLive) continue;
    absl::StatusOr<defined::SkipInfo> skipped = registry_->Skipped(st.name);
    if (skipped.ok()) api::ToProto(*skipped, info);
  }
  return grpc::Status::OK;
}

grpc::Status ProjectionsService::RebuildProjection(
    grpc::CallbackServerContext* /*context*/, const strata::v1::RebuildProjectionRequest* request,
    strata::v1::RebuildProjectionResponse*) {
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required");
  }
  return ToGrpc(runtime_->Rebuild(request->name()));
}

grpc::Status ProjectionsService::DefineProjection(
    grpc::CallbackServerContext* /*context*/, const strata::v1::DefineProjectionRequest* request,
    strata::v1::DefineProjectionResponse* response) {
  if (!request->has_definition()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "definition: required");
  }
  absl::StatusOr<defined::DefineResult> result = registry_->Define(request->definition());
  if (!result.ok()) return ToGrpc(result.status());
  response->set_projection_version(result->projection_version);
  response->set_changed(result->changed);
  response->set_position(result->position);
  for (const ProjectionStatus& st : runtime_->Status()) {
    if (st.name == request->definition().name() &&
        st.projection_version == result->projection_version) {
      response->set_state(GenerationStateName(st.state));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ProjectionsService::GetProjectionDefinition(
    grpc::CallbackServerContext* /*context*/,
    const strata::v1::GetProjectionDefinitionRequest* request,
    strata::v1::GetProjectionDefinitionResponse* response) {
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required");
  }
  std::optional<ProjectionVersion> version;
  if (request->has_projection_version()) version = request->projection_version();
  absl::StatusOr<defined::StoredDefinition> stored =
      registry_->Definition(request->name(), version);
  if (!stored.ok()) return ToGrpc(stored.status());
  api::ToProto(*stored, response);
  return grpc::Status::OK;
}

grpc::Status ProjectionsService::DeleteProjection(
    grpc::CallbackServerContext* /*context*/, const strata::v1::DeleteProjectionRequest* request,
    strata::v1::DeleteProjectionResponse* response) {
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required");
  }
  absl::StatusOr<GlobalPosition> position = registry_->Delete(request->name());
  if (!position.ok()) return ToGrpc(position.status());
  response->set_position(*position);
  return grpc::Status::OK;
}

ProjectionQueriesService::ProjectionQueriesService(EventLog* log, ProjectionRuntime* runtime,
                                                   defined::DefinitionRegistry* registry,
                                                   absl::Duration default_wait,
                                                   BlockingExecutor* executor)
    : RpcService("ProjectionQueries"),
      log_(log),
      runtime_(runtime),
      registry_(registry),
      default_wait_(default_wait) {
  AddBlockingUnary("Get", Role::kRead, executor, &ProjectionQueriesService::Get);
  AddBlockingUnary("Scan", Role::kRead, executor, &ProjectionQueriesService::Scan);
}

grpc::Status ProjectionQueriesService::Get(grpc::CallbackServerContext* context,
                                           const strata::v1::GetRowRequest* request,
                                           strata::v1::GetRowResponse* response) {
  const std::string& name = request->projection();
  if (name.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "projection: required");
  absl::Status s = WaitForMinPosition(context, log_, runtime_, {name}, request->has_min_position(),
                                      request->min_position(), default_wait_);
  if (!s.ok()) return ToGrpc(s);
  std::optional<GlobalPosition> as_of;
  if (request->has_as_of_position()) as_of = request->as_of_position();
  absl::StatusOr<defined::RowAnswer> answer = registry_->Get(
      name, std::vector<std::string>(request->key().begin(), request->key().end()), as_of);
  if (!answer.ok()) return ToGrpc(answer.status());
  if (answer->row.has_value()) api::ToProto(*answer->row, response->mutable_row());
  response->set_position(answer->position);
  return grpc::Status::OK;
}

grpc::Status ProjectionQueriesService::Scan(grpc::CallbackServerContext* context,
                                            const strata::v1::ScanRowsRequest* request,
                                            strata::v1::ScanRowsResponse* response) {
  const std::string& name = request->projection();
  if (name.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "projection: required");
  absl::Status s = WaitForMinPosition(context, log_, runtime_, {name}, request->has_min_position(),
                                      request->min_position(), default_wait_);
  if (!s.ok()) return ToGrpc(s);
  defined::ScanRequest scan;
  scan.prefix.assign(request->key_prefix().begin(), request->key_prefix().end());
  scan.start.assign(request->start().begin(), request->start().end());
  scan.end.assign(request->end().begin(), request->end().end());
  scan.limit = request->limit();
  scan.page_token = request->page_token();
  if (request->has_as_of_position()) scan.as_of = request->as_of_position();
  absl::StatusOr<defined::ScanAnswer> answer = registry_->Scan(name, scan);
  if (!answer.ok()) return ToGrpc(answer.status());
  for (const defined::Row& row : answer->rows) api::ToProto(row, response->add_rows());
  response->set_next_page_token(answer->next_page_token);
  response->set_position(answer->position);
  return grpc::Status::OK;
}

}  // namespace strata::server
