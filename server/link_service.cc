#include "server/link_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/links_api.h"
#include "engine/base/macros.h"
#include "projections/links/links.h"
#include "projections/links/queries.h"
#include "api/grpc_status.h"

namespace strata::server {

using api::ToGrpc;

namespace {

constexpr size_t kRequestIdBytesMax = 128;
constexpr absl::Duration kClickFutureMax = absl::Minutes(5);

uint64_t Fnv1a64(absl::string_view data, uint64_t basis) {
  uint64_t h = basis;
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// A stable event id for a command's request_id, so a retried command maps to
// the same event and the log's idempotency returns the original result.
EventId RequestEventId(absl::string_view command, absl::string_view link_id,
                       absl::string_view request_id) {
  const std::string key = absl::StrCat(command, "\n", link_id, "\n", request_id);
  const uint64_t a = Fnv1a64(key, 0xcbf29ce484222325ULL);
  const uint64_t b = Fnv1a64(key, 0x84222325cbf29ce4ULL ^ a);
  EventId id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    id.bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  id.bytes[6] = (id.bytes[6] & 0x0F) | 0x80;  // version 8: custom
  id.bytes[8] = (id.bytes[8] & 0x3F) | 0x80;
  return id;
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() > kRequestIdBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("request_id: ", request_id.size(),
                                                   " bytes, more than the limit of ",
                                                   kRequestIdBytesMax));
  }
  return absl::OkStatus();
}

NewEvent MakeEvent(absl::string_view type, std::string data, absl::string_view command,
                   absl::string_view link_id, absl::string_view request_id) {
  NewEvent e;
  e.type = std::string(type);
  e.content_type = links::kContentType;
  e.data = std::move(data);
  if (!request_id.empty()) e.event_id = RequestEventId(command, link_id, request_id);
  return e;
}

// Appends one event and finishes `reactor` with its position and version;
// `on_error` may translate the log's error into the domain's.
void AppendCommand(EventLog* log, grpc::ServerUnaryReactor* reactor,
                   strata::v1::CommandResponse* response, const std::string& stream,
                   ExpectedVersion expected, NewEvent event,
                   std::function<absl::Status(const absl::Status&)> on_error) {
  std::vector<NewEvent> events;
  events.push_back(std::move(event));
  log->AppendAsync(stream, expected, std::move(events),
                   [reactor, response, on_error](absl::StatusOr<AppendResult> r) {
                     if (!r.ok()) {
                       reactor->Finish(ToGrpc(on_error ? on_error(r.status()) : r.status()));
                       return;
                     }
                     response->set_position(r->last_position);
                     response->set_version(r->last_version);
                     reactor->Finish(grpc::Status::OK);
                   });
}

absl::Status LinkExists(EventLog* log, absl::string_view link_id) {
  absl::StatusOr<std::optional<StreamVersion>> head = log->StreamLastVersion(links::LinkStream(link_id));
  if (!head.ok()) return head.status();
  if (!head->has_value()) {
    return absl::NotFoundError(absl::StrCat("link '", link_id, "' does not exist"));
  }
  return absl::OkStatus();
}

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

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc(s));
  return reactor;
}

}  // namespace

LinkCommandsService::LinkCommandsService(EventLog* log, std::function<int64_t()> now_us)
    : RpcService("LinkCommands"), log_(log), now_us_(std::move(now_us)) {
  AddCallbackUnary("CreateLink", &LinkCommandsService::CreateLink);
  AddCallbackUnary("RecordClick", &LinkCommandsService::RecordClick);
  AddCallbackUnary("UpdateDestination", &LinkCommandsService::UpdateDestination);
}

grpc::ServerUnaryReactor* LinkCommandsService::CreateLink(
    grpc::CallbackServerContext* context, const strata::v1::CreateLinkRequest* request,
    strata::v1::CommandResponse* response) {
  absl::Status valid = links::ValidateLinkId(request->link_id());
  if (valid.ok()) valid = links::ValidateDestination(request->destination());
  if (valid.ok()) valid = links::ValidateOwner(request->owner());
  if (valid.ok()) valid = ValidateRequestId(request->request_id());
  if (!valid.ok()) return Done(context, valid);
  const std::string link_id = request->link_id();
  NewEvent e = MakeEvent(links::kLinkCreatedType,
                         links::EncodeLinkCreated(link_id, request->destination(),
                                                  request->owner()),
                         "CreateLink", link_id, request->request_id());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AppendCommand(log_, reactor, response, links::LinkStream(link_id), ExpectedVersion::NoStream(),
                std::move(e), [link_id](const absl::Status& s) {
                  if (absl::IsAborted(s)) {
                    return absl::AlreadyExistsError(
                        absl::StrCat("link '", link_id, "' already exists"));
                  }
                  return s;
                });
  return reactor;
}

grpc::ServerUnaryReactor* LinkCommandsService::RecordClick(
    grpc::CallbackServerContext* context, const strata::v1::RecordClickRequest* request,
    strata::v1::CommandResponse* response) {
  absl::Status valid = links::ValidateLinkId(request->link_id());
  if (valid.ok()) valid = links::ValidateCountry(request->country());
  const char* device = DeviceName(request->device());
  if (valid.ok() && device == nullptr) {
    valid = absl::InvalidArgumentError(
        absl::StrCat("device: required, one of DESKTOP, MOBILE, TABLET, BOT, OTHER (got ",
                     static_cast<int>(request->device()), ")"));
  }
  if (valid.ok()) valid = ValidateRequestId(request->request_id());
  const int64_t now_us = now_us_();
  int64_t clicked_at_us = 0;
  if (valid.ok() && request->has_clicked_at()) {
    clicked_at_us = request->clicked_at();
    if (clicked_at_us > now_us + absl::ToInt64Microseconds(kClickFutureMax)) {
      valid = absl::InvalidArgumentError(absl::StrCat(
          "clicked_at: ", clicked_at_us, " is more than 5 minutes in the future (now ", now_us,
          ")"));
    } else if (clicked_at_us <= 0) {
      valid = absl::InvalidArgumentError("clicked_at: must be after 1970-01-01T00:00:00Z");
    }
  }
  // One seek on the link's stream: a click never replays the link's history.
  if (valid.ok()) valid = LinkExists(log_, request->link_id());
  if (!valid.ok()) return Done(context, valid);
  // Without clicked_at the payload says 0 and the click counts at the event's
  // recorded_at: the server's time at commit, and a retried command (same
  // request_id) carries identical content, so the log deduplicates it.
  const int64_t stored_at = request->has_clicked_at() ? clicked_at_us : 0;
  NewEvent e = MakeEvent(
      links::kClickRecordedType,
      links::EncodeClickRecorded(request->link_id(), request->country(), device, stored_at),
      "RecordClick", request->link_id(), request->request_id());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AppendCommand(log_, reactor, response, links::ClickStream(request->link_id()),
                ExpectedVersion::Any(), std::move(e), nullptr);
  return reactor;
}

grpc::ServerUnaryReactor* LinkCommandsService::UpdateDestination(
    grpc::CallbackServerContext* context, const strata::v1::UpdateDestinationRequest* request,
    strata::v1::CommandResponse* response) {
  absl::Status valid = links::ValidateLinkId(request->link_id());
  if (valid.ok()) valid = links::ValidateDestination(request->destination());
  if (valid.ok()) valid = ValidateRequestId(request->request_id());
  if (valid.ok()) valid = LinkExists(log_, request->link_id());
  if (!valid.ok()) return Done(context, valid);
  const std::string link_id = request->link_id();
  const ExpectedVersion expected = request->has_expected_version()
                                       ? ExpectedVersion::Exact(request->expected_version())
                                       : ExpectedVersion::StreamExists();
  NewEvent e = MakeEvent(links::kDestinationUpdatedType,
                         links::EncodeDestinationUpdated(link_id, request->destination()),
                         "UpdateDestination", link_id, request->request_id());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AppendCommand(log_, reactor, response, links::LinkStream(link_id), expected, std::move(e),
                [link_id](const absl::Status& s) {
                  if (absl::IsAborted(s)) {
                    return absl::AbortedError(absl::StrCat("link '", link_id, "': ", s.message()));
                  }
                  return s;
                });
  return reactor;
}

namespace {

// Waits for min_position on every projection of `names`, within the call's
// deadline (or `default_wait` when it has none).
absl::Status WaitForMinPosition(grpc::ServerContext* context, EventLog* log,
                                ProjectionRuntime* runtime, const std::vector<std::string>& names,
                                bool has_min, uint64_t min_position, absl::Duration default_wait) {
  if (!has_min) return absl::OkStatus();
  if (min_position > log->Head()) {
    return absl::OutOfRangeError(absl::StrCat("min_position ", min_position,
                                              " is beyond the head (", log->Head(), ")"));
  }
  absl::Time deadline = absl::FromChrono(context->deadline());
  deadline = std::min(deadline, absl::Now() + default_wait);
  for (const std::string& name : names) {
    STRATA_RETURN_IF_ERROR(runtime->WaitFor(name, min_position, deadline));
  }
  return absl::OkStatus();
}

}  // namespace

LinkQueriesService::LinkQueriesService(EventLog* log, ProjectionRuntime* runtime,
                                       absl::Duration default_wait)
    : RpcService("LinkQueries"), log_(log), runtime_(runtime), default_wait_(default_wait) {
  AddSyncUnary("GetLink", &LinkQueriesService::GetLink);
  AddSyncUnary("GetLinkAnalytics", &LinkQueriesService::GetLinkAnalytics);
}

namespace {

std::optional<GlobalPosition> AsOf(const auto& request) {
  if (!request.has_as_of_position()) return std::nullopt;
  return request.as_of_position();
}

}  // namespace

grpc::Status LinkQueriesService::GetLink(grpc::ServerContext* context,
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
    grpc::ServerContext* context, const strata::v1::GetLinkAnalyticsRequest* request,
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

ProjectionsService::ProjectionsService(ProjectionRuntime* runtime)
    : RpcService("Projections"), runtime_(runtime) {
  AddSyncUnary("ListProjections", &ProjectionsService::ListProjections);
  AddSyncUnary("RebuildProjection", &ProjectionsService::RebuildProjection);
}

grpc::Status ProjectionsService::ListProjections(grpc::ServerContext* /*context*/,
                                                 const strata::v1::ListProjectionsRequest*,
                                                 strata::v1::ListProjectionsResponse* response) {
  for (const ProjectionStatus& st : runtime_->Status()) {
    api::ToProto(st, response->add_projections());
  }
  return grpc::Status::OK;
}

grpc::Status ProjectionsService::RebuildProjection(grpc::ServerContext* /*context*/,
                                                   const strata::v1::RebuildProjectionRequest* request,
                                                   strata::v1::RebuildProjectionResponse*) {
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required");
  }
  return ToGrpc(runtime_->Rebuild(request->name()));
}

}  // namespace strata::server
