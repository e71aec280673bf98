// LinkCommandsService and LinkQueriesService (link_service.h): the commands
// run through links::Commands and finished from the append's callback; GetLink
// and GetLinkAnalytics validate, wait for min_position on the BlockingExecutor
// and query the link read models.
#include "server/link_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/grpc_status.h"
#include "api/links_api.h"
#include "engine/base/macros.h"
#include "links/commands.h"
#include "links/links.h"
#include "links/queries.h"
#include "server/query_wait.h"

namespace strata::server {

using api::ToGrpc;

namespace {

const char* DeviceName(strata::v1::Device d) {
  switch (d) {
    case strata::v1::DESKTOP:
      return "desktop";
    case strata::v1::MOBILE:
      return "mobile";
    case strata::v1::TABLET:
      return "tablet";
    case strata::v1::BOT:
      return "bot";
    case strata::v1::OTHER:
      return "other";
    default:
      return nullptr;
  }
}

// Runs `command` and finishes the call with its position and version.
template <typename Command>
grpc::ServerUnaryReactor* Run(const links::Commands& commands, grpc::CallbackServerContext* context,
                              const Command& command, strata::v1::CommandResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  commands.Handle(command, [reactor, response](absl::StatusOr<links::CommandResult> r) {
    if (!r.ok()) {
      reactor->Finish(ToGrpc(r.status()));
      return;
    }
    response->set_position(r->position);
    response->set_version(r->version);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace

LinkCommandsService::LinkCommandsService(EventLog* log, std::function<int64_t()> now_us)
    : RpcService("LinkCommands"), commands_(log, std::move(now_us)) {
  AddCallbackUnary("CreateLink", Role::kWrite, &LinkCommandsService::CreateLink);
  AddCallbackUnary("RecordClick", Role::kWrite, &LinkCommandsService::RecordClick);
  AddCallbackUnary("UpdateDestination", Role::kWrite, &LinkCommandsService::UpdateDestination);
}

grpc::ServerUnaryReactor* LinkCommandsService::CreateLink(
    grpc::CallbackServerContext* context, const strata::v1::CreateLinkRequest* request,
    strata::v1::CommandResponse* response) {
  return Run(commands_, context,
             links::CreateLink{request->link_id(), request->destination(), request->owner(),
                               request->request_id()},
             response);
}

grpc::ServerUnaryReactor* LinkCommandsService::RecordClick(
    grpc::CallbackServerContext* context, const strata::v1::RecordClickRequest* request,
    strata::v1::CommandResponse* response) {
  links::RecordClick command;
  command.link_id = request->link_id();
  command.country = request->country();
  if (const char* device = DeviceName(request->device()); device != nullptr) {
    command.device = device;
  } else {
    command.device = absl::InvalidArgumentError(
        absl::StrCat("device: required, one of DESKTOP, MOBILE, TABLET, BOT, OTHER (got ",
                     static_cast<int>(request->device()), ")"));
  }
  if (request->has_clicked_at()) command.clicked_at_us = request->clicked_at();
  command.request_id = request->request_id();
  return Run(commands_, context, command, response);
}

grpc::ServerUnaryReactor* LinkCommandsService::UpdateDestination(
    grpc::CallbackServerContext* context, const strata::v1::UpdateDestinationRequest* request,
    strata::v1::CommandResponse* response) {
  links::UpdateDestination command;
  command.link_id = request->link_id();
  command.destination = request->destination();
  if (request->has_expected_version()) command.expected_version = request->expected_version();
  command.request_id = request->request_id();
  return Run(commands_, context, command, response);
}

LinkQueriesService::LinkQueriesService(EventLog* log, ProjectionRuntime* runtime,
                                       absl::Duration default_wait, BlockingExecutor* executor)
    : RpcService("LinkQueries"), log_(log), runtime_(runtime), default_wait_(default_wait) {
  AddBlockingUnary("GetLink", Role::kRead, executor, &LinkQueriesService::GetLink);
  AddBlockingUnary("GetLinkAnalytics", Role::kRead, executor,
                   &LinkQueriesService::GetLinkAnalytics);
}

namespace {

std::optional<GlobalPosition> AsOf(const auto& request) {
  if (!request.has_as_of_position()) return std::nullopt;
  return request.as_of_position();
}

}  // namespace

grpc::Status LinkQueriesService::GetLink(grpc::CallbackServerContext* context,
                                         const strata::v1::GetLinkRequest* request,
                                         strata::v1::GetLinkResponse* response) {
  absl::Status s = links::ValidateLinkId(request->link_id());
  if (s.ok()) {
    s = WaitForMinPosition(context, log_, runtime_, {links::kLinkDetailsProjection},
                           request->has_min_position(), request->min_position(), default_wait_);
  }
  if (!s.ok()) return ToGrpc(s);
  absl::StatusOr<links::LinkAt> link =
      links::QueryLink(*runtime_, request->link_id(), AsOf(*request));
  if (!link.ok()) return ToGrpc(link.status());
  api::ToProto(request->link_id(), *link, response);
  return grpc::Status::OK;
}

grpc::Status LinkQueriesService::GetLinkAnalytics(
    grpc::CallbackServerContext* context, const strata::v1::GetLinkAnalyticsRequest* request,
    strata::v1::GetLinkAnalyticsResponse* response) {
  absl::Status s = links::ValidateLinkId(request->link_id());
  absl::StatusOr<absl::CivilDay> from = links::ParseDate(request->from_date(), "from_date");
  absl::StatusOr<absl::CivilDay> to = links::ParseDate(request->to_date(), "to_date");
  if (s.ok() && !from.ok()) s = from.status();
  if (s.ok() && !to.ok()) s = to.status();
  if (s.ok()) s = links::ValidateDateRange(*from, *to);  // before any wait or lookup
  if (s.ok()) {
    s = WaitForMinPosition(context, log_, runtime_,
                           {links::kLinkDetailsProjection, links::kLinkClicksProjection},
                           request->has_min_position(), request->min_position(), default_wait_);
  }
  if (!s.ok()) return ToGrpc(s);
  absl::StatusOr<links::LinkAnalyticsAt> analytics =
      links::QueryLinkAnalytics(*runtime_, request->link_id(), *from, *to, AsOf(*request));
  if (!analytics.ok()) return ToGrpc(analytics.status());
  api::ToProto(request->link_id(), *analytics, response);
  return grpc::Status::OK;
}

}  // namespace strata::server
