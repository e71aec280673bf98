// The link commands (commands.h): validation, request-id event ids, appends.
#include "links/commands.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "links/links.h"

namespace strata::links {
namespace {

constexpr absl::Duration kClickFutureMax = absl::Minutes(5);

uint64_t Fnv1a64(absl::string_view data, uint64_t basis) {
  uint64_t h = basis;
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() > kRequestIdBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id: ", request_id.size(), " bytes, more than the limit of ", kRequestIdBytesMax));
  }
  return absl::OkStatus();
}

NewEvent MakeEvent(absl::string_view type, std::string data, absl::string_view command,
                   absl::string_view link_id, absl::string_view request_id) {
  NewEvent e;
  e.type = std::string(type);
  e.content_type = kContentType;
  e.data = std::move(data);
  if (!request_id.empty()) e.event_id = RequestEventId(command, link_id, request_id);
  return e;
}

absl::Status LinkExists(const EventLog& log, absl::string_view link_id) {
  absl::StatusOr<bool> exists = log.StreamExists(LinkStream(link_id));
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    return absl::NotFoundError(absl::StrCat("link '", link_id, "' does not exist"));
  }
  return absl::OkStatus();
}

// Appends one event; `on_error` may translate the log's error into the domain's.
void Append(EventLog* log, const std::string& stream, ExpectedVersion expected, NewEvent event,
            std::function<absl::Status(const absl::Status&)> on_error, CommandDone done) {
  std::vector<NewEvent> events;
  events.push_back(std::move(event));
  log->AppendAsync(
      stream, expected, std::move(events),
      [on_error = std::move(on_error), done = std::move(done)](absl::StatusOr<AppendResult> r) {
        if (!r.ok()) {
          done(on_error ? on_error(r.status()) : r.status());
          return;
        }
        done(CommandResult{r->last_position, r->last_version});
      });
}

}  // namespace

EventId RequestEventId(absl::string_view command, absl::string_view link_id,
                       absl::string_view request_id) {
  const std::string key = absl::StrCat(command, "\n", link_id, "\n", request_id);
  const uint64_t a = Fnv1a64(key, 0xcbf29ce484222325ULL);
  const uint64_t b = Fnv1a64(key, 0x84222325cbf29ce4ULL ^ a);
  EventId id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    id.bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  id.bytes[6] = (id.bytes[6] & 0x0F) | 0x80;  // version 8: custom
  id.bytes[8] = (id.bytes[8] & 0x3F) | 0x80;
  return id;
}

Commands::Commands(EventLog* log, std::function<int64_t()> now_us)
    : log_(log), now_us_(std::move(now_us)) {}

void Commands::Handle(const CreateLink& c, CommandDone done) const {
  absl::Status valid = ValidateLinkId(c.link_id);
  if (valid.ok()) valid = ValidateDestination(c.destination);
  if (valid.ok()) valid = ValidateOwner(c.owner);
  if (valid.ok()) valid = ValidateRequestId(c.request_id);
  if (!valid.ok()) return done(valid);
  NewEvent e = MakeEvent(kLinkCreatedType, EncodeLinkCreated(c.link_id, c.destination, c.owner),
                         "CreateLink", c.link_id, c.request_id);
  Append(
      log_, LinkStream(c.link_id), ExpectedVersion::NoStream(), std::move(e),
      [link_id = c.link_id](const absl::Status& s) {
        if (absl::IsAborted(s)) {
          return absl::AlreadyExistsError(absl::StrCat("link '", link_id, "' already exists"));
        }
        return s;
      },
      std::move(done));
}

void Commands::Handle(const RecordClick& c, CommandDone done) const {
  absl::Status valid = ValidateLinkId(c.link_id);
  if (valid.ok()) valid = ValidateCountry(c.country);
  if (valid.ok() && !c.device.ok()) valid = c.device.status();
  if (valid.ok()) valid = ValidateRequestId(c.request_id);
  if (valid.ok() && c.clicked_at_us.has_value()) {
    const int64_t now_us = now_us_();
    if (*c.clicked_at_us > now_us + absl::ToInt64Microseconds(kClickFutureMax)) {
      valid = absl::InvalidArgumentError(absl::StrCat("clicked_at: ", *c.clicked_at_us,
                                                      " is more than 5 minutes in the future (now ",
                                                      now_us, ")"));
    } else if (*c.clicked_at_us <= 0) {
      valid = absl::InvalidArgumentError("clicked_at: must be after 1970-01-01T00:00:00Z");
    }
  }
  // One point lookup of the link stream's first event: a click never replays
  // the link's history.
  if (valid.ok()) valid = LinkExists(*log_, c.link_id);
  if (!valid.ok()) return done(valid);
  // Without clicked_at the payload says 0 and the click counts at the event's
  // recorded_at: the server's time at commit, and a retried command (same
  // request_id) carries identical content, so the log deduplicates it.
  NewEvent e =
      MakeEvent(kClickRecordedType,
                EncodeClickRecorded(c.link_id, c.country, *c.device, c.clicked_at_us.value_or(0)),
                "RecordClick", c.link_id, c.request_id);
  Append(log_, ClickStream(c.link_id), ExpectedVersion::Any(), std::move(e), nullptr,
         std::move(done));
}

void Commands::Handle(const UpdateDestination& c, CommandDone done) const {
  absl::Status valid = ValidateLinkId(c.link_id);
  if (valid.ok()) valid = ValidateDestination(c.destination);
  if (valid.ok()) valid = ValidateRequestId(c.request_id);
  if (valid.ok()) valid = LinkExists(*log_, c.link_id);
  if (!valid.ok()) return done(valid);
  const ExpectedVersion expected = c.expected_version.has_value()
                                       ? ExpectedVersion::Exact(*c.expected_version)
                                       : ExpectedVersion::StreamExists();
  NewEvent e =
      MakeEvent(kDestinationUpdatedType, EncodeDestinationUpdated(c.link_id, c.destination),
                "UpdateDestination", c.link_id, c.request_id);
  Append(
      log_, LinkStream(c.link_id), expected, std::move(e),
      [link_id = c.link_id](const absl::Status& s) {
        if (absl::IsAborted(s)) {
          return absl::AbortedError(absl::StrCat("link '", link_id, "': ", s.message()));
        }
        return s;
      },
      std::move(done));
}

}  // namespace strata::links
