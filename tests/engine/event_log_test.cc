// Tests of EventLog through its public API (engine/event_log.h), each against a
// real RocksDB store in a fresh temporary directory. They check, with exact
// expected values: expected-version checks and their error messages, position
// and stream-version numbering, idempotent (deduplicated) appends, event ids,
// the size limits on each field, every read (stream, whole log, filters,
// as-of-position, scans, single events), concurrent appends (positions and
// versions dense, each result pointing at its own event), WaitForHead and head
// listeners, reopening, the unsafe durability mode and checksum verification.
// Threads synchronize through the log itself (WaitForHead, listeners recorded
// under a mutex with a timeout), never through sleeps. The clock is injected
// where a timestamp is asserted.

#include "engine/event_log.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/event.h"
#include "engine/limits.h"
#include "engine/options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/read_options.h"
#include "tests/testutil/temp_dir.h"

namespace strata {

// Readable failure output for ids and events.
void PrintTo(const EventId& id, std::ostream* os) { *os << id.ToString(); }
void PrintTo(const AppendResult& r, std::ostream* os) {
  *os << "{first_position=" << r.first_position << ", last_position=" << r.last_position
      << ", last_version=" << r.last_version << ", deduplicated=" << r.deduplicated << "}";
}
void PrintTo(const RecordedEvent& e, std::ostream* os) {
  *os << "{position=" << e.position << ", stream='" << e.stream
      << "', stream_version=" << e.stream_version << ", event_id=" << e.event_id.ToString()
      << ", type='" << e.type << "', content_type='" << e.content_type
      << "', data.size=" << e.data.size() << ", metadata.size=" << e.metadata.size()
      << ", recorded_at_us=" << e.recorded_at_us << "}";
}

namespace {

using ::strata::testing::StreamFrom;
using ::strata::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kFixedTimeUs = 1'700'000'000'123'456;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// A valid version-4 UUID determined by `n` (never nil).
EventId MakeId(uint32_t n) {
  EventId id;
  id.bytes[0] = 0x5a;
  id.bytes[6] = 0x40;
  id.bytes[8] = 0x80;
  id.bytes[12] = static_cast<uint8_t>(n >> 24);
  id.bytes[13] = static_cast<uint8_t>(n >> 16);
  id.bytes[14] = static_cast<uint8_t>(n >> 8);
  id.bytes[15] = static_cast<uint8_t>(n);
  return id;
}

NewEvent Ev(std::string type, std::string data = "", std::optional<EventId> id = std::nullopt) {
  NewEvent e;
  e.event_id = id;
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

// `n` events of type "T" with ids MakeId(first_id), MakeId(first_id + 1), ...
std::vector<NewEvent> EventsWithIds(int n, uint32_t first_id) {
  std::vector<NewEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(Ev("T", absl::StrCat("data-", first_id + i), MakeId(first_id + i)));
  }
  return events;
}

// `n` events of type "T" without ids.
std::vector<NewEvent> Events(int n) {
  std::vector<NewEvent> events;
  for (int i = 0; i < n; ++i) events.push_back(Ev("T", absl::StrCat("d", i)));
  return events;
}

std::vector<GlobalPosition> Positions(const std::vector<RecordedEvent>& events) {
  std::vector<GlobalPosition> out;
  for (const RecordedEvent& e : events) out.push_back(e.position);
  return out;
}

std::vector<StreamVersion> Versions(const std::vector<RecordedEvent>& events) {
  std::vector<StreamVersion> out;
  for (const RecordedEvent& e : events) out.push_back(e.stream_version);
  return out;
}

ReadAllOptions AllFrom(GlobalPosition from, ReadDirection direction = ReadDirection::kForward,
                       uint64_t max_count = UINT64_MAX) {
  ReadAllOptions o;
  o.from_position = from;
  o.direction = direction;
  o.max_count = max_count;
  return o;
}

// Records the heads a listener is called with; waits for one with a timeout.
class HeadRecorder {
 public:
  void Record(GlobalPosition head) {
    absl::MutexLock lock(&mu_);
    heads_.push_back(head);
  }
  // True once a head >= `position` was recorded (within 10 s).
  bool WaitFor(GlobalPosition position) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, position]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !heads_.empty() && heads_.back() >= position;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
  std::vector<GlobalPosition> heads() {
    absl::MutexLock lock(&mu_);
    return heads_;
  }

 private:
  absl::Mutex mu_;
  std::vector<GlobalPosition> heads_ ABSL_GUARDED_BY(mu_);
};

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenLog()); }

  void OpenLog() {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir_.Sub("db"), options_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  // Closes the log and opens it again with options_.
  void ReopenLog() {
    log_.reset();
    OpenLog();
  }

  std::vector<RecordedEvent> ReadAllEvents(const ReadAllOptions& options = {}) {
    absl::StatusOr<std::vector<RecordedEvent>> events = log_->ReadAll(options);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *std::move(events) : std::vector<RecordedEvent>{};
  }
  std::vector<RecordedEvent> ReadStreamEvents(absl::string_view stream,
                                              const ReadStreamOptions& options = {}) {
    absl::StatusOr<std::vector<RecordedEvent>> events = log_->ReadStream(stream, options);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *std::move(events) : std::vector<RecordedEvent>{};
  }
  std::optional<StreamVersion> HeadOf(absl::string_view stream) {
    absl::StatusOr<std::optional<StreamVersion>> head = log_->StreamLastVersion(stream);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *head : std::nullopt;
  }

  TempDir dir_;
  EventLogOptions options_;
  std::unique_ptr<EventLog> log_;
};

// ---------------------------------------------------------------------------
// Expected versions

TEST_F(EventLogTest, ExpectedVersionToStringNamesEachKind) {
  EXPECT_EQ(ExpectedVersion::Any().ToString(), "any");
  EXPECT_EQ(ExpectedVersion::NoStream().ToString(), "no_stream");
  EXPECT_EQ(ExpectedVersion::StreamExists().ToString(), "stream_exists");
  EXPECT_EQ(ExpectedVersion::Exact(7).ToString(), "7");
  EXPECT_EQ(ExpectedVersion::Exact(7).kind(), ExpectedVersion::Kind::kExact);
  EXPECT_EQ(ExpectedVersion::Exact(7).version(), 7u);
}

TEST_F(EventLogTest, AnyAppendsToNewAndExistingStream) {
  absl::StatusOr<AppendResult> first = log_->Append("s", ExpectedVersion::Any(), {Ev("A")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, (AppendResult{1, 1, 0, false}));
  absl::StatusOr<AppendResult> second = log_->Append("s", ExpectedVersion::Any(), {Ev("B")});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, (AppendResult{2, 2, 1, false}));
}

TEST_F(EventLogTest, NoStreamAppendsToNewStreamAndAbortsOnExistingOne) {
  absl::StatusOr<AppendResult> created =
      log_->Append("orders", ExpectedVersion::NoStream(), {Ev("A")});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, (AppendResult{1, 1, 0, false}));

  absl::StatusOr<AppendResult> again =
      log_->Append("orders", ExpectedVersion::NoStream(), {Ev("B")});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted) << again.status();
  EXPECT_THAT(Msg(again.status()), HasSubstr("stream 'orders'"));
  EXPECT_THAT(Msg(again.status()), HasSubstr("no_stream"));
  EXPECT_THAT(Msg(again.status()), HasSubstr("stream is at 0"));
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, StreamExistsAbortsOnNewStreamAndAppendsToExistingOne) {
  absl::StatusOr<AppendResult> missing =
      log_->Append("fresh", ExpectedVersion::StreamExists(), {Ev("A")});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kAborted) << missing.status();
  EXPECT_THAT(Msg(missing.status()), HasSubstr("stream 'fresh'"));
  EXPECT_THAT(Msg(missing.status()), HasSubstr("stream_exists"));
  EXPECT_EQ(log_->Head(), 0u);

  ASSERT_TRUE(log_->Append("fresh", ExpectedVersion::Any(), {Ev("A")}).ok());
  absl::StatusOr<AppendResult> exists =
      log_->Append("fresh", ExpectedVersion::StreamExists(), {Ev("B"), Ev("C")});
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_EQ(*exists, (AppendResult{2, 3, 2, false}));
}

TEST_F(EventLogTest, ExactAppendsOnlyWhenLastVersionMatches) {
  absl::StatusOr<AppendResult> seven = log_->Append("link-42", ExpectedVersion::NoStream(), Events(7));
  ASSERT_TRUE(seven.ok()) << seven.status();
  EXPECT_EQ(*seven, (AppendResult{1, 7, 6, false}));

  absl::StatusOr<AppendResult> stale = log_->Append("link-42", ExpectedVersion::Exact(4), {Ev("X")});
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  EXPECT_THAT(Msg(stale.status()), HasSubstr("stream 'link-42'"));
  EXPECT_THAT(Msg(stale.status()), HasSubstr("expected version 4"));
  EXPECT_THAT(Msg(stale.status()), HasSubstr("stream is at 6"));

  absl::StatusOr<AppendResult> ahead = log_->Append("link-42", ExpectedVersion::Exact(7), {Ev("X")});
  EXPECT_EQ(ahead.status().code(), absl::StatusCode::kAborted) << ahead.status();
  EXPECT_THAT(Msg(ahead.status()), HasSubstr("stream 'link-42'"));
  EXPECT_THAT(Msg(ahead.status()), HasSubstr("expected version 7"));
  EXPECT_THAT(Msg(ahead.status()), HasSubstr("stream is at 6"));

  absl::StatusOr<AppendResult> exact = log_->Append("link-42", ExpectedVersion::Exact(6), {Ev("X")});
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(*exact, (AppendResult{8, 8, 7, false}));
}

TEST_F(EventLogTest, ExactZeroAbortsOnNewStream) {
  absl::StatusOr<AppendResult> r = log_->Append("new-1", ExpectedVersion::Exact(0), {Ev("A")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("stream 'new-1'"));
  EXPECT_THAT(Msg(r.status()), HasSubstr("expected version 0"));
  EXPECT_EQ(log_->Head(), 0u);
  EXPECT_EQ(HeadOf("new-1"), std::nullopt);
}

TEST_F(EventLogTest, RejectedAppendWritesNothing) {
  ASSERT_TRUE(log_->Append("a", ExpectedVersion::Any(), Events(3)).ok());
  ASSERT_TRUE(log_->Append("b", ExpectedVersion::Any(), Events(2)).ok());
  const std::vector<RecordedEvent> before = ReadAllEvents();
  ASSERT_EQ(before.size(), 5u);

  EXPECT_EQ(log_->Append("a", ExpectedVersion::Exact(1), Events(4)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_->Append("a", ExpectedVersion::NoStream(), Events(4)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_->Append("c", ExpectedVersion::StreamExists(), Events(4)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_->Append("c", ExpectedVersion::Exact(0), Events(4)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_->Append("", ExpectedVersion::Any(), Events(4)).status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(log_->Head(), 5u);
  EXPECT_EQ(ReadAllEvents(), before);
  EXPECT_EQ(HeadOf("a"), std::optional<StreamVersion>(2));
  EXPECT_EQ(HeadOf("c"), std::nullopt);
  EXPECT_THAT(ReadStreamEvents("c"), IsEmpty());

  // The next accepted append takes the next position: the rejected ones used none.
  absl::StatusOr<AppendResult> next = log_->Append("c", ExpectedVersion::Any(), {Ev("A")});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, (AppendResult{6, 6, 0, false}));
}

// ---------------------------------------------------------------------------
// Positions and versions

TEST_F(EventLogTest, PositionsAreDenseAcrossStreamsAndVersionsPerStream) {
  absl::StatusOr<AppendResult> r1 = log_->Append("a", ExpectedVersion::Any(), Events(2));
  absl::StatusOr<AppendResult> r2 = log_->Append("b", ExpectedVersion::Any(), Events(1));
  absl::StatusOr<AppendResult> r3 = log_->Append("a", ExpectedVersion::Any(), Events(1));
  absl::StatusOr<AppendResult> r4 = log_->Append("b", ExpectedVersion::Any(), Events(3));
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok() && r4.ok());
  EXPECT_EQ(*r1, (AppendResult{1, 2, 1, false}));
  EXPECT_EQ(*r2, (AppendResult{3, 3, 0, false}));
  EXPECT_EQ(*r3, (AppendResult{4, 4, 2, false}));
  EXPECT_EQ(*r4, (AppendResult{5, 7, 3, false}));
  EXPECT_EQ(log_->Head(), 7u);

  std::vector<RecordedEvent> all = ReadAllEvents();
  EXPECT_THAT(Positions(all), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  using StreamAndVersion = std::pair<std::string, StreamVersion>;
  std::vector<StreamAndVersion> stream_versions;
  for (const RecordedEvent& e : all) stream_versions.emplace_back(e.stream, e.stream_version);
  EXPECT_THAT(stream_versions,
              ElementsAre(StreamAndVersion("a", 0), StreamAndVersion("a", 1),
                          StreamAndVersion("b", 0), StreamAndVersion("a", 2),
                          StreamAndVersion("b", 1), StreamAndVersion("b", 2),
                          StreamAndVersion("b", 3)));
  EXPECT_EQ(HeadOf("a"), std::optional<StreamVersion>(2));
  EXPECT_EQ(HeadOf("b"), std::optional<StreamVersion>(3));
}

TEST_F(EventLogTest, EmptyLogHasHeadZero) {
  EXPECT_EQ(log_->Head(), 0u);
  EXPECT_THAT(ReadAllEvents(), IsEmpty());
  EXPECT_EQ(log_->data_dir(), dir_.Sub("db"));
}

// ---------------------------------------------------------------------------
// Idempotency

TEST_F(EventLogTest, RepeatedAppendIsDeduplicatedWithOriginalResult) {
  absl::StatusOr<AppendResult> original =
      log_->Append("s", ExpectedVersion::NoStream(), EventsWithIds(2, 100));
  ASSERT_TRUE(original.ok()) << original.status();
  EXPECT_EQ(*original, (AppendResult{1, 2, 1, false}));
  ASSERT_TRUE(log_->Append("other", ExpectedVersion::Any(), Events(1)).ok());

  absl::StatusOr<AppendResult> repeat =
      log_->Append("s", ExpectedVersion::NoStream(), EventsWithIds(2, 100));
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_EQ(*repeat, (AppendResult{1, 2, 1, true}));
  EXPECT_EQ(log_->Head(), 3u);
  EXPECT_EQ(ReadAllEvents().size(), 3u);
  EXPECT_EQ(HeadOf("s"), std::optional<StreamVersion>(1));
}

TEST_F(EventLogTest, DeduplicationSurvivesReopen) {
  absl::StatusOr<AppendResult> original =
      log_->Append("s", ExpectedVersion::Any(), EventsWithIds(3, 200));
  ASSERT_TRUE(original.ok()) << original.status();
  EXPECT_EQ(*original, (AppendResult{1, 3, 2, false}));
  ASSERT_NO_FATAL_FAILURE(ReopenLog());

  absl::StatusOr<AppendResult> repeat =
      log_->Append("s", ExpectedVersion::Any(), EventsWithIds(3, 200));
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_EQ(*repeat, (AppendResult{1, 3, 2, true}));
  EXPECT_EQ(log_->Head(), 3u);
  EXPECT_EQ(ReadAllEvents().size(), 3u);
}

TEST_F(EventLogTest, SameIdWithOtherContentIsAlreadyExists) {
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), {Ev("T", "one", MakeId(1))}).ok());
  absl::StatusOr<AppendResult> other_data =
      log_->Append("s", ExpectedVersion::Any(), {Ev("T", "two", MakeId(1))});
  EXPECT_EQ(other_data.status().code(), absl::StatusCode::kAlreadyExists) << other_data.status();
  absl::StatusOr<AppendResult> other_type =
      log_->Append("s", ExpectedVersion::Any(), {Ev("U", "one", MakeId(1))});
  EXPECT_EQ(other_type.status().code(), absl::StatusCode::kAlreadyExists) << other_type.status();
  NewEvent other_metadata = Ev("T", "one", MakeId(1));
  other_metadata.metadata = "m";
  absl::StatusOr<AppendResult> r3 = log_->Append("s", ExpectedVersion::Any(), {other_metadata});
  EXPECT_EQ(r3.status().code(), absl::StatusCode::kAlreadyExists) << r3.status();
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, SameIdsInAnotherStreamAreAlreadyExists) {
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), EventsWithIds(2, 300)).ok());
  absl::StatusOr<AppendResult> r = log_->Append("t", ExpectedVersion::Any(), EventsWithIds(2, 300));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  EXPECT_EQ(log_->Head(), 2u);
  EXPECT_EQ(HeadOf("t"), std::nullopt);
}

TEST_F(EventLogTest, PartlyStoredIdsAreAlreadyExists) {
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), EventsWithIds(2, 400)).ok());
  // 400 is stored, 402 is new.
  std::vector<NewEvent> mixed = EventsWithIds(1, 400);
  mixed.push_back(Ev("T", "data-402", MakeId(402)));
  absl::StatusOr<AppendResult> r = log_->Append("s", ExpectedVersion::Any(), mixed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  EXPECT_EQ(log_->Head(), 2u);

  // The new id first, the stored one second.
  std::vector<NewEvent> reversed;
  reversed.push_back(Ev("T", "data-402", MakeId(402)));
  reversed.push_back(EventsWithIds(1, 401)[0]);
  r = log_->Append("s", ExpectedVersion::Any(), reversed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  EXPECT_EQ(log_->Head(), 2u);
}

TEST_F(EventLogTest, DuplicateIdWithinOneAppendIsInvalidArgument) {
  std::vector<NewEvent> events = {Ev("T", "a", MakeId(7)), Ev("T", "b", MakeId(7))};
  absl::StatusOr<AppendResult> r = log_->Append("s", ExpectedVersion::Any(), events);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("events[1].event_id"));
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(EventLogTest, DeduplicationIgnoresNowStaleExpectedVersion) {
  absl::StatusOr<AppendResult> original =
      log_->Append("s", ExpectedVersion::NoStream(), EventsWithIds(1, 500));
  ASSERT_TRUE(original.ok()) << original.status();
  EXPECT_EQ(*original, (AppendResult{1, 1, 0, false}));
  absl::StatusOr<AppendResult> later = log_->Append("s", ExpectedVersion::Exact(0), Events(2));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*later, (AppendResult{2, 3, 2, false}));

  absl::StatusOr<AppendResult> retry_no_stream =
      log_->Append("s", ExpectedVersion::NoStream(), EventsWithIds(1, 500));
  ASSERT_TRUE(retry_no_stream.ok()) << retry_no_stream.status();
  EXPECT_EQ(*retry_no_stream, (AppendResult{1, 1, 0, true}));
  absl::StatusOr<AppendResult> retry_exact =
      log_->Append("s", ExpectedVersion::Exact(0), EventsWithIds(1, 500));
  ASSERT_TRUE(retry_exact.ok()) << retry_exact.status();
  EXPECT_EQ(*retry_exact, (AppendResult{1, 1, 0, true}));
  EXPECT_EQ(log_->Head(), 3u);
}

// ---------------------------------------------------------------------------
// Event ids

TEST_F(EventLogTest, MissingEventIdsAreGeneratedDistinct) {
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(3)).ok());
  ASSERT_TRUE(log_->Append("t", ExpectedVersion::Any(), Events(2)).ok());
  std::vector<RecordedEvent> all = ReadAllEvents();
  ASSERT_EQ(all.size(), 5u);
  std::set<std::string> ids;
  for (const RecordedEvent& e : all) {
    EXPECT_FALSE(e.event_id.IsNil()) << e.position;
    ids.insert(e.event_id.ToString());
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST(EventIdTest, ParseAndToStringRoundTrip) {
  const std::string text = "0123abcd-4567-489a-bcde-f0123456789a";
  std::optional<EventId> id = EventId::Parse(text);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->bytes[0], 0x01);
  EXPECT_EQ(id->bytes[1], 0x23);
  EXPECT_EQ(id->bytes[2], 0xab);
  EXPECT_EQ(id->bytes[15], 0x9a);
  EXPECT_EQ(id->ToString(), text);

  std::optional<EventId> upper = EventId::Parse("0123ABCD-4567-489A-BCDE-F0123456789A");
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(*upper, *id);
  EXPECT_EQ(upper->ToString(), text);

  const EventId random = EventId::Random();
  EXPECT_EQ(EventId::Parse(random.ToString()), random);
  EXPECT_EQ(EventId::FromBytes(random.AsBytes()), random);
  EXPECT_EQ(EventId::Parse("00000000-0000-0000-0000-000000000000"), EventId{});
}

TEST(EventIdTest, ParseRejectsMalformedText) {
  for (const char* bad : {
           "",
           "not-a-uuid",
           "0123abcd-4567-489a-bcde-f0123456789",    // 35 characters
           "0123abcd-4567-489a-bcde-f0123456789ab",  // 37 characters
           "0123abcd4-567-489a-bcde-f0123456789a",   // dash misplaced
           "0123abcd-4567-489a-bcde_f0123456789a",   // not a dash
           "0123abcg-4567-489a-bcde-f0123456789a",   // not hex
           "0123abcd4567489abcdef0123456789a",       // no dashes
           "{0123abcd-4567-489a-bcde-f0123456789a}",
           " 0123abcd-4567-489a-bcde-f0123456789a",
       }) {
    EXPECT_EQ(EventId::Parse(bad), std::nullopt) << "'" << bad << "'";
  }
  EXPECT_EQ(EventId::Parse(absl::string_view("0123abcd-4567-489a-bcde-f012345678\0a", 36)),
            std::nullopt);
}

TEST(EventIdTest, FromBytesNeedsSixteenBytes) {
  const std::string sixteen(16, '\x11');
  std::optional<EventId> id = EventId::FromBytes(sixteen);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->AsBytes(), sixteen);
  EXPECT_EQ(id->ToString(), "11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(EventId::FromBytes(std::string(15, '\x11')), std::nullopt);
  EXPECT_EQ(EventId::FromBytes(std::string(17, '\x11')), std::nullopt);
  EXPECT_EQ(EventId::FromBytes(""), std::nullopt);
}

TEST(EventIdTest, RandomIsVersionFourAndDistinct) {
  EXPECT_TRUE(EventId{}.IsNil());
  const EventId a = EventId::Random();
  const EventId b = EventId::Random();
  EXPECT_FALSE(a.IsNil());
  EXPECT_NE(a, b);
  EXPECT_EQ(a.bytes[6] >> 4, 4);         // version 4
  EXPECT_EQ(a.bytes[8] & 0xc0, 0x80);    // RFC 4122 variant
  EXPECT_EQ(a.ToString()[14], '4');
}

TEST(EventIdTest, TimeOrderedCarriesTheMillisecondCounterAndVersionSeven) {
  // 2026-12-04T00:00:00.123Z
  const int64_t ms = int64_t{1'796'342'400'123};
  const EventId id = EventId::TimeOrdered(ms, 0x0ABC);
  const std::string text = id.ToString();
  EXPECT_EQ(text.substr(0, 8), absl::StrFormat("%08x", static_cast<uint32_t>(ms >> 16)));
  EXPECT_EQ(text.substr(9, 4), absl::StrFormat("%04x", static_cast<uint32_t>(ms & 0xFFFF)));
  EXPECT_EQ(text.substr(14, 4), "7abc");  // version 7, then the counter
  EXPECT_EQ(id.bytes[8] & 0xc0, 0x80);    // RFC 4122 variant
}

TEST(EventIdTest, SequenceNeverGoesDownWhateverTheClockDoes) {
  EventIdSequence ids;
  const int64_t t0_us = int64_t{1'796'342'400'000'000};
  std::vector<EventId> made;
  for (int i = 0; i < 5; ++i) made.push_back(ids.Next(t0_us));  // one millisecond
  made.push_back(ids.Next(t0_us + 1'000));                      // the next one
  made.push_back(ids.Next(t0_us - 60'000'000));                 // clock set back a minute
  for (int i = 0; i < 4'100; ++i) made.push_back(ids.Next(t0_us + 1'000));  // a ms spent
  for (size_t i = 1; i < made.size(); ++i) {
    ASSERT_LT(made[i - 1].AsBytes(), made[i].AsBytes()) << i;
  }
  auto ms_of = [](const EventId& id) {
    int64_t ms = 0;
    for (int k = 0; k < 6; ++k) ms = (ms << 8) | id.bytes[k];
    return ms;
  };
  auto counter_of = [](const EventId& id) { return ((id.bytes[6] & 0x0F) << 8) | id.bytes[7]; };
  EXPECT_EQ(ms_of(made[0]), t0_us / 1000);
  EXPECT_EQ(counter_of(made[0]), 0);
  EXPECT_EQ(counter_of(made[4]), 4);
  EXPECT_EQ(ms_of(made[5]), t0_us / 1000 + 1);
  EXPECT_EQ(counter_of(made[5]), 0);
  EXPECT_EQ(ms_of(made[6]), t0_us / 1000 + 1);  // not back with the clock
  EXPECT_EQ(counter_of(made[6]), 1);
  // 4,096 ids per millisecond: the 4,095th after made[6] borrows ms + 2.
  EXPECT_EQ(ms_of(made[6 + 4'094]), t0_us / 1000 + 1);
  EXPECT_EQ(counter_of(made[6 + 4'094]), 4'095);
  EXPECT_EQ(ms_of(made[6 + 4'095]), t0_us / 1000 + 2);
  EXPECT_EQ(counter_of(made[6 + 4'095]), 0);
  for (const EventId& id : made) EXPECT_EQ(id.bytes[6] >> 4, 7);
}

TEST_F(EventLogTest, StreamExistsOnceItHasAnEvent) {
  EXPECT_EQ(log_->StreamExists("a-1").value(), false);
  ASSERT_TRUE(log_->Append("a-1", ExpectedVersion::Any(), {Ev("A")}).ok());
  ASSERT_TRUE(log_->Append("a-10", ExpectedVersion::Any(), {Ev("A"), Ev("B")}).ok());
  EXPECT_EQ(log_->StreamExists("a-1").value(), true);
  EXPECT_EQ(log_->StreamExists("a-10").value(), true);
  EXPECT_EQ(log_->StreamExists("a-").value(), false);  // a prefix of both names
  EXPECT_EQ(log_->StreamExists("a-100").value(), false);
  EXPECT_EQ(log_->StreamExists("").status().code(), absl::StatusCode::kInvalidArgument);
  // Soft-deleted (truncated) streams keep their events: still there.
  ASSERT_TRUE(log_->DeleteStream("a-1", ExpectedVersion::Any(), DeleteMode::kSoft).ok());
  EXPECT_EQ(log_->StreamExists("a-1").value(), true);
}

TEST_F(EventLogTest, EventsAppendedWithoutAnIdGetTimeOrderedOnes) {
  ASSERT_TRUE(log_->Append("s-1", ExpectedVersion::Any(), {Ev("A"), Ev("B")}).ok());
  ASSERT_TRUE(log_->Append("s-2", ExpectedVersion::Any(), {Ev("C")}).ok());
  std::vector<RecordedEvent> all = ReadAllEvents();
  ASSERT_EQ(all.size(), 3u);
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (size_t i = 0; i < all.size(); ++i) {
    const EventId& id = all[i].event_id;
    EXPECT_EQ(id.bytes[6] >> 4, 7) << i;
    int64_t ms = 0;
    for (int k = 0; k < 6; ++k) ms = (ms << 8) | id.bytes[k];
    EXPECT_EQ(ms, all[i].recorded_at_us / 1000) << i;  // the group's clock
    EXPECT_LE(ms, now_ms);
    if (i > 0) {
      EXPECT_LT(all[i - 1].event_id.AsBytes(), id.AsBytes()) << i;
    }
  }
}

// ---------------------------------------------------------------------------
// Limits

TEST_F(EventLogTest, EmptyStreamNameIsInvalidArgument) {
  absl::StatusOr<AppendResult> r = log_->Append("", ExpectedVersion::Any(), {Ev("T")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("stream"));
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(EventLogTest, StreamNameOf256BytesIsAcceptedAnd257Rejected) {
  const std::string max_name(kStreamNameBytesMax, 's');
  ASSERT_EQ(max_name.size(), 256u);
  absl::StatusOr<AppendResult> ok = log_->Append(max_name, ExpectedVersion::Any(), {Ev("T")});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ReadStreamEvents(max_name).size(), 1u);

  absl::StatusOr<AppendResult> over =
      log_->Append(std::string(257, 's'), ExpectedVersion::Any(), {Ev("T")});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("stream"));
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, MultiByteUtf8StreamNameIsAcceptedUpTo256Bytes) {
  std::string name;
  for (int i = 0; i < 128; ++i) name += "\xc3\xa9";  // U+00E9, 2 bytes
  ASSERT_EQ(name.size(), 256u);
  absl::StatusOr<AppendResult> ok = log_->Append(name, ExpectedVersion::Any(), {Ev("T")});
  ASSERT_TRUE(ok.ok()) << ok.status();
  std::vector<RecordedEvent> events = ReadStreamEvents(name);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, name);
}

TEST_F(EventLogTest, InvalidUtf8StreamNameIsRejected) {
  for (const std::string& bad : {std::string("\xff"), std::string("ab\xff"),
                                 std::string("trunc\xc3")}) {
    absl::StatusOr<AppendResult> r = log_->Append(bad, ExpectedVersion::Any(), {Ev("T")});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(Msg(r.status()), HasSubstr("stream"));
  }
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(EventLogTest, NulInStreamNameIsRejected) {
  const std::string with_nul("a\0b", 3);
  absl::StatusOr<AppendResult> r = log_->Append(with_nul, ExpectedVersion::Any(), {Ev("T")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("stream"));
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(EventLogTest, EmptyEventTypeIsInvalidArgument) {
  absl::StatusOr<AppendResult> r = log_->Append("s", ExpectedVersion::Any(), {Ev("")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("events[0].type"));

  r = log_->Append("s", ExpectedVersion::Any(), {Ev("T"), Ev("")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("events[1].type"));
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(EventLogTest, EventTypeOf256BytesIsAcceptedAnd257Rejected) {
  const std::string max_type(kEventTypeBytesMax, 't');
  ASSERT_EQ(max_type.size(), 256u);
  absl::StatusOr<AppendResult> ok = log_->Append("s", ExpectedVersion::Any(), {Ev(max_type)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  std::vector<RecordedEvent> events = ReadStreamEvents("s");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, max_type);

  absl::StatusOr<AppendResult> over =
      log_->Append("s", ExpectedVersion::Any(), {Ev(std::string(257, 't'))});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("events[0].type"));
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, ContentTypeOf256BytesIsAcceptedAnd257Rejected) {
  NewEvent max_event = Ev("T");
  max_event.content_type = std::string(kContentTypeBytesMax, 'c');
  absl::StatusOr<AppendResult> ok = log_->Append("s", ExpectedVersion::Any(), {max_event});
  ASSERT_TRUE(ok.ok()) << ok.status();

  NewEvent over_event = Ev("T");
  over_event.content_type = std::string(257, 'c');
  absl::StatusOr<AppendResult> over = log_->Append("s", ExpectedVersion::Any(), {over_event});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("events[0].content_type"));
  EXPECT_EQ(log_->Head(), 1u);
}

// An event whose data + metadata + type + content type total `total` bytes
// (at least 117).
NewEvent EventOfSize(size_t total) {
  NewEvent e;
  e.type = "Type";                     // 4
  e.content_type = "application/x";    // 13
  e.metadata = std::string(100, 'm');  // 100
  e.data = std::string(total - 117, 'd');
  return e;
}

TEST_F(EventLogTest, EventAtConfiguredSizeLimitIsAcceptedAndOneByteMoreRejected) {
  options_.limits.event_bytes_max = 1000;
  ASSERT_NO_FATAL_FAILURE(ReopenLog());

  absl::StatusOr<AppendResult> ok =
      log_->Append("s", ExpectedVersion::Any(), {EventOfSize(1000)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  std::vector<RecordedEvent> events = ReadStreamEvents("s");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data.size(), 1000u - 117u);

  absl::StatusOr<AppendResult> over =
      log_->Append("s", ExpectedVersion::Any(), {EventOfSize(1001)});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("events[0]"));

  over = log_->Append("s", ExpectedVersion::Any(), {EventOfSize(200), EventOfSize(1001)});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("events[1]"));
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, EventAtDefaultOneMebibyteLimitIsAcceptedAndOneByteMoreRejected) {
  ASSERT_EQ(kEventBytesMaxDefault, size_t{1} << 20);
  absl::StatusOr<AppendResult> ok =
      log_->Append("s", ExpectedVersion::Any(), {EventOfSize(kEventBytesMaxDefault)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  absl::StatusOr<RecordedEvent> stored = log_->ReadEvent(1);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->data.size(), kEventBytesMaxDefault - 117);

  absl::StatusOr<AppendResult> over =
      log_->Append("s", ExpectedVersion::Any(), {EventOfSize(kEventBytesMaxDefault + 1)});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("events[0]"));
  EXPECT_EQ(log_->Head(), 1u);
}

TEST_F(EventLogTest, AppendOverConfiguredTotalBytesIsResourceExhausted) {
  options_.limits.event_bytes_max = 1000;
  options_.limits.append_bytes_max = 3000;
  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  absl::StatusOr<AppendResult> ok = log_->Append(
      "s", ExpectedVersion::Any(), {EventOfSize(1000), EventOfSize(1000), EventOfSize(1000)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  absl::StatusOr<AppendResult> over = log_->Append(
      "s", ExpectedVersion::Any(),
      {EventOfSize(1000), EventOfSize(1000), EventOfSize(1000), EventOfSize(200)});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_EQ(log_->Head(), 3u);
}

TEST_F(EventLogTest, TenThousandEventsPerAppendAreAcceptedAndOneMoreRejected) {
  ASSERT_EQ(kEventsPerAppendMaxDefault, 10'000u);
  absl::StatusOr<AppendResult> ok = log_->Append("s", ExpectedVersion::Any(), Events(10'000));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, (AppendResult{1, 10'000, 9'999, false}));

  absl::StatusOr<AppendResult> over = log_->Append("t", ExpectedVersion::Any(), Events(10'001));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_THAT(Msg(over.status()), HasSubstr("events"));
  EXPECT_EQ(log_->Head(), 10'000u);
  EXPECT_EQ(HeadOf("t"), std::nullopt);
}

TEST_F(EventLogTest, AppendOfNoEventsIsInvalidArgument) {
  absl::StatusOr<AppendResult> r = log_->Append("s", ExpectedVersion::Any(), {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(Msg(r.status()), HasSubstr("events"));
  EXPECT_EQ(log_->Head(), 0u);
}

// ---------------------------------------------------------------------------
// Reads

// Seven events over three streams:
//   position: 1        2     3           4        5        6       7
//   stream:   order-1  order-1 user-1    order-2  order-1  user-1  order-1
//   version:  0        1     0           0        2        1       3
//   type:     Created  Paid  Registered  Created  Shipped  Renamed Delivered
class EventLogReadTest : public EventLogTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(EventLogTest::SetUp());
    ASSERT_TRUE(log_->Append("order-1", ExpectedVersion::NoStream(), {Ev("Created"), Ev("Paid")}).ok());
    ASSERT_TRUE(log_->Append("user-1", ExpectedVersion::NoStream(), {Ev("Registered")}).ok());
    ASSERT_TRUE(log_->Append("order-2", ExpectedVersion::NoStream(), {Ev("Created")}).ok());
    ASSERT_TRUE(log_->Append("order-1", ExpectedVersion::Exact(1), {Ev("Shipped")}).ok());
    ASSERT_TRUE(log_->Append("user-1", ExpectedVersion::Exact(0), {Ev("Renamed")}).ok());
    ASSERT_TRUE(log_->Append("order-1", ExpectedVersion::Exact(2), {Ev("Delivered")}).ok());
    ASSERT_EQ(log_->Head(), 7u);
  }

  static std::vector<std::string> Types(const std::vector<RecordedEvent>& events) {
    std::vector<std::string> out;
    for (const RecordedEvent& e : events) out.push_back(e.type);
    return out;
  }
};

TEST_F(EventLogReadTest, ReadStreamForward) {
  std::vector<RecordedEvent> all = ReadStreamEvents("order-1");
  EXPECT_THAT(Versions(all), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(Positions(all), ElementsAre(1, 2, 5, 7));
  EXPECT_THAT(Types(all), ElementsAre("Created", "Paid", "Shipped", "Delivered"));
  for (const RecordedEvent& e : all) EXPECT_EQ(e.stream, "order-1");

  EXPECT_THAT(Versions(ReadStreamEvents("order-1", StreamFrom(2))), ElementsAre(2, 3));
  EXPECT_THAT(Versions(ReadStreamEvents("order-1", StreamFrom(1, ReadDirection::kForward, 2))),
              ElementsAre(1, 2));
  EXPECT_THAT(ReadStreamEvents("order-1", StreamFrom(4)), IsEmpty());
  EXPECT_THAT(ReadStreamEvents("order-1", StreamFrom(0, ReadDirection::kForward, 0)), IsEmpty());
}

TEST_F(EventLogReadTest, ReadStreamBackward) {
  std::vector<RecordedEvent> all =
      ReadStreamEvents("order-1", StreamFrom(kReadFromEnd, ReadDirection::kBackward));
  EXPECT_THAT(Versions(all), ElementsAre(3, 2, 1, 0));
  EXPECT_THAT(Positions(all), ElementsAre(7, 5, 2, 1));
  EXPECT_THAT(Versions(ReadStreamEvents("order-1", StreamFrom(2, ReadDirection::kBackward, 2))),
              ElementsAre(2, 1));
  EXPECT_THAT(
      Versions(ReadStreamEvents("order-1", StreamFrom(kReadFromEnd, ReadDirection::kBackward, 1))),
      ElementsAre(3));
  EXPECT_THAT(Versions(ReadStreamEvents("order-1", StreamFrom(0, ReadDirection::kBackward))),
              ElementsAre(0));
}

TEST_F(EventLogReadTest, ReadStreamOfUnknownStreamIsEmpty) {
  EXPECT_THAT(ReadStreamEvents("nobody"), IsEmpty());
  EXPECT_THAT(ReadStreamEvents("nobody", StreamFrom(kReadFromEnd, ReadDirection::kBackward)),
              IsEmpty());
  // A prefix of an existing stream is a different stream.
  EXPECT_THAT(ReadStreamEvents("order-"), IsEmpty());
  EXPECT_THAT(ReadStreamEvents("order-1x"), IsEmpty());
}

TEST_F(EventLogReadTest, ReadAllForward) {
  std::vector<RecordedEvent> all = ReadAllEvents();
  EXPECT_THAT(Positions(all), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(Types(all), ElementsAre("Created", "Paid", "Registered", "Created", "Shipped",
                                      "Renamed", "Delivered"));
  EXPECT_THAT(Positions(ReadAllEvents(AllFrom(4))), ElementsAre(4, 5, 6, 7));
  EXPECT_THAT(Positions(ReadAllEvents(AllFrom(2, ReadDirection::kForward, 3))), ElementsAre(2, 3, 4));
  EXPECT_THAT(ReadAllEvents(AllFrom(8)), IsEmpty());
}

TEST_F(EventLogReadTest, ReadAllBackward) {
  EXPECT_THAT(Positions(ReadAllEvents(AllFrom(kReadFromEnd, ReadDirection::kBackward))),
              ElementsAre(7, 6, 5, 4, 3, 2, 1));
  EXPECT_THAT(Positions(ReadAllEvents(AllFrom(5, ReadDirection::kBackward, 2))), ElementsAre(5, 4));
  EXPECT_THAT(Positions(ReadAllEvents(AllFrom(kReadFromEnd, ReadDirection::kBackward, 3))),
              ElementsAre(7, 6, 5));
  EXPECT_THAT(Positions(ReadAllEvents(AllFrom(1, ReadDirection::kBackward))), ElementsAre(1));
}

TEST_F(EventLogReadTest, ReadAllFiltersByStreamPrefix) {
  ReadAllOptions o;
  o.filter.stream_prefix = "order-";
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(1, 2, 4, 5, 7));
  o.filter.stream_prefix = "order-1";
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(1, 2, 5, 7));
  o.filter.stream_prefix = "user-";
  o.direction = ReadDirection::kBackward;
  o.from_position = kReadFromEnd;
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(6, 3));
  o.filter.stream_prefix = "nothing-";
  EXPECT_THAT(ReadAllEvents(o), IsEmpty());
}

TEST_F(EventLogReadTest, ReadAllFiltersByEventTypes) {
  ReadAllOptions o;
  o.filter.event_types = {"Created"};
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(1, 4));
  o.filter.event_types = {"Paid", "Renamed", "Unknown"};
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(2, 6));
}

TEST_F(EventLogReadTest, ReadAllFiltersByStreamPrefixAndEventTypes) {
  ReadAllOptions o;
  o.filter.stream_prefix = "order-";
  o.filter.event_types = {"Created", "Renamed"};
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(1, 4));
  o.filter.stream_prefix = "user-";
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(6));
}

TEST_F(EventLogReadTest, ReadAllMaxCountCountsMatchingEvents) {
  ReadAllOptions o = AllFrom(2, ReadDirection::kForward, 2);
  o.filter.stream_prefix = "order-";
  // From 2: order events are 2, 4, 5, 7; the user event at 3 does not count.
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(2, 4));
  o = AllFrom(kReadFromEnd, ReadDirection::kBackward, 2);
  o.filter.event_types = {"Created"};
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(4, 1));
}

TEST(ReadFilterTest, MatchesStreamPrefixAndTypes) {
  ReadFilter any;
  EXPECT_TRUE(any.IsEmpty());
  EXPECT_TRUE(any.Matches("x", "y"));
  ReadFilter f;
  f.stream_prefix = "order-";
  f.event_types = {"Created", "Paid"};
  EXPECT_FALSE(f.IsEmpty());
  EXPECT_TRUE(f.Matches("order-1", "Paid"));
  EXPECT_FALSE(f.Matches("order-1", "Shipped"));
  EXPECT_FALSE(f.Matches("user-1", "Paid"));
  EXPECT_FALSE(f.Matches("order", "Paid"));
}

TEST_F(EventLogReadTest, ReadAllAsOfPositionSeesOnlyEarlierEvents) {
  ReadAllOptions o;
  o.as_of_position = 4;
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(1, 2, 3, 4));
  o = AllFrom(kReadFromEnd, ReadDirection::kBackward);
  o.as_of_position = 4;
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(4, 3, 2, 1));
  o = AllFrom(5);
  o.as_of_position = 4;
  EXPECT_THAT(ReadAllEvents(o), IsEmpty());
  o = AllFrom(1);
  o.as_of_position = 7;
  EXPECT_THAT(Positions(ReadAllEvents(o)), ElementsAre(1, 2, 3, 4, 5, 6, 7));
}

TEST_F(EventLogReadTest, ReadStreamAsOfPositionShowsStreamAsItWas) {
  ReadStreamOptions o;
  o.as_of_position = 4;
  EXPECT_THAT(Versions(ReadStreamEvents("order-1", o)), ElementsAre(0, 1));
  o.as_of_position = 5;
  EXPECT_THAT(Positions(ReadStreamEvents("order-1", o)), ElementsAre(1, 2, 5));

  o = StreamFrom(kReadFromEnd, ReadDirection::kBackward);
  o.as_of_position = 5;
  EXPECT_THAT(Versions(ReadStreamEvents("order-1", o)), ElementsAre(2, 1, 0));
  o.as_of_position = 6;
  EXPECT_THAT(Versions(ReadStreamEvents("user-1", o)), ElementsAre(1, 0));

  o = ReadStreamOptions{};
  o.as_of_position = 3;
  EXPECT_THAT(ReadStreamEvents("order-2", o), IsEmpty());
}

TEST_F(EventLogReadTest, AsOfPositionZeroIsEmpty) {
  ReadAllOptions all;
  all.as_of_position = 0;
  EXPECT_THAT(ReadAllEvents(all), IsEmpty());
  ReadStreamOptions stream;
  stream.as_of_position = 0;
  EXPECT_THAT(ReadStreamEvents("order-1", stream), IsEmpty());
  stream = StreamFrom(kReadFromEnd, ReadDirection::kBackward);
  stream.as_of_position = 0;
  EXPECT_THAT(ReadStreamEvents("order-1", stream), IsEmpty());
}

TEST_F(EventLogReadTest, AsOfPositionBeyondHeadIsOutOfRange) {
  ReadAllOptions all;
  all.as_of_position = 8;
  EXPECT_EQ(log_->ReadAll(all).status().code(), absl::StatusCode::kOutOfRange);
  ReadStreamOptions stream;
  stream.as_of_position = 8;
  EXPECT_EQ(log_->ReadStream("order-1", stream).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log_->ScanAll(all, [](const EventView&) { return true; }).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(EventLogReadTest, ScanAllStopsWhenVisitorReturnsFalse) {
  std::vector<GlobalPosition> seen;
  absl::Status s = log_->ScanAll(ReadAllOptions{}, [&seen](const EventView& e) {
    seen.push_back(e.position);
    return seen.size() < 3;
  });
  STRATA_EXPECT_OK(s);
  EXPECT_THAT(seen, ElementsAre(1, 2, 3));
}

TEST_F(EventLogReadTest, ScanAllVisitsWhatReadAllReturns) {
  ReadAllOptions o = AllFrom(kReadFromEnd, ReadDirection::kBackward, 3);
  o.filter.stream_prefix = "order-";
  std::vector<RecordedEvent> scanned;
  STRATA_ASSERT_OK(log_->ScanAll(o, [&scanned](const EventView& e) {
    scanned.push_back(e.ToRecorded());
    return true;
  }));
  EXPECT_THAT(Positions(scanned), ElementsAre(7, 5, 4));
  EXPECT_EQ(scanned, ReadAllEvents(o));
}

TEST_F(EventLogReadTest, ReadEventReturnsTheEventAtPosition) {
  std::vector<RecordedEvent> all = ReadAllEvents();
  ASSERT_EQ(all.size(), 7u);
  for (GlobalPosition p = 1; p <= 7; ++p) {
    absl::StatusOr<RecordedEvent> e = log_->ReadEvent(p);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(*e, all[p - 1]);
  }
  EXPECT_EQ(log_->ReadEvent(0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->ReadEvent(8).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->ReadEvent(UINT64_MAX).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EventLogReadTest, StreamHeadIsLastVersion) {
  EXPECT_EQ(HeadOf("order-1"), std::optional<StreamVersion>(3));
  EXPECT_EQ(HeadOf("order-2"), std::optional<StreamVersion>(0));
  EXPECT_EQ(HeadOf("user-1"), std::optional<StreamVersion>(1));
  EXPECT_EQ(HeadOf("nobody"), std::nullopt);
}

TEST_F(EventLogTest, EveryRecordedFieldRoundTrips) {
  options_.clock_us = [] { return kFixedTimeUs; };
  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  std::string binary;
  for (int b = 0; b < 256; ++b) binary.push_back(static_cast<char>(b));
  binary += std::string("\0\0tail\0", 7);
  NewEvent e;
  e.event_id = EventId::Parse("6f9619ff-8b86-4d01-b42d-00c04fc964ff");
  ASSERT_TRUE(e.event_id.has_value());
  e.type = "OrderPlaced";
  e.content_type = "application/octet-stream";
  e.data = binary;
  e.metadata = std::string("{\"k\":\0\xfe}", 8);
  ASSERT_TRUE(log_->Append("other", ExpectedVersion::Any(), Events(2)).ok());
  absl::StatusOr<AppendResult> r = log_->Append("orders-9", ExpectedVersion::Any(), {e});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (AppendResult{3, 3, 0, false}));

  RecordedEvent expected;
  expected.position = 3;
  expected.stream = "orders-9";
  expected.stream_version = 0;
  expected.event_id = *e.event_id;
  expected.type = "OrderPlaced";
  expected.content_type = "application/octet-stream";
  expected.data = binary;
  expected.metadata = e.metadata;
  expected.recorded_at_us = kFixedTimeUs;

  absl::StatusOr<RecordedEvent> by_position = log_->ReadEvent(3);
  ASSERT_TRUE(by_position.ok()) << by_position.status();
  EXPECT_EQ(*by_position, expected);
  EXPECT_THAT(ReadStreamEvents("orders-9"), ElementsAre(expected));
  EXPECT_THAT(ReadAllEvents(AllFrom(3)), ElementsAre(expected));
  std::vector<RecordedEvent> scanned;
  STRATA_ASSERT_OK(log_->ScanAll(AllFrom(3), [&scanned](const EventView& v) {
    scanned.push_back(v.ToRecorded());
    return true;
  }));
  EXPECT_THAT(scanned, ElementsAre(expected));
  for (const RecordedEvent& other : ReadAllEvents()) {
    EXPECT_EQ(other.recorded_at_us, kFixedTimeUs);
  }

  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  by_position = log_->ReadEvent(3);
  ASSERT_TRUE(by_position.ok()) << by_position.status();
  EXPECT_EQ(*by_position, expected);
}

TEST_F(EventLogTest, RecordedAtComesFromSystemClockByDefault) {
  const int64_t before_us = absl::ToUnixMicros(absl::Now());
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), {Ev("T")}).ok());
  const int64_t after_us = absl::ToUnixMicros(absl::Now());
  absl::StatusOr<RecordedEvent> e = log_->ReadEvent(1);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_GE(e->recorded_at_us, before_us);
  EXPECT_LE(e->recorded_at_us, after_us);
}

// ---------------------------------------------------------------------------
// Concurrency

TEST_F(EventLogTest, ConcurrentAppendsGetDensePositionsAndVersions) {
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 1000;
  constexpr int kStreams = 50;
  struct Acked {
    AppendResult result;
    std::string stream;
    EventId id;
  };
  std::vector<std::vector<Acked>> acked(kThreads);
  std::vector<absl::Status> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &acked, &errors] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        const int n = t * kAppendsPerThread + i;
        std::string stream = absl::StrCat("s-", n % kStreams);
        const EventId id = MakeId(static_cast<uint32_t>(n + 1));
        absl::StatusOr<AppendResult> r =
            log_->Append(stream, ExpectedVersion::Any(), {Ev("T", absl::StrCat(n), id)});
        if (!r.ok()) {
          errors[t] = r.status();
          return;
        }
        acked[t].push_back(Acked{*r, std::move(stream), id});
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) STRATA_ASSERT_OK(errors[t]);

  constexpr int kTotal = kThreads * kAppendsPerThread;
  EXPECT_EQ(log_->Head(), static_cast<GlobalPosition>(kTotal));
  std::vector<RecordedEvent> all = ReadAllEvents();
  ASSERT_EQ(all.size(), static_cast<size_t>(kTotal));
  std::map<std::string, StreamVersion> next_version;
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].position, i + 1);
    ASSERT_EQ(all[i].stream_version, next_version[all[i].stream]++) << all[i].stream;
  }
  ASSERT_EQ(next_version.size(), static_cast<size_t>(kStreams));
  for (int s = 0; s < kStreams; ++s) {
    const std::string stream = absl::StrCat("s-", s);
    EXPECT_EQ(next_version[stream], static_cast<StreamVersion>(kTotal / kStreams));
    EXPECT_EQ(HeadOf(stream), std::optional<StreamVersion>(kTotal / kStreams - 1));
    std::vector<RecordedEvent> events = ReadStreamEvents(stream);
    ASSERT_EQ(events.size(), static_cast<size_t>(kTotal / kStreams));
    for (size_t v = 0; v < events.size(); ++v) ASSERT_EQ(events[v].stream_version, v);
  }
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(acked[t].size(), static_cast<size_t>(kAppendsPerThread));
    GlobalPosition previous = 0;
    for (const Acked& a : acked[t]) {
      ASSERT_EQ(a.result.first_position, a.result.last_position);
      ASSERT_FALSE(a.result.deduplicated);
      // One thread's synchronous appends commit in its order.
      ASSERT_GT(a.result.first_position, previous);
      previous = a.result.first_position;
      const RecordedEvent& e = all[a.result.first_position - 1];
      ASSERT_EQ(e.event_id, a.id) << "thread " << t << " position " << e.position;
      ASSERT_EQ(e.stream, a.stream);
      ASSERT_EQ(e.stream_version, a.result.last_version);
    }
  }
}

TEST_F(EventLogTest, ContendedExactAppendsToOneStreamAreSerialized) {
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 100;
  std::vector<std::vector<StreamVersion>> versions(kThreads);
  std::vector<absl::Status> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &versions, &errors] {
      int done = 0;
      while (done < kAppendsPerThread) {
        absl::StatusOr<std::optional<StreamVersion>> head = log_->StreamLastVersion("hot");
        if (!head.ok()) {
          errors[t] = head.status();
          return;
        }
        const ExpectedVersion expected =
            head->has_value() ? ExpectedVersion::Exact(**head) : ExpectedVersion::NoStream();
        const EventId id = MakeId(static_cast<uint32_t>(((t + 1) << 16) | done));
        absl::StatusOr<AppendResult> r =
            log_->Append("hot", expected, {Ev("T", absl::StrCat(t, "/", done), id)});
        if (r.ok()) {
          const StreamVersion want = head->has_value() ? **head + 1 : 0;
          if (r->last_version != want || r->deduplicated) {
            errors[t] = absl::InternalError(absl::StrCat("thread ", t, " expected version ", want,
                                                         ", got ", r->last_version));
            return;
          }
          versions[t].push_back(r->last_version);
          ++done;
        } else if (r.status().code() != absl::StatusCode::kAborted) {
          errors[t] = r.status();
          return;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) STRATA_ASSERT_OK(errors[t]);

  constexpr int kTotal = kThreads * kAppendsPerThread;
  EXPECT_EQ(HeadOf("hot"), std::optional<StreamVersion>(kTotal - 1));
  EXPECT_EQ(log_->Head(), static_cast<GlobalPosition>(kTotal));
  std::set<StreamVersion> acked_versions;
  for (const auto& v : versions) acked_versions.insert(v.begin(), v.end());
  EXPECT_EQ(acked_versions.size(), static_cast<size_t>(kTotal));

  std::vector<RecordedEvent> events = ReadStreamEvents("hot");
  ASSERT_EQ(events.size(), static_cast<size_t>(kTotal));
  std::set<std::string> ids;
  std::set<std::string> payloads;
  for (size_t v = 0; v < events.size(); ++v) {
    EXPECT_EQ(events[v].stream_version, v);
    EXPECT_EQ(events[v].position, v + 1);
    ids.insert(events[v].event_id.ToString());
    payloads.insert(events[v].data);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTotal));
  EXPECT_EQ(payloads.size(), static_cast<size_t>(kTotal));
}

TEST_F(EventLogTest, SmallStreamHeadCacheStillChecksVersions) {
  options_.stream_head_cache_max = 2;
  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  for (int round = 0; round < 3; ++round) {
    for (int s = 0; s < 10; ++s) {
      const std::string stream = absl::StrCat("cache-", s);
      const ExpectedVersion expected = round == 0 ? ExpectedVersion::NoStream()
                                                  : ExpectedVersion::Exact(round - 1);
      absl::StatusOr<AppendResult> r = log_->Append(stream, expected, {Ev("T")});
      ASSERT_TRUE(r.ok()) << stream << " round " << round << ": " << r.status();
      EXPECT_EQ(r->last_version, static_cast<StreamVersion>(round));
      EXPECT_EQ(r->first_position, static_cast<GlobalPosition>(round * 10 + s + 1));
      EXPECT_EQ(log_->Append(stream, ExpectedVersion::Exact(round + 5), {Ev("T")}).status().code(),
                absl::StatusCode::kAborted);
    }
  }
  for (int s = 0; s < 10; ++s) {
    EXPECT_EQ(HeadOf(absl::StrCat("cache-", s)), std::optional<StreamVersion>(2));
  }
}

// ---------------------------------------------------------------------------
// Asynchronous append, waiting and listeners

TEST_F(EventLogTest, AppendAsyncCompletesWithResult) {
  absl::Notification done;
  absl::StatusOr<AppendResult> got;
  log_->AppendAsync("s", ExpectedVersion::NoStream(), EventsWithIds(2, 900),
                    [&](absl::StatusOr<AppendResult> r) {
                      got = std::move(r);
                      done.Notify();
                    });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (AppendResult{1, 2, 1, false}));
  EXPECT_EQ(ReadStreamEvents("s").size(), 2u);
}

TEST_F(EventLogTest, AppendAsyncReportsRejection) {
  absl::Notification done;
  absl::StatusOr<AppendResult> got;
  log_->AppendAsync("s", ExpectedVersion::Any(), {}, [&](absl::StatusOr<AppendResult> r) {
    got = std::move(r);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();

  absl::Notification aborted;
  log_->AppendAsync("s", ExpectedVersion::StreamExists(), {Ev("T")},
                    [&](absl::StatusOr<AppendResult> r) {
                      got = std::move(r);
                      aborted.Notify();
                    });
  ASSERT_TRUE(aborted.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kAborted) << got.status();
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(EventLogTest, WaitForHeadReturnsAtOnceForReachedPosition) {
  STRATA_EXPECT_OK(log_->WaitForHead(0, absl::Now() + absl::Seconds(30)));
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(2)).ok());
  const absl::Time start = absl::Now();
  STRATA_EXPECT_OK(log_->WaitForHead(1, start + absl::Seconds(30)));
  STRATA_EXPECT_OK(log_->WaitForHead(2, start + absl::Seconds(30)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(EventLogTest, WaitForHeadReturnsWhenAnotherThreadAppends) {
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(1)).ok());
  absl::Status append_status;
  std::thread appender([this, &append_status] {
    append_status = log_->Append("s", ExpectedVersion::Any(), Events(2)).status();
  });
  const absl::Status waited = log_->WaitForHead(3, absl::Now() + absl::Seconds(30));
  appender.join();
  STRATA_ASSERT_OK(append_status);
  STRATA_EXPECT_OK(waited);
  EXPECT_EQ(log_->Head(), 3u);
}

TEST_F(EventLogTest, WaitForHeadTimesOutForUnreachedPosition) {
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(1)).ok());
  const absl::Time deadline = absl::Now() + absl::Milliseconds(50);
  const absl::Status s = log_->WaitForHead(2, deadline);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(absl::Now(), deadline - absl::Milliseconds(1));
}

TEST_F(EventLogTest, HeadListenerSeesNewHeadUntilRemoved) {
  HeadRecorder first;
  HeadRecorder second;
  const uint64_t first_id =
      log_->AddHeadListener([&first](GlobalPosition head) { first.Record(head); });
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(3)).ok());
  ASSERT_TRUE(first.WaitFor(3));
  EXPECT_THAT(first.heads(), ElementsAre(3));

  log_->RemoveHeadListener(first_id);
  const uint64_t second_id =
      log_->AddHeadListener([&second](GlobalPosition head) { second.Record(head); });
  EXPECT_NE(first_id, second_id);
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(1)).ok());
  ASSERT_TRUE(log_->Append("t", ExpectedVersion::Any(), Events(2)).ok());
  // The writer thread calls listeners commit by commit: once `second` saw the
  // second commit, every listener call for the first one has returned.
  ASSERT_TRUE(second.WaitFor(6));
  EXPECT_THAT(second.heads(), ElementsAre(4, 6));
  EXPECT_THAT(first.heads(), ElementsAre(3));
  log_->RemoveHeadListener(second_id);
}

// ---------------------------------------------------------------------------
// Reopen, durability, checksums

TEST_F(EventLogTest, ReopenRestoresHeadStreamsAndEvents) {
  ASSERT_TRUE(log_->Append("a", ExpectedVersion::NoStream(), Events(3)).ok());
  ASSERT_TRUE(log_->Append("b", ExpectedVersion::NoStream(), EventsWithIds(2, 42)).ok());
  ASSERT_TRUE(log_->Append("a", ExpectedVersion::Exact(2), Events(1)).ok());
  const std::vector<RecordedEvent> before = ReadAllEvents();
  ASSERT_EQ(before.size(), 6u);

  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  EXPECT_EQ(log_->Head(), 6u);
  EXPECT_EQ(HeadOf("a"), std::optional<StreamVersion>(3));
  EXPECT_EQ(HeadOf("b"), std::optional<StreamVersion>(1));
  EXPECT_EQ(ReadAllEvents(), before);
  EXPECT_THAT(Positions(ReadStreamEvents("a")), ElementsAre(1, 2, 3, 6));

  absl::StatusOr<AppendResult> next = log_->Append("b", ExpectedVersion::Exact(1), Events(2));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, (AppendResult{7, 8, 3, false}));
  absl::StatusOr<AppendResult> stale = log_->Append("a", ExpectedVersion::Exact(2), Events(1));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
}

TEST_F(EventLogTest, UnsafeNoSyncStillAppendsAndReads) {
  options_.durability = Durability::kUnsafeNoSync;
  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  absl::StatusOr<AppendResult> r1 = log_->Append("s", ExpectedVersion::NoStream(), Events(2));
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(*r1, (AppendResult{1, 2, 1, false}));
  absl::StatusOr<AppendResult> r2 = log_->Append("s", ExpectedVersion::Exact(1), Events(1));
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(*r2, (AppendResult{3, 3, 2, false}));
  EXPECT_THAT(Versions(ReadStreamEvents("s")), ElementsAre(0, 1, 2));
  // A clean close keeps everything, sync or not.
  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  EXPECT_EQ(log_->Head(), 3u);
  EXPECT_THAT(Positions(ReadAllEvents()), ElementsAre(1, 2, 3));
}

TEST_F(EventLogTest, VerifyChecksumsIsOkOnHealthyStore) {
  STRATA_EXPECT_OK(log_->VerifyChecksums());
  ASSERT_TRUE(log_->Append("s", ExpectedVersion::Any(), Events(50)).ok());
  STRATA_EXPECT_OK(log_->VerifyChecksums());
  ASSERT_NO_FATAL_FAILURE(ReopenLog());
  STRATA_EXPECT_OK(log_->VerifyChecksums());
}

TEST(EventLogOpenTest, MissingStoreWithoutCreateIfMissingFails) {
  TempDir dir;
  EventLogOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir.Sub("absent"), options);
  EXPECT_FALSE(log.ok());
}

}  // namespace
}  // namespace strata
