// StreamsService (streams_service.h): Append and DeleteStream finished from
// the log's writer thread, ReadStream, ReadAll and Subscribe streamed in
// bounded batches through EventWriter, ListStreams, and the writable-stream
// checks.
#include "server/streams_service.h"

#include <algorithm>
#include <deque>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "api/grpc_status.h"
#include "engine/base/macros.h"
#include "engine/base/validate.h"
#include "server/event_writer.h"

namespace strata::server {

using api::ToGrpc;

namespace {

constexpr absl::string_view kMetadataAppend = "/strata.v1.Streams/Append to a metadata stream";

using api::FromProto;
using api::ToProto;
using strata::v1::ReadAllResponse;
using strata::v1::ReadStreamResponse;
using strata::v1::SubscribeResponse;

// One message's bounds (strata.proto): events, and payload bytes, which a
// single larger event may exceed.
constexpr int kMessageEventsMax = 1024;
constexpr size_t kMessageBytesMax = 256 << 10;

// Strata's messages: as many events as fit the bounds, and (subscriptions)
// the caught_up marker with the follower's position.
template <typename Response>
struct BatchEncoder {
  bool Prologue(Response*) { return false; }
  bool Accept(std::vector<RecordedEvent>*) { return false; }
  void Fill(std::deque<RecordedEvent>* buffer, size_t* buffered_bytes, Response* m) {
    m->Clear();
    size_t bytes = 0;
    while (!buffer->empty() && m->events_size() < kMessageEventsMax) {
      RecordedEvent& e = buffer->front();
      const size_t size = e.payload_bytes();
      if (m->events_size() > 0 && bytes + size > kMessageBytesMax) break;
      bytes += size;
      *buffered_bytes -= size;
      ToProto(std::move(e), m->add_events());
      buffer->pop_front();
    }
  }
  bool CaughtUp(GlobalPosition, Response*) { return false; }
};

template <>
bool BatchEncoder<SubscribeResponse>::CaughtUp(GlobalPosition cursor, SubscribeResponse* m) {
  m->Clear();
  m->mutable_caught_up()->set_position(cursor);
  return true;
}

template <typename Response>
using StrataWriter = EventWriter<Response, BatchEncoder<Response>>;

absl::Status CheckPositionArg(const char* field, uint64_t value) {
  if (value == UINT64_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", value, " is not a position"));
  }
  return absl::OkStatus();
}

// A finite read: a reactor over `options`, or the error answer.
template <typename Response>
grpc::ServerWriteReactor<Response>* ReadWith(const EventLog& log, CursorOptions options,
                                             SubscriptionHub* hub) {
  absl::StatusOr<LogCursor> cursor = log.NewCursor(std::move(options));
  if (!cursor.ok()) return Reject<Response>(cursor.status());
  auto* writer = new StrataWriter<Response>(std::move(*cursor), hub);
  writer->Start();
  return writer;
}

}  // namespace

absl::Status CheckWritableStream(absl::string_view stream,
                                 const std::vector<std::string>& reserved_prefixes) {
  // A stream's metadata is as writable as the stream.
  const absl::string_view owner = StreamOfMetastream(stream).value_or(stream);
  if (absl::StartsWith(owner, "$")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stream: '", stream.substr(0, 64),
        "': names starting with '$' are reserved for the system's own streams (a stream's "
        "metadata goes to '$$<stream>')"));
  }
  for (const std::string& prefix : reserved_prefixes) {
    if (absl::StartsWith(owner, prefix)) {
      return absl::InvalidArgumentError(
          absl::StrCat("stream: '", stream.substr(0, 64), "' starts with '", prefix,
                       "', which a domain service owns; write it through that service's commands"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckValidWritableStream(absl::string_view stream,
                                      const std::vector<std::string>& reserved_prefixes) {
  STRATA_RETURN_IF_ERROR(internal::ValidateStreamName(stream));
  return CheckWritableStream(stream, reserved_prefixes);
}

// ---- Streams ----

StreamsService::StreamsService(EventLog* log, SubscriptionHub* hub, BlockingExecutor* executor,
                               std::vector<std::string> reserved_prefixes)
    : RpcService("Streams"),
      log_(log),
      hub_(hub),
      reserved_prefixes_(std::move(reserved_prefixes)) {
  AddCallbackUnary("Append", Role::kWrite, &StreamsService::Append);
  AddCallbackUnary("DeleteStream", Role::kAdmin, &StreamsService::DeleteStream);
  AddCallbackServerStreaming("ReadStream", Role::kRead, &StreamsService::ReadStream);
  AddCallbackServerStreaming("ReadAll", Role::kRead, &StreamsService::ReadAll);
  AddCallbackServerStreaming("Subscribe", Role::kRead, &StreamsService::Subscribe);
  AddBlockingUnary("ListStreams", Role::kRead, executor, &StreamsService::ListStreams);
}

grpc::Status StreamsService::ListStreams(grpc::CallbackServerContext* /*context*/,
                                         const strata::v1::ListStreamsRequest* request,
                                         strata::v1::ListStreamsResponse* response) {
  constexpr uint32_t kMaxLimit = 1000;
  if (request->limit() > kMaxLimit) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("limit: ", request->limit(), " is above ", kMaxLimit));
  }
  const size_t limit = request->limit() == 0 ? 100 : request->limit();
  absl::StatusOr<std::vector<StreamSummary>> streams =
      log_->ListStreams(request->prefix(), request->after(), limit + 1);
  if (!streams.ok()) return ToGrpc(streams.status());
  for (size_t i = 0; i < streams->size() && i < limit; ++i) {
    const StreamSummary& s = (*streams)[i];
    strata::v1::StreamSummary* out = response->add_streams();
    out->set_stream(s.stream);
    out->set_last_version(s.last_version);
    out->set_last_position(s.last_position);
  }
  // One more than asked tells whether another page follows.
  if (streams->size() > limit) response->set_next_after((*streams)[limit - 1].stream);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* StreamsService::Append(grpc::CallbackServerContext* context,
                                                 const strata::v1::AppendRequest* request,
                                                 strata::v1::AppendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status writable = CheckWritableStream(request->stream(), reserved_prefixes_);
      !writable.ok()) {
    reactor->Finish(ToGrpc(writable));
    return reactor;
  }
  // Metadata can truncate or soft-delete the stream: as much as DeleteStream.
  if (StreamOfMetastream(request->stream()).has_value()) {
    if (grpc::Status s = CheckRole(*context, kMetadataAppend, Role::kAdmin); !s.ok()) {
      reactor->Finish(s);
      return reactor;
    }
  }
  absl::StatusOr<ExpectedVersion> expected = FromProto(request->expected_version());
  if (!expected.ok()) {
    reactor->Finish(ToGrpc(expected.status()));
    return reactor;
  }
  absl::StatusOr<std::vector<NewEvent>> events = FromProto(request->events());
  if (!events.ok()) {
    reactor->Finish(ToGrpc(events.status()));
    return reactor;
  }
  // Completes on the log's writer thread once the group is synced.
  log_->AppendAsync(request->stream(), *expected, std::move(*events),
                    [reactor, response](absl::StatusOr<AppendResult> result) {
                      if (!result.ok()) {
                        reactor->Finish(ToGrpc(result.status()));
                        return;
                      }
                      response->set_first_position(result->first_position);
                      response->set_last_position(result->last_position);
                      response->set_last_version(result->last_version);
                      response->set_deduplicated(result->deduplicated);
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* StreamsService::DeleteStream(
    grpc::CallbackServerContext* context, const strata::v1::DeleteStreamRequest* request,
    strata::v1::DeleteStreamResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Status valid = CheckValidWritableStream(request->stream(), reserved_prefixes_);
  absl::StatusOr<ExpectedVersion> expected =
      valid.ok() ? FromProto(request->expected_version()) : valid;
  if (!expected.ok()) {
    reactor->Finish(ToGrpc(expected.status()));
    return reactor;
  }
  log_->DeleteStreamAsync(
      request->stream(), *expected,
      request->tombstone() ? DeleteMode::kTombstone : DeleteMode::kSoft,
      [reactor, response](absl::StatusOr<AppendResult> result) {
        if (result.ok()) response->set_position(result->last_position);
        reactor->Finish(result.ok() ? grpc::Status::OK : ToGrpc(result.status()));
      });
  return reactor;
}

grpc::ServerWriteReactor<ReadStreamResponse>* StreamsService::ReadStream(
    grpc::CallbackServerContext* /*context*/, const strata::v1::ReadStreamRequest* request) {
  absl::Status valid = internal::ValidateStreamName(request->stream());
  if (valid.ok() && request->has_as_of_position()) {
    valid = CheckPositionArg("as_of_position", request->as_of_position());
  }
  if (!valid.ok()) return Reject<ReadStreamResponse>(valid);
  CursorOptions options;
  options.stream = request->stream();
  options.direction = request->backwards() ? ReadDirection::kBackward : ReadDirection::kForward;
  if (request->has_from_version()) options.from = request->from_version();
  if (request->has_as_of_position()) options.as_of_position = request->as_of_position();
  if (request->max_count() != 0) options.max_count = request->max_count();
  return ReadWith<ReadStreamResponse>(*log_, std::move(options), hub_);
}

grpc::ServerWriteReactor<ReadAllResponse>* StreamsService::ReadAll(
    grpc::CallbackServerContext* /*context*/, const strata::v1::ReadAllRequest* request) {
  absl::Status valid = absl::OkStatus();
  if (request->has_as_of_position()) {
    valid = CheckPositionArg("as_of_position", request->as_of_position());
  }
  if (!valid.ok()) return Reject<ReadAllResponse>(valid);
  CursorOptions options;
  options.direction = request->backwards() ? ReadDirection::kBackward : ReadDirection::kForward;
  if (request->has_from_position()) options.from = request->from_position();
  if (request->has_as_of_position()) options.as_of_position = request->as_of_position();
  options.filter = FromProto(request->filter());
  if (request->max_count() != 0) options.max_count = request->max_count();
  return ReadWith<ReadAllResponse>(*log_, std::move(options), hub_);
}

grpc::ServerWriteReactor<SubscribeResponse>* StreamsService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const strata::v1::SubscribeRequest* request) {
  absl::Status valid = CheckPositionArg("after_position", request->after_position());
  if (!valid.ok()) return Reject<SubscribeResponse>(valid);
  absl::StatusOr<std::unique_ptr<Follower>> follower =
      log_->Follow(request->after_position(), FromProto(request->filter()));
  if (!follower.ok()) return Reject<SubscribeResponse>(follower.status());
  auto* writer = new StrataWriter<SubscribeResponse>(std::move(*follower), hub_);
  writer->Start();
  return writer;
}

}  // namespace strata::server
