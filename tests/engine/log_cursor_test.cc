// LogCursor and Follower (engine/log_cursor.h) on a real log in a temporary
// directory: pages in both directions over the whole log and one stream,
// filters, as-of pinning and its error, max_count; a follower's pages, its
// cursor and filter, its wake-up after a commit (once, not before), its
// immediate wake-up when already behind, and Disarm.
#include "engine/log_cursor.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using ::strata::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

class LogCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir_.path() + "/log");
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  // Appends one event of `type` to `stream`; returns its position.
  GlobalPosition Add(const std::string& stream, const std::string& type) {
    NewEvent e;
    e.type = type;
    absl::StatusOr<AppendResult> r = log_->Append(stream, ExpectedVersion::Any(), {e});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_position : 0;
  }

  // Positions read from `cursor`, `page` events per call, one vector per page.
  static std::vector<std::vector<GlobalPosition>> Pages(LogCursor& cursor, size_t page) {
    std::vector<std::vector<GlobalPosition>> pages;
    while (!cursor.done()) {
      std::vector<RecordedEvent> events;
      absl::Status s = cursor.Next(page, &events);
      EXPECT_TRUE(s.ok()) << s;
      if (!s.ok()) break;
      std::vector<GlobalPosition> positions;
      for (const RecordedEvent& e : events) positions.push_back(e.position);
      pages.push_back(positions);
    }
    return pages;
  }

  // Ten events: a-0..a-4 at odd positions (type A), b-0..b-4 at even ones (B).
  void AddTen() {
    for (int i = 0; i < 5; ++i) {
      Add("a-" + std::to_string(i % 2), "A");
      Add("b-" + std::to_string(i % 2), "B");
    }
  }

  TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

using Positions = std::vector<GlobalPosition>;

TEST_F(LogCursorTest, WholeLogForwardAndBackwardInPages) {
  AddTen();
  absl::StatusOr<LogCursor> forward = log_->NewCursor({});
  ASSERT_TRUE(forward.ok());
  EXPECT_EQ(forward->as_of_position(), 10u);
  EXPECT_THAT(Pages(*forward, 4),
              ElementsAre(Positions{1, 2, 3, 4}, Positions{5, 6, 7, 8}, Positions{9, 10}));

  CursorOptions o;
  o.direction = ReadDirection::kBackward;
  absl::StatusOr<LogCursor> backward = log_->NewCursor(o);
  ASSERT_TRUE(backward.ok());
  EXPECT_THAT(Pages(*backward, 4),
              ElementsAre(Positions{10, 9, 8, 7}, Positions{6, 5, 4, 3}, Positions{2, 1}));

  o.from = 6;
  o.max_count = 3;
  backward = log_->NewCursor(o);
  ASSERT_TRUE(backward.ok());
  EXPECT_THAT(Pages(*backward, 2), ElementsAre(Positions{6, 5}, Positions{4}));
}

TEST_F(LogCursorTest, AnExactMultipleOfThePageEndsWithAnEmptyPage) {
  AddTen();
  absl::StatusOr<LogCursor> cursor = log_->NewCursor({});
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 5), ElementsAre(Positions{1, 2, 3, 4, 5},
                                             Positions{6, 7, 8, 9, 10}, IsEmpty()));
}

TEST_F(LogCursorTest, FilterAndOneStream) {
  AddTen();
  CursorOptions o;
  o.filter.event_types = {"B"};
  absl::StatusOr<LogCursor> cursor = log_->NewCursor(o);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 2),
              ElementsAre(Positions{2, 4}, Positions{6, 8}, Positions{10}));

  CursorOptions s;
  s.stream = "a-0";  // versions 0, 1, 2 at positions 1, 5, 9
  cursor = log_->NewCursor(s);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 2), ElementsAre(Positions{1, 5}, Positions{9}));

  s.direction = ReadDirection::kBackward;
  cursor = log_->NewCursor(s);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 2), ElementsAre(Positions{9, 5}, Positions{1}));

  s.from = 1;  // version 1 and older
  cursor = log_->NewCursor(s);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 10), ElementsAre(Positions{5, 1}));

  s.stream = "nobody";
  cursor = log_->NewCursor(s);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 10), ElementsAre(IsEmpty()));
}

TEST_F(LogCursorTest, PinnedToTheHeadWhenMadeOrToAsOf) {
  AddTen();
  absl::StatusOr<LogCursor> cursor = log_->NewCursor({});
  ASSERT_TRUE(cursor.ok());
  Add("a-0", "A");  // position 11: after the cursor was made
  EXPECT_THAT(Pages(*cursor, 100), ElementsAre(Positions{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));

  CursorOptions o;
  o.stream = "a-0";
  o.as_of_position = 5;
  cursor = log_->NewCursor(o);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(Pages(*cursor, 100), ElementsAre(Positions{1, 5}));

  o.as_of_position = 12;
  absl::StatusOr<LogCursor> beyond = log_->NewCursor(o);
  ASSERT_EQ(beyond.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(beyond.status().message(), "as_of_position 12 is beyond the head (11)");
}

TEST_F(LogCursorTest, FollowerReadsAfterItsCursorWithItsFilter) {
  AddTen();
  absl::StatusOr<std::unique_ptr<Follower>> follower = log_->Follow(3, {"a-", {}});
  ASSERT_TRUE(follower.ok());
  std::vector<RecordedEvent> page;
  ASSERT_TRUE((*follower)->Next(2, &page).ok());
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].position, 5u);
  EXPECT_EQ(page[1].position, 7u);
  EXPECT_EQ((*follower)->cursor(), 7u);
  page.clear();
  ASSERT_TRUE((*follower)->Next(2, &page).ok());
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].position, 9u);
  EXPECT_EQ((*follower)->cursor(), 10u);  // position 10 (b-1) scanned, not matched
  page.clear();
  ASSERT_TRUE((*follower)->Next(2, &page).ok());
  EXPECT_THAT(page, IsEmpty());
  EXPECT_EQ((*follower)->cursor(), 10u);

  absl::StatusOr<std::unique_ptr<Follower>> beyond = log_->Follow(11);
  ASSERT_EQ(beyond.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(beyond.status().message(), "after_position 11 is beyond the head (10)");
}

TEST_F(LogCursorTest, FollowerIsWokenOnceByTheCommitThatPassesItsCursor) {
  AddTen();
  absl::StatusOr<std::unique_ptr<Follower>> follower = log_->Follow(10);
  ASSERT_TRUE(follower.ok());
  std::atomic<int> calls{0};
  absl::Notification woken;
  (*follower)->NotifyWhenReady([&] {
    calls.fetch_add(1);
    woken.Notify();
  });
  EXPECT_EQ(calls.load(), 0);  // nothing after position 10 yet
  Add("c-0", "C");
  ASSERT_TRUE(woken.WaitForNotificationWithTimeout(absl::Seconds(10)));
  Add("c-0", "C");
  EXPECT_EQ(calls.load(), 1);  // one-shot

  // Already behind the head: called at once, on this thread.
  bool now = false;
  (*follower)->NotifyWhenReady([&] { now = true; });
  EXPECT_TRUE(now);
  std::vector<RecordedEvent> page;
  ASSERT_TRUE((*follower)->Next(10, &page).ok());
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[1].position, 12u);
}

TEST_F(LogCursorTest, DisarmedFollowerIsNotCalled) {
  absl::StatusOr<std::unique_ptr<Follower>> follower = log_->Follow(0);
  ASSERT_TRUE(follower.ok());
  std::atomic<int> calls{0};
  (*follower)->NotifyWhenReady([&] { calls.fetch_add(1); });
  (*follower)->Disarm();
  // A second follower, armed after the first was disarmed, proves a commit
  // ran the notifications.
  absl::StatusOr<std::unique_ptr<Follower>> other = log_->Follow(0);
  ASSERT_TRUE(other.ok());
  absl::Notification woken;
  (*other)->NotifyWhenReady([&] { woken.Notify(); });
  Add("c-0", "C");
  ASSERT_TRUE(woken.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace strata
