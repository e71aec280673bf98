// The reference domain (links): every validator just inside and
// just outside its rules, with messages that start with the field name; a
// golden fold of a fixed event list through link_details and link_clicks into
// in-memory writers, read back with ReadLinkDetails / ReadLinkAnalytics and
// compared with exact expected structs; range errors, unknown links, damaged
// payloads and state; and the same events through a real EventLog and
// ProjectionRuntime in a temp dir, which must give the same answers and state.
#include "links/links.h"

#include <atomic>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/runtime/runtime.h"
#include "tests/projections/counter_projection.h"
#include "tests/testutil/temp_dir.h"

namespace strata::links {

// Readable failure output (found by ADL, so in the types' namespace).
void PrintTo(const LinkDetails& d, std::ostream* os) {
  *os << "{destination='" << d.destination << "' owner='" << d.owner
      << "' created_at_us=" << d.created_at_us << " updated_at_us=" << d.updated_at_us
      << " version=" << d.version << "}";
}

void PrintTo(const LinkAnalytics& a, std::ostream* os) {
  auto list = [os](const std::vector<std::pair<std::string, uint64_t>>& v) {
    *os << "[";
    for (const auto& [name, clicks] : v) *os << " '" << name << "':" << clicks;
    *os << " ]";
  };
  *os << "{total_clicks=" << a.total_clicks << " by_day=";
  list(a.by_day);
  *os << " by_country=";
  list(a.by_country);
  *os << " by_device=";
  list(a.by_device);
  *os << " all_time_clicks=" << a.all_time_clicks << "}";
}

namespace {

using ::strata::testing::Dump;
using ::strata::testing::MapWriter;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr absl::Duration kWait = absl::Seconds(30);

// Microseconds since the Unix epoch of a UTC civil time.
int64_t Us(int y, int mo, int d, int h, int mi, int s, int64_t micros = 0) {
  return absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                                            absl::UTCTimeZone())) +
         micros;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------
// Validators

TEST(LinksValidateTest, StreamNames) {
  EXPECT_EQ(LinkStream("abc"), "link-abc");
  EXPECT_EQ(ClickStream("abc"), "clicks-abc");
}

TEST(LinksValidateTest, LinkIdIsOneTo64CharactersOfTheAlphabet) {
  STRATA_EXPECT_OK(ValidateLinkId("a"));
  STRATA_EXPECT_OK(ValidateLinkId("Az09_-"));
  STRATA_EXPECT_OK(ValidateLinkId(std::string(64, 'x')));
  for (const std::string& bad : {std::string(65, 'x'), std::string(), std::string("a.b"),
                                std::string("a/b"), std::string("a b"), std::string("ü"),
                                std::string("a\0b", 3)}) {
    absl::Status s = ValidateLinkId(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(Message(s), "link_id: must be 1-64 characters of [A-Za-z0-9_-]") << bad;
  }
  EXPECT_THAT(Message(ValidateLinkId("a.b", "links[2].link_id")), StartsWith("links[2].link_id: "));
}

TEST(LinksValidateTest, DestinationIsAnAbsoluteHttpUrlOfAtMost2048Bytes) {
  const std::string prefix = "https://example.com/";
  const std::string at_max = prefix + std::string(kDestinationBytesMax - prefix.size(), 'p');
  ASSERT_EQ(at_max.size(), 2048u);
  for (const std::string& good :
       {std::string("http://x"), std::string("https://example.com"),
        std::string("HTTPS://Example.COM/path?q=1#frag"), std::string("hTtP://x:8080/"),
        std::string("https://user@host/~a%20b"), at_max}) {
    STRATA_EXPECT_OK(ValidateDestination(good));
  }
  absl::Status too_long = ValidateDestination(at_max + "p");
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(too_long), "destination: must be at most 2048 bytes, got 2049");
  for (const std::string& bad :
       {std::string("http://"), std::string("https://"), std::string("http:///path"),
        std::string("https://?q"), std::string("ftp://x"), std::string("example.com"),
        std::string("//example.com"), std::string("http:/x"), std::string(""),
        std::string("http://exa mple.com"), std::string("http://x/a b"), std::string(" http://x"),
        std::string("http://x\t"), std::string("http://x/\x01"), std::string("http://x/\x7f"),
        std::string("http://\xc3\xbc.de"), std::string("http://x\0y", 10)}) {
    absl::Status s = ValidateDestination(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Message(s), StartsWith("destination: ")) << bad;
  }
  EXPECT_EQ(Message(ValidateDestination("ftp://x")),
            "destination: must be an absolute URL starting with http:// or https://");
  EXPECT_EQ(Message(ValidateDestination("http://")),
            "destination: must have a host after the scheme");
  EXPECT_EQ(Message(ValidateDestination("http://x y")),
            "destination: byte 8 is not printable ASCII (no spaces or control characters)");
  EXPECT_THAT(Message(ValidateDestination("x", "url")), StartsWith("url: "));
}

TEST(LinksValidateTest, OwnerIsAtMost256BytesOfUtf8) {
  STRATA_EXPECT_OK(ValidateOwner(""));
  STRATA_EXPECT_OK(ValidateOwner("Zo\xc3\xab"));
  STRATA_EXPECT_OK(ValidateOwner(std::string(256, 'o')));
  absl::Status too_long = ValidateOwner(std::string(257, 'o'));
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(too_long), "owner: must be at most 256 bytes, got 257");
  for (const std::string& bad : {std::string("\xff"), std::string("ab\xc3"),
                                std::string("\xed\xa0\x80"), std::string("\xc0\xaf")}) {
    absl::Status s = ValidateOwner(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Message(s), "owner: must be valid UTF-8");
  }
}

TEST(LinksValidateTest, CountryIsEmptyOrTwoUpperCaseLetters) {
  STRATA_EXPECT_OK(ValidateCountry(""));
  STRATA_EXPECT_OK(ValidateCountry("DE"));
  STRATA_EXPECT_OK(ValidateCountry("AZ"));
  for (const std::string bad : {"de", "De", "DEU", "D1", "D", "-", "D ", "@Z", "A["}) {
    absl::Status s = ValidateCountry(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(Message(s), "country: must be empty or 2 upper-case letters A-Z (ISO 3166-1 alpha-2)")
        << bad;
  }
}

TEST(LinksValidateTest, DeviceIsOneOfFive) {
  for (const char* good : {"desktop", "mobile", "tablet", "bot", "other"}) {
    STRATA_EXPECT_OK(ValidateDevice(good));
  }
  for (const std::string bad : {"phone", "Desktop", "", "desktop ", "-"}) {
    absl::Status s = ValidateDevice(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(Message(s), "device: must be one of desktop, mobile, tablet, bot, other") << bad;
  }
}

TEST(LinksValidateTest, DatesAreRealYyyyMmDd) {
  struct Good {
    const char* text;
    absl::CivilDay day;
  };
  for (const Good& g : {Good{"2024-02-29", absl::CivilDay(2024, 2, 29)},
                        Good{"2024-01-05", absl::CivilDay(2024, 1, 5)},
                        Good{"2023-12-31", absl::CivilDay(2023, 12, 31)},
                        Good{"2000-02-29", absl::CivilDay(2000, 2, 29)},
                        Good{"0987-06-07", absl::CivilDay(987, 6, 7)}}) {
    absl::StatusOr<absl::CivilDay> day = ParseDate(g.text, "from_date");
    ASSERT_TRUE(day.ok()) << g.text << ": " << day.status();
    EXPECT_EQ(*day, g.day);
    EXPECT_EQ(FormatDate(*day), g.text);
  }
  for (const std::string bad :
       {"2023-02-29", "1900-02-29", "2023-13-01", "2023-00-10", "2023-01-00", "2023-04-31",
        "2024-1-05", "2024-01-5", "24-01-05", "2024/01/05", "2024-01-05x", " 2024-01-05",
        "+024-01-05", "2024-0a-05", "", "20240105"}) {
    absl::StatusOr<absl::CivilDay> day = ParseDate(bad, "to_date");
    EXPECT_EQ(day.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(Message(day.status()), absl::StrCat("to_date: '", bad,
                                                  "' is not a valid YYYY-MM-DD date"));
  }
  EXPECT_EQ(Message(ParseDate("2023-13-01", "from_date").status()),
            "from_date: '2023-13-01' is not a valid YYYY-MM-DD date");
  EXPECT_EQ(FormatDate(absl::CivilDay(2024, 3, 1)), "2024-03-01");
  EXPECT_EQ(FormatDate(absl::CivilDay(5, 1, 9)), "0005-01-09");
}

// ---------------------------------------------------------------------------
// The golden fold

struct GoldenEvent {
  std::string stream;
  std::string type;
  std::string data;
  int64_t recorded_at_us;
};

const int64_t kAbcCreatedUs = Us(2024, 2, 28, 9, 0, 0);
const int64_t kXyzCreatedUs = Us(2024, 2, 28, 9, 0, 1);
const int64_t kAbcUpdatedUs = Us(2024, 3, 2, 8, 0, 0);

// Link "abc" gets clicks on 2024-02-29 (the last microsecond), 03-01 (two,
// one at midnight and one of unknown country), 03-03 (two, recorded the next
// day and out of order) and 03-04; none on 03-02. Link "xyz" gets one click.
// Events on other streams and of other types are ignored.
std::vector<GoldenEvent> GoldenEvents() {
  return {
      {"link-abc", kLinkCreatedType, EncodeLinkCreated("abc", "https://example.com/a", "alice"),
       kAbcCreatedUs},
      {"link-xyz", kLinkCreatedType, EncodeLinkCreated("xyz", "http://xyz.example/", ""),
       kXyzCreatedUs},
      {"clicks-abc", kClickRecordedType,
       EncodeClickRecorded("abc", "DE", "desktop", Us(2024, 2, 29, 23, 59, 59, 999'999)),
       Us(2024, 3, 1, 0, 0, 1)},
      {"clicks-abc", kClickRecordedType,
       EncodeClickRecorded("abc", "DE", "mobile", Us(2024, 3, 1, 0, 0, 0)),
       Us(2024, 3, 1, 0, 0, 2)},
      {"clicks-abc", kClickRecordedType,
       EncodeClickRecorded("abc", "", "desktop", Us(2024, 3, 1, 12, 0, 0)),
       Us(2024, 3, 1, 12, 0, 1)},
      {"clicks-xyz", kClickRecordedType,
       EncodeClickRecorded("xyz", "US", "bot", Us(2024, 3, 1, 13, 0, 0)),
       Us(2024, 3, 1, 13, 0, 1)},
      {"link-abc", kDestinationUpdatedType,
       EncodeDestinationUpdated("abc", "HTTPS://example.org/b?x=1"), kAbcUpdatedUs},
      {"clicks-abc", kClickRecordedType,
       EncodeClickRecorded("abc", "US", "tablet", Us(2024, 3, 3, 23, 59, 59, 999'999)),
       Us(2024, 3, 4, 0, 0, 1)},
      {"clicks-abc", kClickRecordedType,
       EncodeClickRecorded("abc", "DE", "desktop", Us(2024, 3, 3, 1, 0, 0)),
       Us(2024, 3, 4, 0, 0, 2)},
      {"orders-1", kLinkCreatedType, "not a flatbuffer", Us(2024, 3, 4, 0, 0, 3)},
      {"clicks-abc", "ClickDisputed", "not a flatbuffer either", Us(2024, 3, 4, 0, 0, 4)},
      {"clicks-abc", kClickRecordedType,
       EncodeClickRecorded("abc", "FR", "other", Us(2024, 3, 4, 0, 0, 0)),
       Us(2024, 3, 4, 0, 0, 5)},
  };
}
constexpr GlobalPosition kGoldenHead = 12;

const LinkDetails kAbcDetails = {"HTTPS://example.org/b?x=1", "alice", kAbcCreatedUs,
                                 kAbcUpdatedUs, 1};
const LinkDetails kXyzDetails = {"http://xyz.example/", "", kXyzCreatedUs, kXyzCreatedUs, 0};

const absl::CivilDay kFrom(2024, 3, 1);
const absl::CivilDay kTo(2024, 3, 3);

const LinkAnalytics kAbcAnalytics = {
    4,
    {{"2024-03-01", 2}, {"2024-03-02", 0}, {"2024-03-03", 2}},
    {{"DE", 2}, {"", 1}, {"US", 1}},
    {{"desktop", 2}, {"mobile", 1}, {"tablet", 1}},
    6,
};
const LinkAnalytics kXyzAnalytics = {
    1,
    {{"2024-03-01", 1}, {"2024-03-02", 0}, {"2024-03-03", 0}},
    {{"US", 1}},
    {{"bot", 1}},
    1,
};
const LinkAnalytics kUnknownAnalytics = {
    0, {{"2024-03-01", 0}, {"2024-03-02", 0}, {"2024-03-03", 0}}, {}, {}, 0};

// Positions from 1, stream versions from 0 per stream, as the log assigns them.
std::vector<EventView> Views(const std::vector<GoldenEvent>& events) {
  std::vector<EventView> views;
  std::map<std::string, StreamVersion> next_version;
  for (size_t i = 0; i < events.size(); ++i) {
    EventView v;
    v.position = i + 1;
    v.stream = events[i].stream;
    v.stream_version = next_version[events[i].stream]++;
    v.type = events[i].type;
    v.content_type = kContentType;
    v.data = events[i].data;
    v.recorded_at_us = events[i].recorded_at_us;
    views.push_back(v);
  }
  return views;
}

struct Folded {
  MapWriter details;
  MapWriter clicks;
};

Folded FoldGolden() {
  Folded f;
  LinkDetailsProjection details;
  LinkClicksProjection clicks;
  const std::vector<GoldenEvent> events = GoldenEvents();
  for (const EventView& v : Views(events)) {
    absl::Status a = details.Apply(v, f.details);
    EXPECT_TRUE(a.ok()) << "position " << v.position << ": " << a;
    absl::Status b = clicks.Apply(v, f.clicks);
    EXPECT_TRUE(b.ok()) << "position " << v.position << ": " << b;
  }
  return f;
}

// Every read the golden answers need, from one pair of readers.
void ExpectGoldenAnswers(const StateReader& details, const StateReader& clicks) {
  absl::StatusOr<std::optional<LinkDetails>> abc = ReadLinkDetails(details, "abc");
  ASSERT_TRUE(abc.ok()) << abc.status();
  ASSERT_TRUE(abc->has_value());
  EXPECT_EQ(**abc, kAbcDetails);
  absl::StatusOr<std::optional<LinkDetails>> xyz = ReadLinkDetails(details, "xyz");
  ASSERT_TRUE(xyz.ok()) << xyz.status();
  ASSERT_TRUE(xyz->has_value());
  EXPECT_EQ(**xyz, kXyzDetails);
  absl::StatusOr<std::optional<LinkDetails>> unknown = ReadLinkDetails(details, "nope");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(*unknown, std::nullopt);

  absl::StatusOr<LinkAnalytics> a = ReadLinkAnalytics(clicks, "abc", kFrom, kTo);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, kAbcAnalytics);
  absl::StatusOr<LinkAnalytics> x = ReadLinkAnalytics(clicks, "xyz", kFrom, kTo);
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(*x, kXyzAnalytics);
  absl::StatusOr<LinkAnalytics> n = ReadLinkAnalytics(clicks, "nope", kFrom, kTo);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, kUnknownAnalytics);
}

TEST(LinksFoldTest, GoldenEventsGiveExactDetailsAndAnalytics) {
  Folded f = FoldGolden();
  ExpectGoldenAnswers(f.details, f.clicks);
}

TEST(LinksFoldTest, ClicksStateHasTheDocumentedKeys) {
  Folded f = FoldGolden();
  const std::string one = EncodeCounter(1);
  const std::string two = EncodeCounter(2);
  // An unknown country is stored under "-" (and read back as "").
  std::map<std::string, std::string> expected = {
      {"c/abc/2024-02-29/DE", one},  {"c/abc/2024-03-01/-", one},
      {"c/abc/2024-03-01/DE", one},  {"c/abc/2024-03-03/DE", one},
      {"c/abc/2024-03-03/US", one},  {"c/abc/2024-03-04/FR", one},
      {"c/xyz/2024-03-01/US", one},  {"d/abc/2024-02-29", one},
      {"d/abc/2024-03-01", two},     {"d/abc/2024-03-03", two},
      {"d/abc/2024-03-04", one},     {"d/xyz/2024-03-01", one},
      {"t/abc", EncodeCounter(6)},   {"t/xyz", one},
      {"v/abc/2024-02-29/desktop", one}, {"v/abc/2024-03-01/desktop", one},
      {"v/abc/2024-03-01/mobile", one},  {"v/abc/2024-03-03/desktop", one},
      {"v/abc/2024-03-03/tablet", one},  {"v/abc/2024-03-04/other", one},
      {"v/xyz/2024-03-01/bot", one},
  };
  EXPECT_EQ(f.clicks.state, expected);
  EXPECT_THAT(Dump(f.details), ElementsAre(Pair("l/abc", _), Pair("l/xyz", _)));
}

TEST(LinksFoldTest, ClickDaysAreUtcDaysOfClickedAt) {
  Folded f = FoldGolden();
  // The click at 2024-02-29T23:59:59.999999Z (recorded on 03-01) and the one
  // at 2024-03-04T00:00:00Z are outside [03-01, 03-03]; each day on its own.
  absl::StatusOr<LinkAnalytics> leap =
      ReadLinkAnalytics(f.clicks, "abc", absl::CivilDay(2024, 2, 29), absl::CivilDay(2024, 2, 29));
  ASSERT_TRUE(leap.ok()) << leap.status();
  EXPECT_EQ(*leap, (LinkAnalytics{1, {{"2024-02-29", 1}}, {{"DE", 1}}, {{"desktop", 1}}, 6}));
  absl::StatusOr<LinkAnalytics> after =
      ReadLinkAnalytics(f.clicks, "abc", absl::CivilDay(2024, 3, 4), absl::CivilDay(2024, 3, 5));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, (LinkAnalytics{1,
                                   {{"2024-03-04", 1}, {"2024-03-05", 0}},
                                   {{"FR", 1}},
                                   {{"other", 1}},
                                   6}));
  // The whole history sums to all_time_clicks.
  absl::StatusOr<LinkAnalytics> all =
      ReadLinkAnalytics(f.clicks, "abc", absl::CivilDay(2024, 2, 1), absl::CivilDay(2024, 3, 31));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->total_clicks, 6u);
  EXPECT_EQ(all->by_day.size(), 60u);
  EXPECT_EQ(all->by_country, (std::vector<std::pair<std::string, uint64_t>>{
                                {"DE", 3}, {"", 1}, {"FR", 1}, {"US", 1}}));
  EXPECT_EQ(all->by_device,
            (std::vector<std::pair<std::string, uint64_t>>{
                {"desktop", 3}, {"mobile", 1}, {"other", 1}, {"tablet", 1}}));
}

TEST(LinksFoldTest, DetailsBeforeTheUpdateKeepTheCreatedValues) {
  MapWriter details;
  LinkDetailsProjection projection;
  const std::vector<GoldenEvent> events = GoldenEvents();
  std::vector<EventView> views = Views(events);
  for (size_t i = 0; i < 6; ++i) STRATA_ASSERT_OK(projection.Apply(views[i], details));
  absl::StatusOr<std::optional<LinkDetails>> abc = ReadLinkDetails(details, "abc");
  ASSERT_TRUE(abc.ok()) << abc.status();
  EXPECT_EQ(*abc, (LinkDetails{"https://example.com/a", "alice", kAbcCreatedUs, kAbcCreatedUs, 0}));
}

TEST(LinksFoldTest, RangeIsValidated) {
  Folded f = FoldGolden();
  absl::StatusOr<LinkAnalytics> reversed =
      ReadLinkAnalytics(f.clicks, "abc", absl::CivilDay(2024, 3, 2), absl::CivilDay(2024, 3, 1));
  EXPECT_EQ(reversed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(reversed.status()), "from_date: 2024-03-02 is after to_date 2024-03-01");

  // 2024 is a leap year: 2024-01-01 + 366 days = 2025-01-01, 367 days listed.
  absl::StatusOr<LinkAnalytics> widest =
      ReadLinkAnalytics(f.clicks, "abc", absl::CivilDay(2024, 1, 1), absl::CivilDay(2025, 1, 1));
  ASSERT_TRUE(widest.ok()) << widest.status();
  ASSERT_EQ(widest->by_day.size(), 367u);
  EXPECT_EQ(widest->by_day.front().first, "2024-01-01");
  EXPECT_EQ(widest->by_day.back().first, "2025-01-01");
  EXPECT_EQ(widest->total_clicks, 6u);

  absl::StatusOr<LinkAnalytics> too_wide =
      ReadLinkAnalytics(f.clicks, "abc", absl::CivilDay(2024, 1, 1), absl::CivilDay(2025, 1, 2));
  EXPECT_EQ(too_wide.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(too_wide.status()),
            "to_date: 2025-01-02 is 367 days after from_date 2024-01-01, more than 366");

  absl::StatusOr<LinkAnalytics> one_day = ReadLinkAnalytics(f.clicks, "abc", kTo, kTo);
  ASSERT_TRUE(one_day.ok()) << one_day.status();
  EXPECT_EQ(*one_day, (LinkAnalytics{2,
                                     {{"2024-03-03", 2}},
                                     {{"DE", 1}, {"US", 1}},
                                     {{"desktop", 1}, {"tablet", 1}},
                                     6}));
}

TEST(LinksFoldTest, ReadsRejectABadLinkId) {
  Folded f = FoldGolden();
  absl::StatusOr<std::optional<LinkDetails>> d = ReadLinkDetails(f.details, "a/b");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(d.status()), StartsWith("link_id: "));
  absl::StatusOr<LinkAnalytics> a = ReadLinkAnalytics(f.clicks, "", kFrom, kTo);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(a.status()), StartsWith("link_id: "));
}

TEST(LinksFoldTest, MalformedPayloadIsDataLossNamingThePosition) {
  struct Case {
    const char* stream;
    const char* type;
    std::string data;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"link-abc", kLinkCreatedType, "garbage", "position 7: malformed LinkCreated payload"},
      {"link-abc", kLinkCreatedType, "", "position 7: malformed LinkCreated payload"},
      {"link-abc", kDestinationUpdatedType, EncodeClickRecorded("abc", "DE", "bot", 1).substr(3),
       "position 7: malformed DestinationUpdated payload"},
      {"clicks-abc", kClickRecordedType, "garbage", "position 7: malformed ClickRecorded payload"},
      // Values the command side rejects would become key segments.
      {"clicks-abc", kClickRecordedType, EncodeClickRecorded("abc", "DE", "phone", 1),
       "position 7: malformed ClickRecorded payload"},
      {"clicks-abc", kClickRecordedType, EncodeClickRecorded("abc", "x/y", "bot", 1),
       "position 7: malformed ClickRecorded payload"},
  };
  for (const Case& c : cases) {
    MapWriter writer;
    writer.Put("l/abc", "");  // unread: payloads are checked first
    EventView v;
    v.position = 7;
    v.stream = c.stream;
    v.type = c.type;
    v.data = c.data;
    absl::Status s = absl::string_view(c.stream).substr(0, 5) == "link-"
                         ? LinkDetailsProjection().Apply(v, writer)
                         : LinkClicksProjection().Apply(v, writer);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_EQ(Message(s), c.message);
    EXPECT_EQ(writer.state.size(), 1u) << c.message;  // nothing written
  }
}

TEST(LinksFoldTest, UpdateBeforeCreateIsFailedPreconditionNamingThePosition) {
  MapWriter writer;
  EventView v;
  v.position = 4;
  v.stream = "link-abc";
  v.stream_version = 0;
  v.type = kDestinationUpdatedType;
  const std::string data = EncodeDestinationUpdated("abc", "https://x");
  v.data = data;
  absl::Status s = LinkDetailsProjection().Apply(v, writer);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Message(s), "position 4: DestinationUpdated of link 'abc' before its LinkCreated");
  EXPECT_TRUE(writer.state.empty());
}

TEST(LinksFoldTest, StreamsOutsideTheDomainAreIgnored) {
  MapWriter details;
  MapWriter clicks;
  const std::string created = EncodeLinkCreated("abc", "https://x", "o");
  const std::string click = EncodeClickRecorded("abc", "DE", "bot", 1);
  struct Case {
    const char* stream;
    const char* type;
    const std::string* data;
  };
  for (const Case& c : {Case{"links-abc", kLinkCreatedType, &created},
                        Case{"link-", kLinkCreatedType, &created},
                        Case{"link-a/b", kLinkCreatedType, &created},
                        Case{"clicks-abc", kLinkCreatedType, &created},
                        Case{"link-abc", kClickRecordedType, &click},
                        Case{"click-abc", kClickRecordedType, &click},
                        Case{"clicks-a.b", kClickRecordedType, &click}}) {
    EventView v;
    v.position = 1;
    v.stream = c.stream;
    v.type = c.type;
    v.data = *c.data;
    STRATA_EXPECT_OK(LinkDetailsProjection().Apply(v, details));
    STRATA_EXPECT_OK(LinkClicksProjection().Apply(v, clicks));
  }
  EXPECT_TRUE(details.state.empty());
  EXPECT_TRUE(clicks.state.empty());
}

TEST(LinksFoldTest, MisalignedPayloadIsCopiedBeforeReading) {
  const std::string payload = EncodeLinkCreated("abc", "https://example.com/a", "alice");
  for (size_t shift = 0; shift < 8; ++shift) {
    std::string buffer = std::string(shift, 'x') + payload;
    EventView v;
    v.position = 1;
    v.stream = "link-abc";
    v.type = kLinkCreatedType;
    v.data = absl::string_view(buffer).substr(shift);
    v.recorded_at_us = 42;
    MapWriter writer;
    STRATA_ASSERT_OK(LinkDetailsProjection().Apply(v, writer));
    absl::StatusOr<std::optional<LinkDetails>> d = ReadLinkDetails(writer, "abc");
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, (LinkDetails{"https://example.com/a", "alice", 42, 42, 0})) << shift;
  }
}

TEST(LinksFoldTest, DamagedStateIsDataLoss) {
  MapWriter details;
  details.Put("l/abc", "not a table");
  EXPECT_EQ(ReadLinkDetails(details, "abc").status().code(), absl::StatusCode::kDataLoss);
  MapWriter clicks;
  clicks.Put("c/abc/2024-03-01/DE", "abc");  // not 8 bytes
  EXPECT_EQ(ReadLinkAnalytics(clicks, "abc", kFrom, kTo).status().code(),
            absl::StatusCode::kDataLoss);
  MapWriter day;
  day.Put("d/abc/2024-03-02", "abc");
  EXPECT_EQ(ReadLinkAnalytics(day, "abc", kFrom, kTo).status().code(), absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Through the real runtime

TEST(LinksRuntimeTest, RealLogAndRuntimeGiveTheGoldenAnswers) {
  strata::testing::TempDir dir;
  std::atomic<int64_t> now_us{0};  // the log's clock: recorded_at of the next append
  EventLogOptions log_options;
  log_options.clock_us = [&now_us] { return now_us.load(); };
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir.Sub("log"), log_options);
  ASSERT_TRUE(log.ok()) << log.status();
  ProjectionRuntimeOptions runtime_options;
  runtime_options.logger = NullLogger();
  absl::StatusOr<std::unique_ptr<ProjectionRuntime>> runtime =
      ProjectionRuntime::Open(dir.Sub("projections"), log->get(), runtime_options);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  STRATA_ASSERT_OK((*runtime)->Register(std::make_shared<LinkDetailsProjection>()));
  STRATA_ASSERT_OK((*runtime)->Register(std::make_shared<LinkClicksProjection>()));

  const std::vector<GoldenEvent> events = GoldenEvents();
  const std::vector<EventView> views = Views(events);
  for (size_t i = 0; i < events.size(); ++i) {
    now_us = events[i].recorded_at_us;
    NewEvent e;
    e.type = events[i].type;
    e.content_type = kContentType;
    e.data = events[i].data;
    std::vector<NewEvent> batch;
    batch.push_back(std::move(e));
    absl::StatusOr<AppendResult> r =
        (*log)->Append(events[i].stream, ExpectedVersion::Any(), std::move(batch));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->last_position, views[i].position);
    ASSERT_EQ(r->last_version, views[i].stream_version);
  }
  STRATA_ASSERT_OK((*runtime)->WaitFor(kLinkDetailsProjection, kGoldenHead, absl::Now() + kWait));
  STRATA_ASSERT_OK((*runtime)->WaitFor(kLinkClicksProjection, kGoldenHead, absl::Now() + kWait));

  Folded oracle = FoldGolden();
  GlobalPosition read_at = 0;
  absl::Status s = (*runtime)->Read(
      {kLinkDetailsProjection, kLinkClicksProjection}, std::nullopt,
      [&](absl::Span<const StateReader* const> readers, GlobalPosition position) {
        read_at = position;
        ExpectGoldenAnswers(*readers[0], *readers[1]);
        EXPECT_EQ(Dump(*readers[0]), oracle.details.state);
        EXPECT_EQ(Dump(*readers[1]), oracle.clicks.state);
        return absl::OkStatus();
      });
  STRATA_ASSERT_OK(s);
  EXPECT_EQ(read_at, kGoldenHead);
  runtime->reset();  // before the log it follows
}

}  // namespace
}  // namespace strata::links
