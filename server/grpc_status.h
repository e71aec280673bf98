// The one place where absl::Status becomes grpc::Status: a cast, since the
// canonical codes share their numbers. Thread-safe.
#ifndef STRATA_SERVER_GRPC_STATUS_H_
#define STRATA_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace strata::server {

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace strata::server

#endif  // STRATA_SERVER_GRPC_STATUS_H_
