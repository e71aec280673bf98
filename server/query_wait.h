// Read-your-writes for queries: waiting for min_position. Thread-safe.
#ifndef STRATA_SERVER_QUERY_WAIT_H_
#define STRATA_SERVER_QUERY_WAIT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "grpcpp/grpcpp.h"
#include "projections/runtime/runtime.h"

namespace strata::server {

// Waits until every projection of `names` has applied `min_position`, within
// the call's deadline (or `default_wait` when it has none). OK at once without
// `has_min`; OutOfRange when min_position is beyond the log's head.
absl::Status WaitForMinPosition(grpc::CallbackServerContext* context, EventLog* log,
                                ProjectionRuntime* runtime, const std::vector<std::string>& names,
                                bool has_min, uint64_t min_position, absl::Duration default_wait);

}  // namespace strata::server

#endif  // STRATA_SERVER_QUERY_WAIT_H_
