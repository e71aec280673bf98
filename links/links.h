// The reference domain: a URL shortener's click analytics.
//
// Events: stream "link-<id>" holds LinkCreated then DestinationUpdated events;
// stream "clicks-<id>" holds ClickRecorded events (so clicks never move the
// link's own version, which UpdateDestination checks). Payloads are the
// FlatBuffers tables of schemas/links.fbs.
//
// Read models (projections, version 1 each):
//  - link_details: "l/<id>" -> LinkDetails table.
//  - link_clicks:  "t/<id>" all-time clicks; "d/<id>/<YYYY-MM-DD>" clicks per
//    day; "c/<id>/<YYYY-MM-DD>/<country or ->" and "v/<id>/<YYYY-MM-DD>/<device>"
//    clicks per day per country and per device. All u64 counters, so a query
//    costs days + countries + devices reads, never clicks.
//
// Thread-safety: the functions are pure; the projections keep no state.
#ifndef STRATA_LINKS_LINKS_H_
#define STRATA_LINKS_LINKS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "engine/event.h"
#include "projections/projection.h"

namespace strata::links {

inline constexpr char kLinkDetailsProjection[] = "link_details";
inline constexpr char kLinkClicksProjection[] = "link_clicks";
inline constexpr char kContentType[] = "application/vnd.strata.links+flatbuffers";
inline constexpr char kLinkCreatedType[] = "LinkCreated";
inline constexpr char kDestinationUpdatedType[] = "DestinationUpdated";
inline constexpr char kClickRecordedType[] = "ClickRecorded";
inline constexpr size_t kDestinationBytesMax = 2048;
inline constexpr size_t kOwnerBytesMax = 256;
inline constexpr int kAnalyticsDaysMax = 366;  // to_date - from_date, in days, at most

std::string LinkStream(absl::string_view link_id);   // "link-<id>"
std::string ClickStream(absl::string_view link_id);  // "clicks-<id>"
// Prefixes of the streams this domain owns: only LinkCommands writes them, so
// a generic append cannot feed the read models a payload they cannot fold.
inline constexpr const char* kDomainStreamPrefixes[] = {"link-", "clicks-"};

// Validation; each error is InvalidArgument naming `field`.
absl::Status ValidateLinkId(absl::string_view link_id, absl::string_view field = "link_id");
absl::Status ValidateDestination(absl::string_view url, absl::string_view field = "destination");
absl::Status ValidateOwner(absl::string_view owner, absl::string_view field = "owner");
absl::Status ValidateCountry(absl::string_view country, absl::string_view field = "country");
absl::Status ValidateDevice(absl::string_view device, absl::string_view field = "device");
// Parses "YYYY-MM-DD" (a real calendar date).
absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view field);
std::string FormatDate(absl::CivilDay day);  // "YYYY-MM-DD"
// from <= to and at most kAnalyticsDaysMax days apart; InvalidArgument naming
// from_date or to_date otherwise.
absl::Status ValidateDateRange(absl::CivilDay from, absl::CivilDay to);

// Event payloads.
std::string EncodeLinkCreated(absl::string_view link_id, absl::string_view destination,
                              absl::string_view owner);
std::string EncodeDestinationUpdated(absl::string_view link_id, absl::string_view destination);
// clicked_at_us 0: the click counts at the event's recorded_at.
std::string EncodeClickRecorded(absl::string_view link_id, absl::string_view country,
                                absl::string_view device, int64_t clicked_at_us);

// A link event's payload as a JSON object, the view defined projections read
// (see examples/projections/link_*.json) and the CLI shows:
//   LinkCreated        {"link_id":"x","destination":"https://...","owner":"ann"}
//   DestinationUpdated {"link_id":"x","destination":"https://..."}
//   ClickRecorded      {"link_id":"x","country":"DE","device":"mobile","clicked_at_us":N}
// where clicked_at_us is the event's recorded_at when the command had none.
// InvalidArgument for another type or a payload that fails verification.
absl::StatusOr<std::string> EventJson(const EventView& event);

struct LinkDetails {
  std::string destination;
  std::string owner;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  StreamVersion version = 0;
  friend bool operator==(const LinkDetails&, const LinkDetails&) = default;
};

struct LinkAnalytics {
  uint64_t total_clicks = 0;                                 // within [from, to]
  std::vector<std::pair<std::string, uint64_t>> by_day;      // every day, ascending
  std::vector<std::pair<std::string, uint64_t>> by_country;  // clicks desc, then code asc
  std::vector<std::pair<std::string, uint64_t>> by_device;   // clicks desc, then name asc
  uint64_t all_time_clicks = 0;
  friend bool operator==(const LinkAnalytics&, const LinkAnalytics&) = default;
};

// Reads link_details; nullopt for an unknown link.
absl::StatusOr<std::optional<LinkDetails>> ReadLinkDetails(const StateReader& details,
                                                           absl::string_view link_id);
// Reads link_clicks for the inclusive UTC date range. InvalidArgument when
// from > to or the range spans more than kAnalyticsDaysMax days. Unknown
// countries are reported under "" (empty code).
absl::StatusOr<LinkAnalytics> ReadLinkAnalytics(const StateReader& clicks,
                                                absl::string_view link_id, absl::CivilDay from,
                                                absl::CivilDay to);

class LinkDetailsProjection : public Projection {
 public:
  std::string name() const override { return kLinkDetailsProjection; }
  ProjectionVersion version() const override { return 1; }
  absl::Status Apply(const EventView& event, ProjectionWriter& writer) override;
};

class LinkClicksProjection : public Projection {
 public:
  std::string name() const override { return kLinkClicksProjection; }
  ProjectionVersion version() const override { return 1; }
  absl::Status Apply(const EventView& event, ProjectionWriter& writer) override;
};

// This domain's read models, as the server registers them (and the CLI, to
// replay or verify them).
std::vector<std::shared_ptr<Projection>> Projections();

}  // namespace strata::links

#endif  // STRATA_LINKS_LINKS_H_
