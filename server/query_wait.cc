// WaitForMinPosition (query_wait.h): OutOfRange past the log's head, else a
// wait on each projection until the call's deadline or the default wait.
#include "server/query_wait.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/base/macros.h"

namespace strata::server {

absl::Status WaitForMinPosition(grpc::CallbackServerContext* context, EventLog* log,
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

}  // namespace strata::server
