// ReadAhead (projections/runtime/read_ahead.h) over a real EventLog: every
// position of the range once, in order, with its fields; an early stop while
// the reader waits on a full queue; a range beyond the head.
#include "projections/runtime/read_ahead.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace strata::projections_internal {
namespace {

class ReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::Open(dir_.Sub("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    // 3 streams in turn, appends of 1,000; payloads up to 2 KiB so that some
    // chunks end on bytes, not on their event count.
    for (int a = 0; a < 24; ++a) {
      std::vector<NewEvent> events;
      for (int i = 0; i < 1000; ++i) {
        NewEvent e;
        e.type = absl::StrCat("T", i % 4);
        e.content_type = i % 2 ? "application/json" : "";
        e.data = std::string(i % 700 == 0 ? 2048 : 40, static_cast<char>('a' + i % 26));
        e.metadata = i % 3 == 0 ? absl::StrCat("m", a, "/", i) : "";
        events.push_back(std::move(e));
      }
      auto r = log_->Append(absl::StrCat("s", a % 3), ExpectedVersion::Any(), std::move(events));
      ASSERT_TRUE(r.ok()) << r.status();
    }
    ASSERT_EQ(log_->Head(), 24'000u);
  }

  // What ReadAhead must return for [from, to]: a direct scan's events.
  std::vector<RecordedEvent> Direct(GlobalPosition from, GlobalPosition to) {
    std::vector<RecordedEvent> out;
    ReadAllOptions read;
    read.from_position = from;
    read.max_count = to - from + 1;
    EXPECT_TRUE(log_->ScanAll(read,
                              [&](const EventView& e) {
                                out.push_back(e.ToRecorded());
                                return true;
                              })
                    .ok());
    return out;
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

void ExpectSame(const RecordedEvent& want, const EventView& got) {
  EXPECT_EQ(got.position, want.position);
  EXPECT_EQ(got.stream, want.stream);
  EXPECT_EQ(got.stream_version, want.stream_version);
  EXPECT_EQ(got.event_id, want.event_id);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.content_type, want.content_type);
  EXPECT_EQ(got.data, want.data);
  EXPECT_EQ(got.metadata, want.metadata);
  EXPECT_EQ(got.recorded_at_us, want.recorded_at_us);
}

TEST_F(ReadAheadTest, ReturnsEveryPositionOfTheRangeOnceInOrder) {
  const std::vector<RecordedEvent> want = Direct(101, 23'900);
  ASSERT_EQ(want.size(), 23'800u);
  ReadAhead ahead(log_.get(), 101, 23'900);
  size_t n = 0;
  int chunks = 0;
  while (true) {
    absl::StatusOr<absl::Span<const EventView>> events = ahead.Next();
    ASSERT_TRUE(events.ok()) << events.status();
    if (events->empty()) break;
    ++chunks;
    EXPECT_LE(events->size(), ReadAhead::kChunkEvents);
    for (const EventView& e : *events) {
      ASSERT_LT(n, want.size());
      ExpectSame(want[n++], e);
    }
  }
  EXPECT_EQ(n, want.size());
  EXPECT_GE(chunks, 6);
  // After the end, Next keeps answering "no more".
  absl::StatusOr<absl::Span<const EventView>> again = ahead.Next();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_F(ReadAheadTest, StopsWhenDestroyedWhileTheReaderWaits) {
  for (int round = 0; round < 20; ++round) {
    ReadAhead ahead(log_.get(), 1, 24'000);  // 6 chunks or more
    absl::StatusOr<absl::Span<const EventView>> events = ahead.Next();
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_FALSE(events->empty());
    EXPECT_EQ(events->front().position, 1u);
  }  // each destructor returns: the reader saw the stop instead of waiting for room
}

TEST_F(ReadAheadTest, ARangePastTheHeadEndsAtTheHead) {
  ReadAhead ahead(log_.get(), 23'990, 30'000);
  absl::StatusOr<absl::Span<const EventView>> events = ahead.Next();
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 11u);
  EXPECT_EQ(events->front().position, 23'990u);
  EXPECT_EQ(events->back().position, 24'000u);
  events = ahead.Next();
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

}  // namespace
}  // namespace strata::projections_internal
