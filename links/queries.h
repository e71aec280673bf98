// The link analytics queries on the read models, shared by the server
// (LinkQueries) and the CLI's offline commands: each reads the projections it
// needs at one position, so an answer is one consistent state.
//
// Thread-safety: thread-safe (the runtime is).
#ifndef STRATA_LINKS_QUERIES_H_
#define STRATA_LINKS_QUERIES_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "links/links.h"
#include "projections/runtime/runtime.h"

namespace strata::links {

struct LinkAt {
  LinkDetails details;
  GlobalPosition position = 0;  // the log position the answer reflects
};

struct LinkAnalyticsAt {
  LinkAnalytics analytics;
  GlobalPosition position = 0;
};

// The link as of `as_of` (default: the read model's checkpoint). NotFound
// "link 'x' does not exist at position P"; the runtime's errors otherwise.
absl::StatusOr<LinkAt> QueryLink(const ProjectionRuntime& runtime, absl::string_view link_id,
                                 std::optional<GlobalPosition> as_of);

// The link's clicks over [from, to] (validated first: ValidateDateRange), at
// one position of link_details and link_clicks; NotFound as QueryLink.
absl::StatusOr<LinkAnalyticsAt> QueryLinkAnalytics(const ProjectionRuntime& runtime,
                                                   absl::string_view link_id, absl::CivilDay from,
                                                   absl::CivilDay to,
                                                   std::optional<GlobalPosition> as_of);

}  // namespace strata::links

#endif  // STRATA_LINKS_QUERIES_H_
