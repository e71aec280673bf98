// The link queries (queries.h): one consistent read of the link read models.
#include "links/queries.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/macros.h"

namespace strata::links {
namespace {

// Reads `names` (link_details first) at one position, NotFound for a link that
// does not exist there, then `more` with the readers, position and details.
template <typename More>
absl::Status ReadLink(const ProjectionRuntime& runtime, absl::string_view link_id,
                      const std::vector<std::string>& names, std::optional<GlobalPosition> as_of,
                      More more) {
  return runtime.Read(names, as_of, [&](auto readers, GlobalPosition position) -> absl::Status {
    STRATA_ASSIGN_OR_RETURN(std::optional<LinkDetails> details,
                            ReadLinkDetails(*readers[0], link_id));
    if (!details.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("link '", link_id, "' does not exist at position ", position));
    }
    return more(readers, position, *details);
  });
}

}  // namespace

absl::StatusOr<LinkAt> QueryLink(const ProjectionRuntime& runtime, absl::string_view link_id,
                                 std::optional<GlobalPosition> as_of) {
  LinkAt out;
  STRATA_RETURN_IF_ERROR(ReadLink(runtime, link_id, {kLinkDetailsProjection}, as_of,
                                  [&](auto, GlobalPosition position, const LinkDetails& d) {
                                    out.details = d;
                                    out.position = position;
                                    return absl::OkStatus();
                                  }));
  return out;
}

absl::StatusOr<LinkAnalyticsAt> QueryLinkAnalytics(const ProjectionRuntime& runtime,
                                                   absl::string_view link_id, absl::CivilDay from,
                                                   absl::CivilDay to,
                                                   std::optional<GlobalPosition> as_of) {
  STRATA_RETURN_IF_ERROR(ValidateDateRange(from, to));
  LinkAnalyticsAt out;
  STRATA_RETURN_IF_ERROR(ReadLink(
      runtime, link_id, {kLinkDetailsProjection, kLinkClicksProjection}, as_of,
      [&](auto readers, GlobalPosition position, const LinkDetails&) -> absl::Status {
        STRATA_ASSIGN_OR_RETURN(out.analytics, ReadLinkAnalytics(*readers[1], link_id, from, to));
        out.position = position;
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace strata::links
