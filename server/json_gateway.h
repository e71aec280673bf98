// The JSON API of stratad's HTTP listener (the web UI's, and curl's):
// POST /api/strata.v1.<Service>/<Method> with the request message as proto3
// JSON answers the response message as JSON (snake_case field names; 64-bit
// integers as strings and bytes as base64, as proto3 JSON writes them), or,
// for a server-streaming method, {"messages": [...]}. Each call goes through
// the gRPC server itself on an in-process channel, so validation, token
// checks (the HTTP Authorization header is passed on), limits and metrics
// are exactly the gRPC API's. Errors answer {"code": "INVALID_ARGUMENT",
// "message": "..."} with the matching HTTP status. Subscribe (endless) and
// client-streaming methods are not offered: poll ReadAll from a position.
// Thread-safe.
#ifndef STRATA_SERVER_JSON_GATEWAY_H_
#define STRATA_SERVER_JSON_GATEWAY_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace strata::server {

class JsonGateway {
 public:
  // `channel`: to the gRPC server serving strata.v1 (its InProcessChannel).
  explicit JsonGateway(std::shared_ptr<grpc::Channel> channel) : channel_(std::move(channel)) {}

  struct Reply {
    int http_status = 200;
    std::string json;
  };
  // `method`: "strata.v1.Streams/ReadStream"; `body`: the request as JSON
  // (empty: the default request); `authorization`: the HTTP header's value.
  Reply Call(absl::string_view method, absl::string_view body,
             absl::string_view authorization) const;

  // The HTTP status for a gRPC code (INVALID_ARGUMENT 400, NOT_FOUND 404, ...).
  static int HttpStatus(grpc::StatusCode code);
  // An error's JSON body: {"code":"NOT_FOUND","message":"..."}.
  static std::string ErrorJson(grpc::StatusCode code, absl::string_view message);

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_JSON_GATEWAY_H_
