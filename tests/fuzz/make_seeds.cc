// Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/seed-*.
// Seeds are made by the real encoders (records, protobuf requests), so they
// stay valid when a format changes: rebuild and rerun, then commit the files.
//   cmake --build build-fuzz --target fuzz_make_seeds
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
// Regression inputs (regression-*) are never written here: they are the
// fuzzers' findings, kept as they were found.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/internal/codec.h"
#include "links/links.h"
#include "schemas/strata.pb.h"

namespace strata::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path g_root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

std::string U64(uint64_t v) {
  std::string s;
  internal::PutBigEndian64(&s, v);
  return s;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// ---- record_decode: [mode][expected position][stored value] ----

void RecordSeeds() {
  auto record = [](GlobalPosition position, absl::string_view stream, absl::string_view type,
                   absl::string_view data, int64_t recorded_at_us) {
    EventView e;
    e.position = position;
    e.stream = stream;
    e.stream_version = 3;
    e.event_id = *EventId::Parse("0f0e0d0c-0b0a-4908-8706-050403020100");
    e.type = type;
    e.content_type = links::kContentType;
    e.data = data;
    e.metadata = "{\"m\":1}";
    e.recorded_at_us = recorded_at_us;
    return internal::EncodeRecord(e);
  };
  auto seed = [](int mode, GlobalPosition position, const std::string& value) {
    return std::string(1, static_cast<char>(mode)) + U64(position) + value;
  };
  const int64_t now = 1'700'000'000'000'000;
  const std::string plain = record(42, "orders-7", "OrderPlaced", "payload", now);
  Write("record_decode", "plain", seed(0, 42, plain));
  Write("record_decode", "plain-misaligned", seed(3, 42, plain));
  Write("record_decode", "plain-wrong-position", seed(0, 43, plain));
  Write("record_decode", "plain-truncated", seed(0, 42, plain.substr(0, plain.size() / 2)));
  Write("record_decode", "empty-fields", seed(8, 1, record(1, "", "", "", 0)));
  Write("record_decode", "link-created",
        seed(8, 5, record(5, "link-abc", links::kLinkCreatedType,
                          links::EncodeLinkCreated("abc", "https://example.com/x", "ann"), now)));
  Write("record_decode", "destination-updated",
        seed(9, 6, record(6, "link-abc", links::kDestinationUpdatedType,
                          links::EncodeDestinationUpdated("abc", "http://example.org/"), now)));
  Write("record_decode", "click",
        seed(8, 7, record(7, "clicks-abc", links::kClickRecordedType,
                          links::EncodeClickRecorded("abc", "DE", "mobile", 0), now)));
  Write("record_decode", "click-at-min",
        seed(8, 8, record(8, "clicks-abc", links::kClickRecordedType,
                          links::EncodeClickRecorded("abc", "", "bot", INT64_MIN), INT64_MAX)));
  Write("record_decode", "click-bad-device",
        seed(8, 9, record(9, "clicks-abc", links::kClickRecordedType,
                          links::EncodeClickRecorded("abc", "de", "toaster", 1), now)));
  Write("record_decode", "click-malformed-payload",
        seed(8, 10, record(10, "clicks-abc", links::kClickRecordedType, "not flatbuffers", now)));
  Write("record_decode", "garbage", seed(8, 0, "STEV garbage bytes that are no record"));
}

// ---- key_order: [a][b][stream 1][version 1][stream 2][version 2][raw key] ----

void KeySeeds() {
  auto seed = [](uint64_t a, uint64_t b, const std::string& s1, uint64_t v1, const std::string& s2,
                 uint64_t v2, const std::string& raw) {
    return U64(a) + U64(b) + std::string(1, static_cast<char>(s1.size())) + s1 + U64(v1) +
           std::string(1, static_cast<char>(s2.size())) + s2 + U64(v2) + raw;
  };
  Write("key_order", "prefix-streams", seed(1, 2, "a", 5, "ab", 6, ""));
  Write("key_order", "byte-one-stream", seed(255, 256, "a", UINT64_MAX, "a\x01", 0, ""));
  Write("key_order", "same-stream", seed(UINT64_MAX, 0, "link-42", 255, "link-42", 256, ""));
  Write("key_order", "high-bytes", seed(1ull << 56, (1ull << 56) - 1, "\xff\xfe", 7, "\xff", 8,
                                        internal::StreamKey("link-1", 9)));
  Write("key_order", "raw-short", seed(0, 0, "", 0, "", 0, std::string("x\0", 2)));
}

// ---- request_handlers: [kind][request bytes] ----

template <typename Message>
std::string Request(int kind, const Message& m) {
  std::string bytes;
  m.SerializeToString(&bytes);
  return std::string(1, static_cast<char>(kind)) + bytes;
}

void RequestSeeds() {
  using namespace strata::v1;  // NOLINT: the seeds name many messages
  {
    AppendRequest r;
    r.set_stream("orders-7");
    r.mutable_expected_version()->set_kind(ExpectedVersion::EXACT);
    r.mutable_expected_version()->set_version(3);
    auto* e = r.add_events();
    e->set_event_id("0F0E0D0C-0B0A-4908-8706-050403020100");
    e->set_type("OrderPlaced");
    e->set_content_type("application/json");
    e->set_data("{\"n\":1}");
    e->set_metadata("m");
    auto* f = r.add_events();
    f->set_type("OrderShipped");
    Write("request_handlers", "append", Request(0, r));
    f->set_event_id("0f0e0d0c-0b0a-4908-8706-050403020100");  // repeats events[0]
    Write("request_handlers", "append-duplicate-ids", Request(0, r));
    f->set_event_id("0f0e0d0c-0b0a-4908-8706-05040302010");  // one digit short
    Write("request_handlers", "append-bad-uuid", Request(0, r));
    f->set_event_id("00000000-0000-0000-0000-000000000000");
    Write("request_handlers", "append-nil-uuid", Request(0, r));
    f->clear_event_id();
    f->set_type("");
    r.set_stream("");
    r.mutable_expected_version()->set_kind(ExpectedVersion::KIND_UNSPECIFIED);
    Write("request_handlers", "append-empty", Request(0, r));
  }
  {
    ReadAllRequest r;
    r.mutable_filter()->set_stream_prefix("link-");
    r.mutable_filter()->add_event_types("LinkCreated");
    r.mutable_filter()->add_event_types("ClickRecorded");
    Write("request_handlers", "read-all-filter", Request(1, r));
  }
  {
    CreateLinkRequest r;
    r.set_link_id("abc_1-2");
    r.set_destination("https://example.com/path?q=1#f");
    r.set_owner("Zoë");
    r.set_request_id("req-1");
    Write("request_handlers", "create-link", Request(2, r));
    r.set_destination("https:///no-host");
    r.set_link_id("bad id");
    Write("request_handlers", "create-link-bad", Request(2, r));
  }
  {
    RecordClickRequest r;
    r.set_link_id("abc");
    r.set_country("DE");
    r.set_device(MOBILE);
    r.set_clicked_at(1'700'000'000'000'000);
    Write("request_handlers", "record-click", Request(3, r));
    r.set_country("");
    r.set_device(BOT);
    r.set_clicked_at(INT64_MIN);
    Write("request_handlers", "record-click-extreme-time", Request(3, r));
    r.set_country("de");
    r.set_device(DEVICE_UNSPECIFIED);
    r.clear_clicked_at();
    Write("request_handlers", "record-click-bad", Request(3, r));
  }
  {
    UpdateDestinationRequest r;
    r.set_link_id("abc");
    r.set_destination("HTTP://EXAMPLE.COM");
    r.set_expected_version(0);
    Write("request_handlers", "update-destination", Request(4, r));
  }
  {
    GetLinkAnalyticsRequest r;
    r.set_link_id("abc");
    r.set_from_date("2024-02-28");
    r.set_to_date("2024-03-01");
    Write("request_handlers", "analytics", Request(5, r));
    r.set_from_date("2023-02-29");
    Write("request_handlers", "analytics-not-a-date", Request(5, r));
    r.set_from_date("2022-01-01");
    r.set_to_date("2023-12-31");
    Write("request_handlers", "analytics-range-too-long", Request(5, r));
    r.set_from_date("2024-03-02");
    r.set_to_date("2024-03-01");
    Write("request_handlers", "analytics-reversed", Request(5, r));
  }
  // Raw strings: overlong, surrogate, beyond U+10FFFF, a NUL, a UUID, a date.
  Write("request_handlers", "raw-utf8",
        Bytes({6, 6, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 4, 0xF4, 0x90, 0x80, 0x80}) +
            std::string("a\0b", 3) +
            "\xF0\x9F\x98\x80");
  Write("request_handlers", "raw-uuid-date",
        std::string(1, 6) + std::string(1, 36) + "0f0e0d0c-0b0a-4908-8706-050403020100" +
            std::string(1, 10) + "2024-02-29" + "https://a.b/");
}

// ---- model: programs (see the operation encoding in model.cc) ----

class Program {
 public:
  // stream: 0-3 the valid streams "a", "ab", "b", "cé"; 0xF0-0xF3 the invalid ones.
  // expected: 0 any, 1 no_stream, 2 stream_exists, 3 | (d << 2) exact head - 1 + d.
  // events: pairs (b1, b2): b1 = id (0-6 pool, 7 nil, 8+ none) | type << 4 | data << 6;
  // b2 = 1 content type, 2 metadata, 4 recorded_at, 0xF8 empty type.
  Program& Append(int stream, int expected, std::initializer_list<std::pair<int, int>> events) {
    Add({0});
    return AppendArgs(stream, expected, events);
  }
  // A group of n (2-4) appends queued together: follow with n GroupMember calls.
  Program& Group(int n) { return Add({6, n - 2}); }
  Program& GroupMember(int stream, int expected,
                       std::initializer_list<std::pair<int, int>> events) {
    return AppendArgs(stream, expected, events);
  }
  // from: 0-6, 7 = from the end; max: 0-5, 6 = all; as_of: 0 none, 1 arg % (head + 2),
  // 2 head, 3 UINT64_MAX.
  Program& ReadStream(int stream, int from, bool backward, int max, int as_of_mode, int arg) {
    return Add({7, stream, from | (backward ? 8 : 0), max | (as_of_mode << 3), arg});
  }
  // from_mode: 0 one, 1 arg % (head + 3), 2 from the end, 3 zero; prefix 0-3 ("", a, b, c);
  // types 0 all, 1 {A}, 2 {B, Reset}, 3 {Reset, nothing}.
  Program& ReadAll(int from_mode, int from_arg, bool backward, int prefix, int types, int max,
                   int as_of_mode, int arg) {
    return Add({9, from_mode | (backward ? 4 : 0) | (prefix << 3) | (types << 5), from_arg,
                max | (as_of_mode << 3), arg});
  }
  Program& StreamLastVersion(int stream) { return Add({10, 0, stream}); }
  Program& ReadEvent(int arg) { return Add({10, 1, arg}); }
  Program& Reopen() { return Add({11}); }
  Program& ProjectionLive() { return Add({12}); }
  Program& ProjectionAsOf(int arg) { return Add({14, arg}); }
  Program& Rebuild() { return Add({15}); }
  const std::string& bytes() const { return bytes_; }

 private:
  Program& AppendArgs(int stream, int expected, std::initializer_list<std::pair<int, int>> events) {
    Add({stream, expected, static_cast<int>(events.size()) - 1});
    for (auto [b1, b2] : events) Add({b1, b2});
    return *this;
  }
  Program& Add(std::initializer_list<int> bytes) {
    for (int b : bytes) bytes_.push_back(static_cast<char>(b));
    return *this;
  }
  std::string bytes_;
};

constexpr int kNoId = 8;
constexpr int A = 0 << 4;
constexpr int B = 1 << 4;
constexpr int kReset = 2 << 4;
constexpr int X = 1 << 6;
constexpr int Y = 2 << 6;

void ModelSeeds() {
  Write("model", "appends-and-reads",
        Program()
            .Append(0, 0, {{kNoId | A, 0}, {kNoId | B | X, 3}})
            .Append(1, 1, {{kNoId | A | Y, 4}})
            .Append(2, 0, {{kNoId | kReset, 0}, {kNoId | A, 1}, {kNoId | B, 2}})
            .Append(3, 0, {{kNoId | A | X, 0}})
            .ReadStream(0, 0, false, 6, 0, 0)
            .ReadStream(2, 7, true, 2, 0, 0)
            .ReadAll(0, 0, false, 1, 0, 6, 0, 0)
            .ReadAll(2, 0, true, 0, 2, 3, 1, 4)
            .StreamLastVersion(3)
            .ReadEvent(3)
            .bytes());
  Write("model", "dedup-and-conflicts",
        Program()
            .Append(0, 1, {{0 | A | X, 0}, {1 | B, 2}})
            .Append(0, 1, {{0 | A | X, 0}, {1 | B, 2}})   // retried: deduplicated
            .Append(0, 0, {{1 | B, 2}})                    // a stored suffix: deduplicated
            .Append(0, 0, {{0 | A | Y, 0}})                // other content: AlreadyExists
            .Append(1, 0, {{0 | A | X, 0}})                // other stream: AlreadyExists
            .Append(0, 0, {{1 | B, 2}, {2 | A, 0}})        // partly stored: AlreadyExists
            .Append(0, 0, {{1 | B, 2}, {0 | A | X, 0}})    // stored, out of order
            .Append(0, 3 | (1 << 2), {{2 | A, 0}})         // exact head
            .Append(0, 3 | (1 << 2), {{2 | A, 0}})         // retried with a stale version
            .ReadAll(0, 0, false, 0, 0, 6, 0, 0)
            .bytes());
  Write("model", "expected-versions",
        Program()
            .Append(1, 2, {{kNoId | A, 0}})          // stream_exists on a new stream
            .Append(1, 3 | (1 << 2), {{kNoId | A, 0}})  // exact 0 on a new stream
            .Append(1, 1, {{kNoId | A, 0}})          // no_stream
            .Append(1, 1, {{kNoId | A, 0}})          // no_stream again: Aborted
            .Append(1, 3 | (2 << 2), {{kNoId | A, 0}})  // exact head + 1: Aborted
            .Append(1, 3 | (0 << 2), {{kNoId | A, 0}})  // exact head - 1: Aborted
            .Append(1, 3 | (1 << 2), {{kNoId | B, 0}, {kNoId | B, 1}})
            .Append(1, 2, {{kNoId | A, 0}})
            .StreamLastVersion(1)
            .bytes());
  Write("model", "invalid-appends",
        Program()
            .Append(0xF0, 0, {{kNoId | A, 0}})
            .Append(0xF1, 0, {{kNoId | A, 0}})
            .Append(0xF2, 0, {{kNoId | A, 0}})
            .Append(0xF3, 0, {{kNoId | A, 0}})
            .Append(0, 0, {{kNoId | A, 0xF8}})
            .Append(0, 0, {{7 | A, 0}})                  // nil id
            .Append(0, 0, {{3 | A, 0}, {3 | B, 0}})      // repeated id
            .StreamLastVersion(0xF1)
            .ReadStream(0xF2, 0, false, 6, 0, 0)
            .ReadEvent(0)
            .ReadEvent(5)
            .bytes());
  Write("model", "reopen-and-time-travel",
        Program()
            .Append(0, 0, {{4 | A, 1}, {kNoId | B, 2}})
            .Append(2, 0, {{kNoId | A | Y, 4}})
            .ReadAll(0, 0, false, 0, 0, 6, 0, 0)  // learns the generated ids
            .Reopen()
            .Append(0, 0, {{4 | A, 1}})            // deduplicated after the reopen
            .Append(1, 0, {{kNoId | kReset, 0}})
            .ReadStream(0, 7, true, 6, 1, 2)
            .ReadStream(0, 0, false, 1, 2, 0)
            .ReadAll(1, 2, false, 0, 0, 6, 1, 3)
            .ReadAll(2, 0, true, 0, 0, 6, 3, 0)    // as_of beyond the head
            .ReadAll(0, 0, false, 0, 0, 6, 0, 0)
            .bytes());
  Write("model", "projection",
        Program()
            .Append(0, 0, {{kNoId | A | X, 0}, {kNoId | B, 0}, {kNoId | kReset | Y, 0}})
            .Append(1, 0, {{kNoId | A, 0}, {kNoId | A | X, 0}})
            .ProjectionLive()
            .Append(0, 0, {{kNoId | B | Y, 0}, {kNoId | A, 0}, {kNoId | A, 0}})
            .Append(3, 0, {{kNoId | kReset, 0}, {kNoId | B, 0}})
            .ProjectionLive()
            .ProjectionAsOf(3)
            .ProjectionAsOf(9)
            .ProjectionAsOf(11)   // beyond the head
            .Rebuild()
            .Append(2, 0, {{kNoId | A, 0}})
            .ProjectionLive()
            .Reopen()
            .Append(2, 0, {{kNoId | B, 0}})
            .ProjectionLive()
            .ProjectionAsOf(6)
            .bytes());
  Write("model", "group-commit",
        Program()
            .Group(4)
            .GroupMember(0, 1, {{0 | A | X, 0}, {1 | B, 0}})   // creates 'a'
            .GroupMember(0, 1, {{0 | A | X, 0}, {1 | B, 0}})   // retried in the same group
            .GroupMember(0, 1, {{kNoId | A, 0}})               // no_stream: Aborted in the group
            .GroupMember(0, 3 | (1 << 2), {{2 | B, 0}})         // exact 1, the group's own head
            .Group(3)
            .GroupMember(1, 0, {{0 | A | Y, 0}})               // id 0 with other content
            .GroupMember(2, 0, {{3 | A, 0}, {4 | B, 0}})
            .GroupMember(2, 0, {{4 | B, 0}})                   // suffix of the previous member
            .ReadAll(0, 0, false, 0, 0, 6, 0, 0)
            .Reopen()
            .Group(2)
            .GroupMember(2, 0, {{3 | A, 0}, {4 | B, 0}})       // dedup against the store
            .GroupMember(0xF0, 0, {{kNoId | A, 0}})            // rejected before queueing
            .bytes());
  Program many;
  for (int i = 0; i < 20; ++i) many.Append(i % 4, 0, {{kNoId | (i % 3) << 4, 0}, {kNoId | B, 0}});
  many.ProjectionAsOf(17).ProjectionLive().Rebuild().ProjectionAsOf(33).ProjectionLive();
  Write("model", "projection-snapshots", many.bytes());
}

}  // namespace
}  // namespace strata::fuzz

int main(int argc, char** argv) {
  strata::fuzz::g_root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  strata::fuzz::RecordSeeds();
  strata::fuzz::KeySeeds();
  strata::fuzz::RequestSeeds();
  strata::fuzz::ModelSeeds();
  std::printf("seeds written under %s\n", strata::fuzz::g_root.c_str());
  return 0;
}
