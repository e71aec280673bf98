// The one place where absl::Status and grpc::Status become each other (the
// server answering, the CLI reading answers): a cast, since the canonical
// codes share their numbers. Thread-safe.
#ifndef STRATA_API_GRPC_STATUS_H_
#define STRATA_API_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace strata::api {

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// "INVALID_ARGUMENT": the code's canonical name.
inline std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

inline absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace strata::api

#endif  // STRATA_API_GRPC_STATUS_H_
