// The link analytics and projection admin answers as strata.v1 messages: the
// one conversion from the domain's query results to the API, used by the
// server's services and by the CLI's offline commands alike. Thread-safe
// (pure functions).
#ifndef STRATA_API_LINKS_API_H_
#define STRATA_API_LINKS_API_H_

#include "absl/strings/string_view.h"
#include "links/queries.h"
#include "projections/runtime/runtime.h"
#include "schemas/strata.pb.h"

namespace strata::api {

void ToProto(absl::string_view link_id, const links::LinkAt& link,
             strata::v1::GetLinkResponse* out);
void ToProto(absl::string_view link_id, const links::LinkAnalyticsAt& analytics,
             strata::v1::GetLinkAnalyticsResponse* out);
void ToProto(const ProjectionStatus& status, strata::v1::ProjectionInfo* out);

}  // namespace strata::api

#endif  // STRATA_API_LINKS_API_H_
