// The reference domain: validators, payload codecs, the link_details and
// link_clicks projections and their readers. See links.h.
#include "links/links.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "engine/base/json_quote.h"
#include "engine/base/macros.h"
#include "engine/base/validate.h"
#include "flatbuffers/flatbuffers.h"
#include "schemas/links_generated.h"

namespace strata::links {
namespace {

constexpr char kLinkStreamPrefix[] = "link-";
constexpr char kClickStreamPrefix[] = "clicks-";
constexpr size_t kLinkIdBytesMax = 64;
// Read-model key for an unknown (empty) country: keys never end in an empty
// segment, so a scan's suffix is always a code.
constexpr char kUnknownCountryKey[] = "-";
constexpr absl::string_view kDevices[] = {"desktop", "mobile", "tablet", "bot", "other"};

absl::string_view ToView(const flatbuffers::String* s) {
  return s == nullptr ? absl::string_view() : absl::string_view(s->data(), s->size());
}

flatbuffers::Offset<flatbuffers::String> AddString(flatbuffers::FlatBufferBuilder& fbb,
                                                   absl::string_view s) {
  return fbb.CreateString(s.data(), s.size());
}

std::string Finished(flatbuffers::FlatBufferBuilder& fbb) {
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

// The root table of `bytes` after verification, or nullptr when they do not
// verify. FlatBuffers reads scalars in place, so misaligned bytes are first
// copied into `scratch`. The result points into `bytes` or `scratch`.
template <typename T>
const T* VerifiedRoot(absl::string_view bytes, std::string* scratch) {
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 != 0) {
    scratch->assign(bytes.data(), bytes.size());
    bytes = *scratch;
  }
  const auto* buf = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(buf, bytes.size());
  if (!verifier.VerifyBuffer<T>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<T>(buf);
}

absl::Status Malformed(const EventView& event) {
  return absl::DataLossError(
      absl::StrCat("position ", event.position, ": malformed ", event.type, " payload"));
}

// The link id of a domain stream ("<prefix><id>"), or nullopt when `stream`
// is not one. Streams whose suffix is not a valid link id belong to no link:
// folding them could write keys that collide with another link's.
std::optional<absl::string_view> LinkIdOfStream(absl::string_view stream,
                                                absl::string_view prefix) {
  if (!absl::ConsumePrefix(&stream, prefix)) return std::nullopt;
  if (!ValidateLinkId(stream).ok()) return std::nullopt;
  return stream;
}

std::string DetailsKey(absl::string_view link_id) { return absl::StrCat("l/", link_id); }

std::string EncodeDetails(const LinkDetails& details) {
  flatbuffers::FlatBufferBuilder fbb(128 + details.destination.size() + details.owner.size());
  auto destination = AddString(fbb, details.destination);
  auto owner = AddString(fbb, details.owner);
  fbb.Finish(fbs::CreateLinkDetails(fbb, destination, owner, details.created_at_us,
                                    details.updated_at_us, details.version));
  return Finished(fbb);
}

std::optional<LinkDetails> DecodeDetails(absl::string_view bytes) {
  std::string scratch;
  const fbs::LinkDetails* d = VerifiedRoot<fbs::LinkDetails>(bytes, &scratch);
  if (d == nullptr) return std::nullopt;
  LinkDetails out;
  out.destination = std::string(ToView(d->destination()));
  out.owner = std::string(ToView(d->owner()));
  out.created_at_us = d->created_at_us();
  out.updated_at_us = d->updated_at_us();
  out.version = d->version();
  return out;
}

// Calls `add(date, name, count)` for each counter under `prefix` whose key
// goes on with a date in [first, last] (a FormatDate, then "/name" or
// nothing), in one scan from the first date. Dates compare as strings, which
// is their order while every date of the range has a four-digit year (the
// caller scans day by day otherwise); a key whose date is longer or shorter
// than `first` is not in the range.
absl::Status SumDays(const StateReader& reader, const std::string& prefix, const std::string& first,
                     const std::string& last,
                     const std::function<void(absl::string_view date, absl::string_view name,
                                              uint64_t count)>& add) {
  absl::Status bad;
  STRATA_RETURN_IF_ERROR(
      reader.ScanFrom(prefix, prefix + first, [&](absl::string_view key, absl::string_view value) {
        const absl::string_view rest = key.substr(prefix.size());
        const size_t slash = rest.find('/');
        const absl::string_view date = rest.substr(0, slash);
        if (date > last) return false;
        // A year of five digits sorts among four-digit ones: not in range.
        if (date.size() != first.size()) return true;
        std::optional<uint64_t> count = DecodeCounter(value);
        if (!count.has_value()) {
          bad = absl::DataLossError(absl::StrCat("projection key '", key, "' holds ", value.size(),
                                                 " bytes, not an 8-byte counter"));
          return false;
        }
        const absl::string_view name =
            slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash + 1);
        add(date, name, *count);
        return true;
      }));
  return bad;
}

// Clicks desc, then name asc; zero counts are left out.
std::vector<std::pair<std::string, uint64_t>> Ranked(const std::map<std::string, uint64_t>& sums) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [name, clicks] : sums) {
    if (clicks != 0) out.emplace_back(name, clicks);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  return out;
}

}  // namespace

std::string LinkStream(absl::string_view link_id) {
  return absl::StrCat(kLinkStreamPrefix, link_id);
}

std::string ClickStream(absl::string_view link_id) {
  return absl::StrCat(kClickStreamPrefix, link_id);
}

absl::Status ValidateLinkId(absl::string_view link_id, absl::string_view field) {
  bool ok = !link_id.empty() && link_id.size() <= kLinkIdBytesMax;
  for (char c : link_id) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 1-64 characters of [A-Za-z0-9_-]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDestination(absl::string_view url, absl::string_view field) {
  if (url.size() > kDestinationBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be at most ", kDestinationBytesMax, " bytes, got ", url.size()));
  }
  for (size_t i = 0; i < url.size(); ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (c <= 0x20 || c >= 0x7F) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": byte ", i, " is not printable ASCII (no spaces or control characters)"));
    }
  }
  absl::string_view rest = url;
  if (!absl::StartsWithIgnoreCase(rest, "https://") &&
      !absl::StartsWithIgnoreCase(rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be an absolute URL starting with http:// or https://"));
  }
  rest.remove_prefix(rest.find("//") + 2);
  absl::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must have a host after the scheme"));
  }
  return absl::OkStatus();
}

absl::Status ValidateOwner(absl::string_view owner, absl::string_view field) {
  if (owner.size() > kOwnerBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be at most ", kOwnerBytesMax, " bytes, got ", owner.size()));
  }
  if (!internal::IsValidUtf8(owner)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be valid UTF-8"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCountry(absl::string_view country, absl::string_view field) {
  const bool ok = country.empty() || (country.size() == 2 && country[0] >= 'A' &&
                                      country[0] <= 'Z' && country[1] >= 'A' && country[1] <= 'Z');
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be empty or 2 upper-case letters A-Z (ISO 3166-1 alpha-2)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDevice(absl::string_view device, absl::string_view field) {
  for (absl::string_view known : kDevices) {
    if (device == known) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be one of desktop, mobile, tablet, bot, other"));
}

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view field) {
  auto invalid = [&] {
    // Quote at most a date's worth and then some: the input is untrusted.
    constexpr size_t kQuotedBytesMax = 32;
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": '", absl::CHexEscape(text.substr(0, kQuotedBytesMax)),
        text.size() > kQuotedBytesMax ? "..." : "", "' is not a valid YYYY-MM-DD date"));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return invalid();
  auto number = [&](size_t begin, size_t end, int* out) {
    *out = 0;
    for (size_t i = begin; i < end; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
      *out = *out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0;
  int month = 0;
  int day = 0;
  if (!number(0, 4, &year) || !number(5, 7, &month) || !number(8, 10, &day)) return invalid();
  // CivilDay normalizes out-of-range fields (2023-02-29 -> 2023-03-01), so a
  // real date is one that survives the round trip.
  absl::CivilDay civil(year, month, day);
  if (civil.year() != year || civil.month() != month || civil.day() != day) return invalid();
  return civil;
}

std::string FormatDate(absl::CivilDay day) {
  return absl::StrCat(absl::Dec(day.year(), absl::kZeroPad4), "-",
                      absl::Dec(day.month(), absl::kZeroPad2), "-",
                      absl::Dec(day.day(), absl::kZeroPad2));
}

std::string EncodeLinkCreated(absl::string_view link_id, absl::string_view destination,
                              absl::string_view owner) {
  flatbuffers::FlatBufferBuilder fbb(128 + link_id.size() + destination.size() + owner.size());
  auto id = AddString(fbb, link_id);
  auto dest = AddString(fbb, destination);
  auto own = AddString(fbb, owner);
  fbb.Finish(fbs::CreateLinkCreated(fbb, id, dest, own));
  return Finished(fbb);
}

std::string EncodeDestinationUpdated(absl::string_view link_id, absl::string_view destination) {
  flatbuffers::FlatBufferBuilder fbb(128 + link_id.size() + destination.size());
  auto id = AddString(fbb, link_id);
  auto dest = AddString(fbb, destination);
  fbb.Finish(fbs::CreateDestinationUpdated(fbb, id, dest));
  return Finished(fbb);
}

std::string EncodeClickRecorded(absl::string_view link_id, absl::string_view country,
                                absl::string_view device, int64_t clicked_at_us) {
  flatbuffers::FlatBufferBuilder fbb(128 + link_id.size() + country.size() + device.size());
  auto id = AddString(fbb, link_id);
  auto cc = AddString(fbb, country);
  auto dev = AddString(fbb, device);
  fbb.Finish(fbs::CreateClickRecorded(fbb, id, cc, dev, clicked_at_us));
  return Finished(fbb);
}

absl::StatusOr<std::string> EventJson(const EventView& event) {
  // One string, appended in place: this runs for every link event a defined
  // projection reads.
  std::string scratch;
  std::string out;
  out.reserve(160 + event.data.size());
  auto field = [&out](const char* name, absl::string_view value) {
    out.append(name);
    AppendJsonQuoted(value, &out);
  };
  if (event.type == kLinkCreatedType) {
    if (const auto* e = VerifiedRoot<fbs::LinkCreated>(event.data, &scratch); e != nullptr) {
      field("{\"link_id\":", ToView(e->link_id()));
      field(",\"destination\":", ToView(e->destination()));
      field(",\"owner\":", ToView(e->owner()));
      out.push_back('}');
      return out;
    }
  } else if (event.type == kDestinationUpdatedType) {
    if (const auto* e = VerifiedRoot<fbs::DestinationUpdated>(event.data, &scratch); e != nullptr) {
      field("{\"link_id\":", ToView(e->link_id()));
      field(",\"destination\":", ToView(e->destination()));
      out.push_back('}');
      return out;
    }
  } else if (event.type == kClickRecordedType) {
    if (const auto* e = VerifiedRoot<fbs::ClickRecorded>(event.data, &scratch); e != nullptr) {
      const int64_t at = e->clicked_at_us() != 0 ? e->clicked_at_us() : event.recorded_at_us;
      field("{\"link_id\":", ToView(e->link_id()));
      field(",\"country\":", ToView(e->country()));
      field(",\"device\":", ToView(e->device()));
      out.append(",\"clicked_at_us\":");
      absl::StrAppend(&out, at);
      out.push_back('}');
      return out;
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("'", absl::CHexEscape(event.type.substr(0, 64)),
                                                   "' is not a link event type"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(event.type, " payload fails FlatBuffers verification"));
}

absl::StatusOr<std::optional<LinkDetails>> ReadLinkDetails(const StateReader& details,
                                                           absl::string_view link_id) {
  STRATA_RETURN_IF_ERROR(ValidateLinkId(link_id));
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> value, details.Get(DetailsKey(link_id)));
  if (!value.has_value()) return std::nullopt;
  std::optional<LinkDetails> decoded = DecodeDetails(*value);
  if (!decoded.has_value()) {
    return absl::DataLossError(
        absl::StrCat("link_details of link '", link_id, "' fail FlatBuffers verification"));
  }
  return decoded;
}

absl::Status ValidateDateRange(absl::CivilDay from, absl::CivilDay to) {
  if (from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from_date: ", FormatDate(from), " is after to_date ", FormatDate(to)));
  }
  if (to - from > kAnalyticsDaysMax) {
    return absl::InvalidArgumentError(absl::StrCat("to_date: ", FormatDate(to), " is ", to - from,
                                                   " days after from_date ", FormatDate(from),
                                                   ", more than ", kAnalyticsDaysMax));
  }
  return absl::OkStatus();
}

absl::StatusOr<LinkAnalytics> ReadLinkAnalytics(const StateReader& clicks,
                                                absl::string_view link_id, absl::CivilDay from,
                                                absl::CivilDay to) {
  STRATA_RETURN_IF_ERROR(ValidateLinkId(link_id));
  STRATA_RETURN_IF_ERROR(ValidateDateRange(from, to));
  // Three range scans (days; countries and devices by day), whatever the
  // range's length: keys sort by date within a link. Outside four-digit
  // years, where dates do not sort as strings, one scan per day.
  const bool one_scan = from.year() >= 1000 && to.year() <= 9999;
  auto sum = [&](const std::string& prefix, const auto& add) -> absl::Status {
    if (one_scan) return SumDays(clicks, prefix, FormatDate(from), FormatDate(to), add);
    for (absl::CivilDay d = from; d <= to; ++d) {
      const std::string date = FormatDate(d);
      STRATA_RETURN_IF_ERROR(SumDays(clicks, prefix, date, date, add));
    }
    return absl::OkStatus();
  };
  std::map<std::string, uint64_t> days;
  std::map<std::string, uint64_t> countries;
  std::map<std::string, uint64_t> devices;
  STRATA_RETURN_IF_ERROR(
      sum(absl::StrCat("d/", link_id, "/"), [&](absl::string_view date, absl::string_view,
                                                uint64_t n) { days[std::string(date)] += n; }));
  STRATA_RETURN_IF_ERROR(sum(absl::StrCat("c/", link_id, "/"),
                             [&](absl::string_view, absl::string_view name, uint64_t n) {
                               if (name == kUnknownCountryKey) name = "";
                               countries[std::string(name)] += n;
                             }));
  STRATA_RETURN_IF_ERROR(
      sum(absl::StrCat("v/", link_id, "/"), [&](absl::string_view, absl::string_view name,
                                                uint64_t n) { devices[std::string(name)] += n; }));
  LinkAnalytics out;
  for (absl::CivilDay d = from; d <= to; ++d) {
    std::string date = FormatDate(d);
    auto it = days.find(date);
    const uint64_t n = it == days.end() ? 0 : it->second;
    out.by_day.emplace_back(std::move(date), n);
    out.total_clicks += n;
  }
  out.by_country = Ranked(countries);
  out.by_device = Ranked(devices);
  STRATA_ASSIGN_OR_RETURN(out.all_time_clicks, clicks.GetCounter(absl::StrCat("t/", link_id)));
  return out;
}

absl::Status LinkDetailsProjection::Apply(const EventView& event, ProjectionWriter& writer) {
  std::optional<absl::string_view> link_id = LinkIdOfStream(event.stream, kLinkStreamPrefix);
  if (!link_id.has_value()) return absl::OkStatus();
  const std::string key = DetailsKey(*link_id);
  std::string scratch;
  if (event.type == kLinkCreatedType) {
    const fbs::LinkCreated* created = VerifiedRoot<fbs::LinkCreated>(event.data, &scratch);
    if (created == nullptr) return Malformed(event);
    // A second LinkCreated (appended without an expected version) replaces
    // the first: the fold stays a pure function of the log.
    LinkDetails details;
    details.destination = std::string(ToView(created->destination()));
    details.owner = std::string(ToView(created->owner()));
    details.created_at_us = event.recorded_at_us;
    details.updated_at_us = event.recorded_at_us;
    details.version = event.stream_version;
    writer.Put(key, EncodeDetails(details));
    return absl::OkStatus();
  }
  if (event.type == kDestinationUpdatedType) {
    const fbs::DestinationUpdated* updated =
        VerifiedRoot<fbs::DestinationUpdated>(event.data, &scratch);
    if (updated == nullptr) return Malformed(event);
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored, writer.Get(key));
    if (!stored.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat("position ", event.position,
                                                        ": DestinationUpdated of link '", *link_id,
                                                        "' before its LinkCreated"));
    }
    std::optional<LinkDetails> details = DecodeDetails(*stored);
    if (!details.has_value()) {
      return absl::DataLossError(absl::StrCat("position ", event.position,
                                              ": stored details of link '", *link_id,
                                              "' fail FlatBuffers verification"));
    }
    details->destination = std::string(ToView(updated->destination()));
    details->updated_at_us = event.recorded_at_us;
    details->version = event.stream_version;
    writer.Put(key, EncodeDetails(*details));
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status LinkClicksProjection::Apply(const EventView& event, ProjectionWriter& writer) {
  if (event.type != kClickRecordedType) return absl::OkStatus();
  std::optional<absl::string_view> link_id = LinkIdOfStream(event.stream, kClickStreamPrefix);
  if (!link_id.has_value()) return absl::OkStatus();
  std::string scratch;
  const fbs::ClickRecorded* click = VerifiedRoot<fbs::ClickRecorded>(event.data, &scratch);
  if (click == nullptr) return Malformed(event);
  const absl::string_view country = ToView(click->country());
  const absl::string_view device = ToView(click->device());
  // Both become key segments: a value the command side would have rejected
  // (e.g. "a/b" or a NUL) must not reshape the key space.
  if (!ValidateCountry(country).ok() || !ValidateDevice(device).ok()) return Malformed(event);
  // 0 means "when the server recorded it" (the command had no clicked_at).
  const int64_t clicked_at_us =
      click->clicked_at_us() != 0 ? click->clicked_at_us() : event.recorded_at_us;
  // Clicks come in time order, so a replay formats each day once per thread
  // (Apply may run on several workers at once) rather than once per click.
  constexpr int64_t kMicrosPerDay = int64_t{86'400} * 1'000'000;
  const int64_t day = clicked_at_us / kMicrosPerDay - (clicked_at_us % kMicrosPerDay < 0 ? 1 : 0);
  thread_local int64_t formatted_day = std::numeric_limits<int64_t>::min();
  thread_local std::string date;
  if (day != formatted_day) {
    date = FormatDate(absl::CivilDay(1970, 1, 1) + day);
    formatted_day = day;
  }
  const absl::string_view country_key = country.empty() ? kUnknownCountryKey : country;
  // One buffer for the four keys: t/<link>, d/<link>/<date>,
  // c/<link>/<date>/<country> and v/<link>/<date>/<device>.
  thread_local std::string key;
  key.assign("t/").append(link_id->data(), link_id->size());
  writer.Add(key, 1);
  key[0] = 'd';
  key.append("/").append(date);
  writer.Add(key, 1);
  const size_t date_end = key.size();
  key[0] = 'c';
  key.append("/").append(country_key.data(), country_key.size());
  writer.Add(key, 1);
  key.resize(date_end);
  key[0] = 'v';
  key.append("/").append(device.data(), device.size());
  writer.Add(key, 1);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<Projection>> Projections() {
  return {std::make_shared<LinkDetailsProjection>(), std::make_shared<LinkClicksProjection>()};
}

}  // namespace strata::links
