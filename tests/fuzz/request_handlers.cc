// request_handlers: the API's conversion and validation layers on arbitrary
// requests, in process (no server, no sockets: the handlers' own logic is
// FromProto + the validators, then an append or a read model query).
//
// Input: [kind: 1 byte][request bytes]. kind % 7 picks the message the bytes
// are parsed as (AppendRequest, ReadAllRequest, CreateLinkRequest,
// RecordClickRequest, UpdateDestinationRequest, GetLinkAnalyticsRequest) or,
// for 6 and for bytes that do not parse, raw strings handed straight to the
// validators (so invalid UTF-8, which protobuf refuses to parse into a proto3
// string, still reaches them), after DescribeParseFailure has said why they
// do not parse.
//
// Properties: every layer returns a status, only the documented codes
// (INVALID_ARGUMENT, RESOURCE_EXHAUSTED), and agrees with an independent
// reference predicate (UTF-8 per Unicode table 3-7, UUID text form, link ids,
// countries, calendar dates). A request the validators accept converts
// field-for-field and folds into the link read models, which read back what
// was written.
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/convert.h"
#include "engine/base/validate.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/stubs/logging.h"
#include "links/links.h"
#include "server/rpc_service.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/projections/counter_projection.h"

namespace strata::fuzz {
namespace {

std::string Show(absl::string_view s) {
  return absl::StrCat("'", absl::CHexEscape(s.substr(0, 80)), s.size() > 80 ? "'..." : "'");
}

// ---- Reference predicates, written from the specifications, not the code ----

// Well-formed UTF-8 per the Unicode Standard, table 3-7.
bool RefUtf8(absl::string_view s) {
  auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
    size_t len = 0;
    if (c <= 0x7F) {
      len = 1;
    } else if (in(c, 0xC2, 0xDF)) {
      len = in(at(1), 0x80, 0xBF) ? 2 : 0;
    } else if (c == 0xE0) {
      len = in(at(1), 0xA0, 0xBF) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    } else if (in(c, 0xE1, 0xEC) || in(c, 0xEE, 0xEF)) {
      len = in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    } else if (c == 0xED) {
      len = in(at(1), 0x80, 0x9F) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    } else if (c == 0xF0) {
      len = in(at(1), 0x90, 0xBF) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    } else if (in(c, 0xF1, 0xF3)) {
      len = in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    } else if (c == 0xF4) {
      len = in(at(1), 0x80, 0x8F) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    }
    if (len == 0 || i + len > s.size()) return false;
    i += len;
  }
  return true;
}

bool RefName(absl::string_view s, size_t max, bool allow_empty) {
  if (s.empty()) return allow_empty;
  return s.size() <= max && s.find('\0') == absl::string_view::npos && RefUtf8(s);
}

bool RefUuidText(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool RefLinkId(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

bool RefCountry(absl::string_view s) {
  return s.empty() || (s.size() == 2 && absl::ascii_isupper(static_cast<unsigned char>(s[0])) &&
                       absl::ascii_isupper(static_cast<unsigned char>(s[1])));
}

bool RefDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int parts[3] = {0, 0, 0};
  const size_t begin[3] = {0, 5, 8};
  const size_t end[3] = {4, 7, 10};
  for (int p = 0; p < 3; ++p) {
    for (size_t i = begin[p]; i < end[p]; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      parts[p] = parts[p] * 10 + (s[i] - '0');
    }
  }
  const int y = parts[0];
  const int m = parts[1];
  const int d = parts[2];
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool IsValidationCode(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsResourceExhausted(s);
}

// ---- Checks shared by several request kinds ----

void CheckStreamName(absl::string_view stream) {
  const absl::Status s = internal::ValidateStreamName(stream);
  STRATA_FUZZ_CHECK(s.ok() || absl::IsInvalidArgument(s), "ValidateStreamName code: ",
                    s.ToString());
  STRATA_FUZZ_CHECK(s.ok() == RefName(stream, kStreamNameBytesMax, false),
                    "ValidateStreamName(", Show(stream), ") = ", s.ToString());
  STRATA_FUZZ_CHECK(internal::IsValidUtf8(stream) == RefUtf8(stream), "IsValidUtf8(",
                    Show(stream), ") disagrees with the reference");
}

void CheckEventIdText(absl::string_view text) {
  const std::optional<EventId> id = EventId::Parse(text);
  STRATA_FUZZ_CHECK(id.has_value() == RefUuidText(text), "EventId::Parse(", Show(text), ")");
  if (id.has_value()) {
    STRATA_FUZZ_CHECK(id->ToString() == absl::AsciiStrToLower(text), "EventId ",
                      Show(text), " prints as ", id->ToString());
  }
  const std::optional<EventId> raw = EventId::FromBytes(text);
  STRATA_FUZZ_CHECK(raw.has_value() == (text.size() == 16), "EventId::FromBytes of ",
                    text.size(), " bytes");
  if (raw.has_value()) {
    STRATA_FUZZ_CHECK(raw->AsBytes() == text, "EventId::FromBytes does not keep the bytes");
    const std::optional<EventId> again = EventId::Parse(raw->ToString());
    STRATA_FUZZ_CHECK(again.has_value() && *again == *raw, "EventId text round trip of ",
                      raw->ToString());
  }
}

// ValidateEvents under the default limits and under tight ones, against the
// documented rules.
void CheckEvents(const std::vector<NewEvent>& events) {
  Limits tight;
  tight.event_bytes_max = 64;
  tight.events_per_append_max = 3;
  tight.append_bytes_max = 100;
  for (const Limits& limits : {Limits{}, tight}) {
    bool ok = !events.empty() && events.size() <= limits.events_per_append_max;
    size_t total = 0;
    for (size_t i = 0; i < events.size() && ok; ++i) {
      const NewEvent& e = events[i];
      const size_t bytes = e.type.size() + e.content_type.size() + e.data.size() + e.metadata.size();
      total += bytes;
      ok = RefName(e.type, kEventTypeBytesMax, false) &&
           RefName(e.content_type, kContentTypeBytesMax, true) && bytes <= limits.event_bytes_max &&
           !(e.event_id.has_value() && e.event_id->IsNil());
      for (size_t j = 0; j < i && ok; ++j) {
        ok = !(e.event_id.has_value() && events[j].event_id == e.event_id);
      }
    }
    ok = ok && total <= limits.append_bytes_max;
    const absl::Status s = internal::ValidateEvents(events, limits);
    STRATA_FUZZ_CHECK(s.ok() || IsValidationCode(s), "ValidateEvents code: ", s.ToString());
    STRATA_FUZZ_CHECK(s.ok() == ok, "ValidateEvents of ", events.size(), " events = ",
                      s.ToString(), ", the rules say ", ok ? "ok" : "rejected");
  }
}

void CheckLinkId(absl::string_view id) {
  const absl::Status s = links::ValidateLinkId(id);
  STRATA_FUZZ_CHECK(s.ok() || absl::IsInvalidArgument(s), "ValidateLinkId code: ", s.ToString());
  STRATA_FUZZ_CHECK(s.ok() == RefLinkId(id), "ValidateLinkId(", Show(id), ") = ", s.ToString());
}

absl::Status CheckDestination(absl::string_view url) {
  const absl::Status s = links::ValidateDestination(url);
  STRATA_FUZZ_CHECK(s.ok() || absl::IsInvalidArgument(s), "ValidateDestination code: ",
                    s.ToString());
  if (s.ok()) {
    const bool scheme = absl::StartsWithIgnoreCase(url, "http://") ||
                        absl::StartsWithIgnoreCase(url, "https://");
    STRATA_FUZZ_CHECK(scheme && url.size() <= links::kDestinationBytesMax,
                      "ValidateDestination accepts ", Show(url));
    for (char c : url) {
      STRATA_FUZZ_CHECK(c > 0x20 && c < 0x7F, "ValidateDestination accepts byte ",
                        static_cast<int>(static_cast<unsigned char>(c)));
    }
  }
  return s;
}

absl::Status CheckOwner(absl::string_view owner) {
  const absl::Status s = links::ValidateOwner(owner);
  STRATA_FUZZ_CHECK(s.ok() == (owner.size() <= links::kOwnerBytesMax && RefUtf8(owner)),
                    "ValidateOwner(", Show(owner), ") = ", s.ToString());
  return s;
}

absl::Status CheckCountry(absl::string_view country) {
  const absl::Status s = links::ValidateCountry(country);
  STRATA_FUZZ_CHECK(s.ok() == RefCountry(country), "ValidateCountry(", Show(country), ") = ",
                    s.ToString());
  return s;
}

absl::StatusOr<absl::CivilDay> CheckDate(absl::string_view text) {
  absl::StatusOr<absl::CivilDay> day = links::ParseDate(text, "date");
  STRATA_FUZZ_CHECK(day.ok() || absl::IsInvalidArgument(day.status()), "ParseDate code: ",
                    day.status().ToString());
  STRATA_FUZZ_CHECK(day.ok() == RefDate(text), "ParseDate(", Show(text), ") = ",
                    day.status().ToString());
  if (day.ok()) {
    STRATA_FUZZ_CHECK(links::FormatDate(*day) == text, "ParseDate(", Show(text),
                      ") formats back as ", links::FormatDate(*day));
  }
  return day;
}

EventView DomainEvent(const std::string& stream, absl::string_view type, absl::string_view data,
                      StreamVersion version, int64_t recorded_at_us) {
  EventView e;
  e.position = version + 1;
  e.stream = stream;
  e.stream_version = version;
  e.type = type;
  e.content_type = links::kContentType;
  e.data = data;
  e.recorded_at_us = recorded_at_us;
  return e;
}

// ---- One function per request kind ----

void Append(const strata::v1::AppendRequest& req) {
  CheckStreamName(req.stream());
  const auto& ev = req.expected_version();
  absl::StatusOr<ExpectedVersion> expected = api::FromProto(ev);
  const int kind = static_cast<int>(ev.kind());
  STRATA_FUZZ_CHECK(expected.ok() == (kind >= 1 && kind <= 4), "FromProto(kind ", kind,
                    ") = ", expected.status().ToString());
  if (!expected.ok()) {
    STRATA_FUZZ_CHECK(absl::IsInvalidArgument(expected.status()), "FromProto code");
  } else {
    STRATA_FUZZ_CHECK(static_cast<int>(expected->kind()) == kind - 1, "FromProto maps kind ",
                      kind, " to ", expected->ToString());
    if (kind == 4) STRATA_FUZZ_CHECK(expected->version() == ev.version(), "Exact version");
  }

  bool ids_ok = true;
  for (const auto& p : req.events()) {
    if (!p.event_id().empty()) {
      CheckEventIdText(p.event_id());
      ids_ok = ids_ok && RefUuidText(p.event_id());
    }
  }
  absl::StatusOr<std::vector<NewEvent>> events = api::FromProto(req.events());
  STRATA_FUZZ_CHECK(events.ok() == ids_ok, "FromProto(events) = ", events.status().ToString());
  if (!events.ok()) {
    STRATA_FUZZ_CHECK(absl::IsInvalidArgument(events.status()), "FromProto(events) code");
    return;
  }
  STRATA_FUZZ_CHECK(events->size() == static_cast<size_t>(req.events_size()), "event count");
  for (int i = 0; i < req.events_size(); ++i) {
    const auto& p = req.events(i);
    const NewEvent& e = (*events)[i];
    STRATA_FUZZ_CHECK(e.event_id.has_value() == !p.event_id().empty(), "events[", i, "] id");
    STRATA_FUZZ_CHECK(e.type == p.type() && e.content_type == p.content_type() &&
                          e.data == p.data() && e.metadata == p.metadata() &&
                          !e.recorded_at_us.has_value(),
                      "events[", i, "] fields do not convert one to one");
    // The reply path: a stored event converts back field for field.
    RecordedEvent r;
    r.position = i + 1;
    r.stream = req.stream();
    r.stream_version = i;
    if (e.event_id.has_value()) r.event_id = *e.event_id;
    r.type = e.type;
    r.content_type = e.content_type;
    r.data = e.data;
    r.metadata = e.metadata;
    strata::v1::RecordedEvent out;
    api::ToProto(r, &out);
    STRATA_FUZZ_CHECK(out.type() == e.type && out.data() == e.data &&
                          out.metadata() == e.metadata && out.stream() == r.stream &&
                          out.event_id() == r.event_id.ToString(),
                      "ToProto does not keep the fields");
  }
  CheckEvents(*events);
}

void ReadAll(const strata::v1::ReadAllRequest& req) {
  const ReadFilter f = api::FromProto(req.filter());
  STRATA_FUZZ_CHECK(f.stream_prefix == req.filter().stream_prefix() &&
                        f.event_types.size() == static_cast<size_t>(req.filter().event_types_size()),
                    "FromProto(filter)");
  const std::string& prefix = f.stream_prefix;
  const std::string type = f.event_types.empty() ? "T" : f.event_types.front();
  STRATA_FUZZ_CHECK(f.Matches(prefix + "x", type), "a filter does not match its own prefix");
  if (!prefix.empty()) {
    STRATA_FUZZ_CHECK(!f.Matches(prefix.substr(0, prefix.size() - 1), type),
                      "a filter matches a stream shorter than its prefix");
  }
  if (!f.event_types.empty()) {
    bool listed = false;
    for (const auto& t : f.event_types) listed = listed || t == "\x01unlisted";
    STRATA_FUZZ_CHECK(listed == f.Matches(prefix, "\x01unlisted"), "type filter");
  }
}

void CreateLink(const strata::v1::CreateLinkRequest& req) {
  CheckLinkId(req.link_id());
  // Every validator runs, as the service would reach each of them.
  const bool destination_ok = CheckDestination(req.destination()).ok();
  const bool owner_ok = CheckOwner(req.owner()).ok();
  if (!RefLinkId(req.link_id()) || !destination_ok || !owner_ok) return;
  const std::string stream = links::LinkStream(req.link_id());
  const std::string data =
      links::EncodeLinkCreated(req.link_id(), req.destination(), req.owner());
  testing::MapWriter state;
  links::LinkDetailsProjection projection;
  const absl::Status s =
      projection.Apply(DomainEvent(stream, links::kLinkCreatedType, data, 0, 1000), state);
  STRATA_FUZZ_CHECK(s.ok(), "a valid CreateLink does not fold: ", s.ToString());
  absl::StatusOr<std::optional<links::LinkDetails>> d =
      links::ReadLinkDetails(state, req.link_id());
  STRATA_FUZZ_CHECK(d.ok() && d->has_value() && (*d)->destination == req.destination() &&
                        (*d)->owner == req.owner() && (*d)->created_at_us == 1000,
                    "link details do not read back: ", d.status().ToString());
}

const char* DeviceName(strata::v1::Device d) {
  switch (d) {
    case strata::v1::DESKTOP: return "desktop";
    case strata::v1::MOBILE: return "mobile";
    case strata::v1::TABLET: return "tablet";
    case strata::v1::BOT: return "bot";
    case strata::v1::OTHER: return "other";
    default: return nullptr;
  }
}

void RecordClick(const strata::v1::RecordClickRequest& req) {
  CheckLinkId(req.link_id());
  const bool country_ok = CheckCountry(req.country()).ok();
  const char* device = DeviceName(req.device());
  if (device != nullptr) {
    STRATA_FUZZ_CHECK(links::ValidateDevice(device).ok(), "device ", device, " is rejected");
  }
  if (!RefLinkId(req.link_id()) || !country_ok || device == nullptr) return;
  // The projection must cope with any stored clicked_at, not only the ones
  // the command accepts (the command checks 0 < clicked_at <= now + 5 min).
  const int64_t clicked_at = req.has_clicked_at() ? req.clicked_at() : 0;
  const int64_t recorded_at = 1'700'000'000'000'000;
  const std::string stream = links::ClickStream(req.link_id());
  const std::string data =
      links::EncodeClickRecorded(req.link_id(), req.country(), device, clicked_at);
  testing::MapWriter state;
  links::LinkClicksProjection projection;
  const absl::Status s =
      projection.Apply(DomainEvent(stream, links::kClickRecordedType, data, 0, recorded_at), state);
  STRATA_FUZZ_CHECK(s.ok(), "a valid click does not fold: ", s.ToString());
  const absl::CivilDay day = absl::ToCivilDay(
      absl::FromUnixMicros(clicked_at != 0 ? clicked_at : recorded_at), absl::UTCTimeZone());
  absl::StatusOr<links::LinkAnalytics> a = links::ReadLinkAnalytics(state, req.link_id(), day, day);
  STRATA_FUZZ_CHECK(a.ok(), "analytics of the click's day: ", a.status().ToString());
  STRATA_FUZZ_CHECK(a->total_clicks == 1 && a->all_time_clicks == 1 && a->by_day.size() == 1 &&
                        a->by_country.size() == 1 && a->by_country[0].first == req.country() &&
                        a->by_device.size() == 1 && a->by_device[0].first == device,
                    "the click does not read back on day ", links::FormatDate(day));
}

void UpdateDestination(const strata::v1::UpdateDestinationRequest& req) {
  CheckLinkId(req.link_id());
  const bool destination_ok = CheckDestination(req.destination()).ok();
  if (!RefLinkId(req.link_id()) || !destination_ok) return;
  const std::string stream = links::LinkStream(req.link_id());
  const std::string created = links::EncodeLinkCreated(req.link_id(), "http://a/", "o");
  const std::string updated = links::EncodeDestinationUpdated(req.link_id(), req.destination());
  testing::MapWriter state;
  links::LinkDetailsProjection projection;
  absl::Status s =
      projection.Apply(DomainEvent(stream, links::kLinkCreatedType, created, 0, 1), state);
  if (s.ok()) {
    s = projection.Apply(DomainEvent(stream, links::kDestinationUpdatedType, updated, 1, 2), state);
  }
  STRATA_FUZZ_CHECK(s.ok(), "a valid update does not fold: ", s.ToString());
  absl::StatusOr<std::optional<links::LinkDetails>> d =
      links::ReadLinkDetails(state, req.link_id());
  STRATA_FUZZ_CHECK(d.ok() && d->has_value() && (*d)->destination == req.destination() &&
                        (*d)->version == 1 && (*d)->created_at_us == 1 && (*d)->updated_at_us == 2,
                    "updated details do not read back");
}

void GetLinkAnalytics(const strata::v1::GetLinkAnalyticsRequest& req) {
  CheckLinkId(req.link_id());
  absl::StatusOr<absl::CivilDay> from = CheckDate(req.from_date());
  absl::StatusOr<absl::CivilDay> to = CheckDate(req.to_date());
  if (!from.ok() || !to.ok()) return;
  testing::MapWriter empty;
  absl::StatusOr<links::LinkAnalytics> a = links::ReadLinkAnalytics(empty, req.link_id(), *from, *to);
  const bool ok = RefLinkId(req.link_id()) && *from <= *to && *to - *from <= links::kAnalyticsDaysMax;
  STRATA_FUZZ_CHECK(a.ok() == ok, "ReadLinkAnalytics(", req.from_date(), "..", req.to_date(),
                    ") = ", a.status().ToString());
  if (!a.ok()) {
    STRATA_FUZZ_CHECK(absl::IsInvalidArgument(a.status()), "ReadLinkAnalytics code");
    return;
  }
  STRATA_FUZZ_CHECK(a->by_day.size() == static_cast<size_t>(*to - *from + 1) &&
                        a->total_clicks == 0 && a->by_country.empty(),
                    "empty analytics");
}

// Bytes that are not a message: straight to the validators.
void Raw(ByteReader& in) {
  const std::string a = in.String(300);
  const std::string b = in.String(64);
  const std::string c = in.Rest();
  for (const std::string* s : {&a, &b, &c}) {
    CheckStreamName(*s);
    CheckEventIdText(*s);
    CheckLinkId(*s);
    // The checks are inside; the statuses only matter to composite requests.
    CheckDestination(*s).IgnoreError();
    CheckOwner(*s).IgnoreError();
    CheckCountry(*s).IgnoreError();
    const absl::Status device = links::ValidateDevice(*s);
    STRATA_FUZZ_CHECK(device.ok() || absl::IsInvalidArgument(device), "ValidateDevice code");
    CheckDate(*s).status().IgnoreError();
  }
  std::vector<NewEvent> events(1 + b.size() % 4);
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].type = i == 0 ? a : b;
    events[i].content_type = i == 1 ? a : "";
    events[i].data = c;
    if (i >= 2) events[i].event_id = EventId::FromBytes(absl::string_view(b).substr(0, 16));
  }
  CheckEvents(events);
}

// ---- An independent parser for DescribeParseFailure's claims ----

// Turns a proto3 message type into its proto2 twin: `optional` fields lose
// their synthetic oneofs, real oneofs keep their (renumbered) places.
void ToProto2(google::protobuf::DescriptorProto* m) {
  std::vector<int> remap(m->oneof_decl_size(), -1);
  std::vector<bool> synthetic(m->oneof_decl_size(), false);
  for (const auto& f : m->field()) {
    if (f.proto3_optional()) synthetic[f.oneof_index()] = true;
  }
  google::protobuf::RepeatedPtrField<google::protobuf::OneofDescriptorProto> kept;
  for (int i = 0; i < m->oneof_decl_size(); ++i) {
    if (synthetic[i]) continue;
    remap[i] = kept.size();
    *kept.Add() = m->oneof_decl(i);
  }
  m->mutable_oneof_decl()->Swap(&kept);
  for (auto& f : *m->mutable_field()) {
    if (f.proto3_optional()) {
      f.clear_proto3_optional();
      f.clear_oneof_index();
    } else if (f.has_oneof_index()) {
      f.set_oneof_index(remap[f.oneof_index()]);
    }
  }
  for (auto& nested : *m->mutable_nested_type()) ToProto2(&nested);
}

// strata.proto rebuilt as proto2 in a pool of its own. Proto2 parsing does
// not require valid UTF-8 in strings, so bytes that fail the proto3 parse
// and pass this one failed for invalid UTF-8 alone.
const google::protobuf::Descriptor& Proto2Twin(const google::protobuf::Descriptor& type) {
  static google::protobuf::DescriptorPool* const pool = [] {
    auto* p = new google::protobuf::DescriptorPool();
    // strata.proto's imports (definition.proto) first, then strata.proto.
    const google::protobuf::FileDescriptor* api = strata::v1::AppendRequest::descriptor()->file();
    std::vector<const google::protobuf::FileDescriptor*> files;
    for (int i = 0; i < api->dependency_count(); ++i) files.push_back(api->dependency(i));
    files.push_back(api);
    for (const google::protobuf::FileDescriptor* f : files) {
      google::protobuf::FileDescriptorProto file;
      f->CopyTo(&file);
      file.set_syntax("proto2");
      for (auto& m : *file.mutable_message_type()) ToProto2(&m);
      if (p->BuildFile(file) == nullptr) std::abort();
    }
    return p;
  }();
  const google::protobuf::Descriptor* twin = pool->FindMessageTypeByName(type.full_name());
  if (twin == nullptr) std::abort();
  return *twin;
}

// Whether `path` ("events[2].type") names a string field of `message`, with
// repeated indexes inside the parsed counts.
bool PathExists(const google::protobuf::Message& message, absl::string_view path) {
  const google::protobuf::Message* at = &message;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view part = parts[i];
    int index = -1;
    if (const size_t open = part.find('['); open != absl::string_view::npos) {
      if (!absl::SimpleAtoi(part.substr(open + 1, part.size() - open - 2), &index)) return false;
      part = part.substr(0, open);
    }
    const google::protobuf::FieldDescriptor* f =
        at->GetDescriptor()->FindFieldByName(std::string(part));
    if (f == nullptr || f->is_repeated() != (index >= 0)) return false;
    const google::protobuf::Reflection& r = *at->GetReflection();
    if (index >= 0 && index >= r.FieldSize(*at, f)) return false;
    const bool last = i + 1 == parts.size();
    if (last) return f->type() == google::protobuf::FieldDescriptor::TYPE_STRING;
    if (f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) return false;
    at = index >= 0 ? &r.GetRepeatedMessage(*at, f, index) : &r.GetMessage(*at, f);
  }
  return false;
}

template <typename Message>
bool Parse(ByteReader& in, Message* m) {
  const std::string bytes = in.Rest();
  if (m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
  // What the server answers for it (server/rpc_service.h).
  const grpc::Status why = server::DescribeParseFailure(bytes, *Message::descriptor());
  STRATA_FUZZ_CHECK(why.error_code() == grpc::StatusCode::INVALID_ARGUMENT,
                    "DescribeParseFailure code ", static_cast<int>(why.error_code()));
  const bool names_field = absl::EndsWith(why.error_message(), ": not valid UTF-8");
  STRATA_FUZZ_CHECK(names_field || why.error_message() ==
                                       absl::StrCat("request: not a valid ",
                                                    Message::descriptor()->full_name(), " message"),
                    "DescribeParseFailure message ", why.error_message());
  // Checked against the proto2 twin: when it parses, invalid UTF-8 was the
  // only fault, so the answer must name a string field that is there.
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> twin(
      factory.GetPrototype(&Proto2Twin(*Message::descriptor()))->New());
  if (twin->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    STRATA_FUZZ_CHECK(names_field, "bytes with only invalid UTF-8 answered ",
                      why.error_message());
    const std::string path =
        why.error_message().substr(0, why.error_message().size() - strlen(": not valid UTF-8"));
    STRATA_FUZZ_CHECK(PathExists(*twin, path), "DescribeParseFailure names '", path,
                      "', which is not a string field of the request");
  }
  // Not a message: the same bytes as raw strings.
  ByteReader raw(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Raw(raw);
  return false;
}

}  // namespace

int FuzzRequestHandlers(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in a string field is an expected parse failure; its log line
  // would only slow the fuzzer down.
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)silenced;
  ByteReader in(data, size);
  switch (in.Byte() % 7) {
    case 0: {
      strata::v1::AppendRequest m;
      if (Parse(in, &m)) Append(m);
      break;
    }
    case 1: {
      strata::v1::ReadAllRequest m;
      if (Parse(in, &m)) ReadAll(m);
      break;
    }
    case 2: {
      strata::v1::CreateLinkRequest m;
      if (Parse(in, &m)) CreateLink(m);
      break;
    }
    case 3: {
      strata::v1::RecordClickRequest m;
      if (Parse(in, &m)) RecordClick(m);
      break;
    }
    case 4: {
      strata::v1::UpdateDestinationRequest m;
      if (Parse(in, &m)) UpdateDestination(m);
      break;
    }
    case 5: {
      strata::v1::GetLinkAnalyticsRequest m;
      if (Parse(in, &m)) GetLinkAnalytics(m);
      break;
    }
    default:
      Raw(in);
      break;
  }
  return 0;
}

}  // namespace strata::fuzz
