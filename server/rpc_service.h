// RpcService: the base of Strata's gRPC services. It registers each method
// with Strata's own request parsing instead of the generated service classes,
// so that a request protobuf cannot parse gets INVALID_ARGUMENT naming the
// field ("events[0].type: not valid UTF-8") and the handler is never called.
//
// Why: proto3 `string` fields must be valid UTF-8, and protobuf's parser
// rejects the whole request otherwise. With the generated classes the client
// then gets gRPC's fixed answer for a failed parse: UNIMPLEMENTED with an
// empty message from callback methods, INTERNAL from sync ones (gRPC 1.51,
// grpcpp/impl/codegen/server_callback_handlers.h). Here the parse happens in
// SerializationTraits<Incoming<T>>, which always succeeds for gRPC and keeps
// the parse error for the dispatcher to answer.
//
// Method paths come from the service's descriptor (so they match the
// generated stubs); a method name or request/response type that does not
// match the descriptor aborts at construction: a programming error.
#ifndef STRATA_SERVER_RPC_SERVICE_H_
#define STRATA_SERVER_RPC_SERVICE_H_

#include <deque>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "server/blocking_executor.h"
#include "server/security.h"

namespace strata::server {

// A request as it arrived: the parsed message, or why it could not be parsed.
template <class T>
struct Incoming {
  T message;
  grpc::Status error;  // OK when `message` was parsed
};

// INVALID_ARGUMENT for `bytes` that did not parse as a `type` message: names
// the first string field (a path such as "events[2].type") holding invalid
// UTF-8, else says the bytes are not a valid message of that type.
grpc::Status DescribeParseFailure(const grpc::ByteBuffer& bytes,
                                  const google::protobuf::Descriptor& type);

// The same, for bytes already in memory (used by the fuzz target).
grpc::Status DescribeParseFailure(const std::string& bytes,
                                  const google::protobuf::Descriptor& type);

// A server-streaming call that ends at once with `status`.
template <class Resp>
class FinishedWriter : public grpc::ServerWriteReactor<Resp> {
 public:
  explicit FinishedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

// A client-streaming call that ends at once with `status`, reading nothing.
template <class Req>
class FinishedReader : public grpc::ServerReadReactor<Req> {
 public:
  explicit FinishedReader(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

class RpcService : public grpc::Service {
 public:
  // Internal when a method of the service in strata.proto was not registered
  // (it would answer UNIMPLEMENTED); checked when the server starts.
  absl::Status CheckComplete() const;

  // Checks each call's access token against the role its method was
  // registered with (security.h). Default: none, every call is allowed. Set
  // before the service is registered; `authorizer` outlives the service.
  void SetAuthorizer(const Authorizer* authorizer) { authorizer_ = authorizer; }

 protected:
  // `service`: the service's name in schemas/strata.proto, e.g. "Streams".
  explicit RpcService(const char* service);

  // Each method is registered with the role a caller's token needs (`role`).

  // A further check inside a method, for requests that need more than the
  // method's role (an append to a metadata stream needs admin): OK when the
  // caller's token has `role` or the server has no tokens. `what` names the
  // request in the message and the log.
  grpc::Status CheckRole(const grpc::ServerContextBase& context, absl::string_view what,
                         Role role) const {
    return authorizer_ == nullptr ? grpc::Status::OK : authorizer_->Check(context, what, role);
  }

  // A unary method on the callback API: `fn` returns the call's reactor.
  template <class Svc, class Req, class Resp>
  void AddCallbackUnary(const char* method, Role role,
                        grpc::ServerUnaryReactor* (Svc::*fn)(grpc::CallbackServerContext*,
                                                             const Req*, Resp*)) {
    Svc* self = static_cast<Svc*>(this);
    const std::string* path = NewPath(method);
    Add(method, *path, *Req::descriptor(), *Resp::descriptor(),
        grpc::internal::RpcMethod::NORMAL_RPC, grpc::internal::RpcServiceMethod::ApiType::CALL_BACK,
        new grpc::internal::CallbackUnaryHandler<Incoming<Req>, Resp>(
            [self, fn, path, role](grpc::CallbackServerContext* context,
                                   const Incoming<Req>* request, Resp* response) {
              if (grpc::Status s = self->Admit(*context, *path, role, *request); !s.ok()) {
                grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
                reactor->Finish(s);
                return reactor;
              }
              return (self->*fn)(context, &request->message, response);
            }));
  }

  // A server-streaming method on the callback API.
  template <class Svc, class Req, class Resp>
  void AddCallbackServerStreaming(
      const char* method, Role role,
      grpc::ServerWriteReactor<Resp>* (Svc::*fn)(grpc::CallbackServerContext*, const Req*)) {
    Svc* self = static_cast<Svc*>(this);
    const std::string* path = NewPath(method);
    Add(method, *path, *Req::descriptor(), *Resp::descriptor(),
        grpc::internal::RpcMethod::SERVER_STREAMING,
        grpc::internal::RpcServiceMethod::ApiType::CALL_BACK,
        new grpc::internal::CallbackServerStreamingHandler<Incoming<Req>, Resp>(
            [self, fn, path, role](
                grpc::CallbackServerContext* context,
                const Incoming<Req>* request) -> grpc::ServerWriteReactor<Resp>* {
              if (grpc::Status s = self->Admit(*context, *path, role, *request); !s.ok()) {
                return new FinishedWriter<Resp>(s);
              }
              return (self->*fn)(context, &request->message);
            }));
  }

  // A unary method that may block (within the call's deadline): `fn` runs on
  // `executor` (blocking_executor.h), never on gRPC's callback threads.
  template <class Svc, class Req, class Resp>
  void AddBlockingUnary(const char* method, Role role, BlockingExecutor* executor,
                        grpc::Status (Svc::*fn)(grpc::CallbackServerContext*, const Req*, Resp*)) {
    Svc* self = static_cast<Svc*>(this);
    const std::string* path = NewPath(method);
    Add(method, *path, *Req::descriptor(), *Resp::descriptor(),
        grpc::internal::RpcMethod::NORMAL_RPC, grpc::internal::RpcServiceMethod::ApiType::CALL_BACK,
        new grpc::internal::CallbackUnaryHandler<Incoming<Req>, Resp>(
            [self, fn, path, role, executor](grpc::CallbackServerContext* context,
                                             const Incoming<Req>* request, Resp* response) {
              grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
              if (grpc::Status s = self->Admit(*context, *path, role, *request); !s.ok()) {
                reactor->Finish(s);
                return reactor;
              }
              executor->Schedule([self, fn, context, request, response, reactor] {
                reactor->Finish(context->IsCancelled()
                                    ? grpc::Status::CANCELLED
                                    : (self->*fn)(context, &request->message, response));
              });
              return reactor;
            }));
  }

 private:
  // The token check first (a stranger learns nothing of the request), then
  // the request's parse error.
  template <class Req>
  grpc::Status Admit(const grpc::CallbackServerContext& context, const std::string& path, Role role,
                     const Incoming<Req>& request) const {
    if (authorizer_ != nullptr) {
      if (grpc::Status s = authorizer_->Check(context, path, role); !s.ok()) return s;
    }
    return request.error;
  }

  // "/strata.v1.<Service>/<method>", kept for the life of the service.
  const std::string* NewPath(const char* method);
  void Add(const char* method, const std::string& path, const google::protobuf::Descriptor& request,
           const google::protobuf::Descriptor& response, grpc::internal::RpcMethod::RpcType type,
           grpc::internal::RpcServiceMethod::ApiType api, grpc::internal::MethodHandler* handler);

  const google::protobuf::ServiceDescriptor* service_;
  std::deque<std::string> paths_;  // gRPC keeps the method path as a const char*
  const Authorizer* authorizer_ = nullptr;
};

}  // namespace strata::server

namespace grpc {

// Parses a request for RpcService: never fails for gRPC; a request that does
// not parse carries its INVALID_ARGUMENT status in Incoming::error instead.
template <class T>
class SerializationTraits<strata::server::Incoming<T>, void> {
 public:
  static Status Deserialize(ByteBuffer* buffer, strata::server::Incoming<T>* incoming) {
    bool parsed = false;
    if (buffer->Valid()) {
      ProtoBufferReader reader(buffer);  // reads without consuming the buffer
      parsed = reader.status().ok() && incoming->message.ParseFromZeroCopyStream(&reader);
    }
    if (!parsed) {
      incoming->error = strata::server::DescribeParseFailure(*buffer, *T::descriptor());
    }
    buffer->Clear();
    return Status::OK;
  }
};

}  // namespace grpc

#endif  // STRATA_SERVER_RPC_SERVICE_H_
