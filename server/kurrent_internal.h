// What the KurrentDB protocol's services share (kurrent_service.cc: reads,
// deletes, server features; kurrent_append.cc: Append): the error trailers
// the official clients read, the expected revision of an options message, and
// the token check. Internal to server/.
#ifndef STRATA_SERVER_KURRENT_INTERNAL_H_
#define STRATA_SERVER_KURRENT_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/event_log.h"
#include "grpcpp/grpcpp.h"
#include "server/security.h"

namespace strata::server::kurrent_internal {

// KurrentDB's error names, sent in the `exception` trailer (the clients turn
// them into their typed errors).
constexpr char kExceptionTrailer[] = "exception";
constexpr char kMissingMetadata[] = "missing-required-metadata-property";
constexpr char kAppendTooLarge[] = "maximum-append-size-exceeded";
constexpr char kStreamDeleted[] = "stream-deleted";
constexpr char kWrongExpectedVersion[] = "wrong-expected-version";

// A gRPC error carrying `exception` in the trailer.
grpc::Status WithException(grpc::CallbackServerContext* context, grpc::StatusCode code,
                           const char* exception, std::string message);
// A tombstoned stream, as the clients expect it (they read its name).
grpc::Status StreamDeleted(grpc::CallbackServerContext* context, const std::string& stream,
                           const absl::Status& cause);
// The token check of a Streams method (security.h); OK without an authorizer.
grpc::Status Authorize(const Authorizer* authorizer, const grpc::CallbackServerContext& context,
                       absl::string_view method, Role role);

// The expected revision of an append's, a delete's or a tombstone's options.
template <typename Options>
ExpectedVersion FromOptions(const Options& in) {
  if (in.has_revision()) return ExpectedVersion::Exact(in.revision());
  if (in.has_no_stream()) return ExpectedVersion::NoStream();
  if (in.has_stream_exists()) return ExpectedVersion::StreamExists();
  return ExpectedVersion::Any();
}

}  // namespace strata::server::kurrent_internal

#endif  // STRATA_SERVER_KURRENT_INTERNAL_H_
