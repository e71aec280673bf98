// JsonGateway (json_gateway.h): a method found in the descriptor pool, its JSON
// request parsed and sent as a generic call on the in-process channel, each
// response written back as JSON; the gRPC code to HTTP status table.
#include "server/json_gateway.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "api/grpc_status.h"
#include "engine/base/json_quote.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"

namespace strata::server {
namespace {

namespace pb = ::google::protobuf;

// A JSON answer can hold this much of a streamed read; a longer one is cut
// with "truncated": true (ask for less with max_count).
constexpr size_t kMaxStreamedBytes = 16 << 20;
// A call through the gateway ends by then.
constexpr auto kDeadline = std::chrono::seconds(30);

JsonGateway::Reply Error(grpc::StatusCode code, absl::string_view message) {
  return {JsonGateway::HttpStatus(code), JsonGateway::ErrorJson(code, message)};
}

// One call of any method as a generic bidi stream: the request, a
// half-close, then every response until the status.
class GenericCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  GenericCall(grpc::GenericStub* stub, grpc::ClientContext* context, const std::string& method,
              grpc::ByteBuffer request)
      : context_(context), request_(std::move(request)) {
    stub->PrepareBidiStreamingCall(context, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    bytes_ += response_.Length();
    responses_.push_back(std::move(response_));
    response_ = grpc::ByteBuffer();
    if (bytes_ > kMaxStreamedBytes) {
      truncated_ = true;
      context_->TryCancel();
      return;
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  grpc::Status Await() {
    done_.WaitForNotification();
    return status_;
  }
  std::vector<grpc::ByteBuffer>& responses() { return responses_; }
  bool truncated() const { return truncated_; }

 private:
  grpc::ClientContext* const context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::vector<grpc::ByteBuffer> responses_;
  size_t bytes_ = 0;
  bool truncated_ = false;
  grpc::Status status_;
  absl::Notification done_;
};

}  // namespace

std::string JsonGateway::ErrorJson(grpc::StatusCode code, absl::string_view message) {
  return absl::StrCat("{\"code\":\"", api::CodeName(code), "\",\"message\":", JsonQuote(message), "}");
}

int JsonGateway::HttpStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

JsonGateway::Reply JsonGateway::Call(absl::string_view method, absl::string_view body,
                                     absl::string_view authorization) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(method, '/');
  const pb::ServiceDescriptor* service =
      parts.size() == 2 && absl::StartsWith(parts[0], "strata.v1.")
          ? pb::DescriptorPool::generated_pool()->FindServiceByName(std::string(parts[0]))
          : nullptr;
  const pb::MethodDescriptor* m =
      service == nullptr ? nullptr : service->FindMethodByName(std::string(parts[1]));
  if (m == nullptr) {
    return Error(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no method '", method,
                              "': POST /api/strata.v1.<Service>/<Method>, as in "
                              "schemas/strata.proto"));
  }
  if (m->client_streaming() || m->name() == "Subscribe") {
    return Error(grpc::StatusCode::UNIMPLEMENTED,
                 absl::StrCat(method,
                              " streams without end; over HTTP, read with ReadAll from a "
                              "position and ask again for what follows"));
  }
  pb::MessageFactory* factory = pb::MessageFactory::generated_factory();
  std::unique_ptr<pb::Message> request(factory->GetPrototype(m->input_type())->New());
  if (!body.empty()) {
    pb::util::JsonParseOptions options;
    const auto parsed = pb::util::JsonStringToMessage(std::string(body), request.get(), options);
    if (!parsed.ok()) {
      return Error(grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("body: not a ", m->input_type()->full_name(),
                                " in JSON: ", parsed.message().as_string()));
    }
  }
  grpc::ByteBuffer request_bytes;
  bool own = false;
  if (!grpc::SerializationTraits<pb::Message>::Serialize(*request, &request_bytes, &own).ok()) {
    return Error(grpc::StatusCode::INTERNAL, "cannot serialize the request");
  }
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  if (!authorization.empty()) {
    // gRPC takes only printable ASCII in metadata (and aborts on anything
    // else); HTTP headers may hold more.
    if (authorization.size() > 4096 ||
        !std::all_of(authorization.begin(), authorization.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e; })) {
      return Error(grpc::StatusCode::UNAUTHENTICATED,
                   "authorization is not 'Bearer <token>' (printable ASCII, at most 4096 bytes)");
    }
    context.AddMetadata("authorization", std::string(authorization));
  }
  GenericCall call(&stub, &context, absl::StrCat("/", method), std::move(request_bytes));
  const grpc::Status status = call.Await();
  if (!status.ok() && !(call.truncated() && status.error_code() == grpc::StatusCode::CANCELLED)) {
    return Error(status.error_code(), status.error_message());
  }
  pb::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  print.always_print_primitive_fields = true;
  std::vector<std::string> messages;
  for (grpc::ByteBuffer& bytes : call.responses()) {
    std::unique_ptr<pb::Message> response(factory->GetPrototype(m->output_type())->New());
    if (!grpc::SerializationTraits<pb::Message>::Deserialize(&bytes, response.get()).ok()) {
      return Error(grpc::StatusCode::INTERNAL, "cannot parse the server's answer");
    }
    std::string json;
    if (!pb::util::MessageToJsonString(*response, &json, print).ok()) {
      return Error(grpc::StatusCode::INTERNAL, "cannot write the server's answer as JSON");
    }
    messages.push_back(std::move(json));
  }
  if (!m->server_streaming()) {
    if (messages.size() != 1) return Error(grpc::StatusCode::INTERNAL, "no answer");
    return {200, std::move(messages[0])};
  }
  return {200, absl::StrCat("{\"messages\":[", absl::StrJoin(messages, ","),
                            "],\"truncated\":", call.truncated() ? "true" : "false", "}")};
}

}  // namespace strata::server
