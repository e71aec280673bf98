// The checker's negative controls: a hand-made history, log, subscriber
// observations and read model answers that satisfy all ten rules, then one
// fault at a time (a lost write, a duplicate, a failed append that shows up,
// half an info append, a gap, an event that moved, a real-time order
// inversion, a wrong reply position, a subscriber gap, a read model off by
// one...). Each fault must be reported under its rule; a checker that cannot
// fail proves nothing (RELIABILITY.md).
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reliability/history_checker.h"
#include "tests/reliability/history_stratad.h"

namespace strata::reliability {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;

std::set<int> RulesViolated(const CheckReport& report) {
  std::set<int> rules;
  for (const std::string& v : report.violations) {
    int rule = 0;
    if (std::sscanf(v.c_str(), "rule %d", &rule) == 1) rules.insert(rule);
  }
  return rules;
}

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() {
    // 1: ok append of a1, a2 to 's' (no stream) -> 1, 2.
    AddAppend(Outcome::kOk, "s", ExpectedKind::kNoStream, 0, {"a1", "a2"}, 100, 200, 1, 2, 1);
    // 2: ok append of b1 to 's' at exact version 1 -> 3.
    AddAppend(Outcome::kOk, "s", ExpectedKind::kExact, 1, {"b1"}, 300, 400, 3, 3, 2);
    // 3: failed append (ABORTED) of c1.
    AddAppend(Outcome::kFail, "s", ExpectedKind::kExact, 0, {"c1"}, 300, 410, 0, 0, 0);
    // 4: info append of d1, d2 to 't': present at 4, 5.
    AddAppend(Outcome::kInfo, "t", ExpectedKind::kAny, 0, {"d1", "d2"}, 500, 900, 0, 0, 0);
    // 5: info append of e1: absent.
    AddAppend(Outcome::kInfo, "t", ExpectedKind::kAny, 0, {"e1"}, 500, 900, 0, 0, 0);
    // 6: CreateLink L -> 6.
    Op create;
    create.type = OpType::kCreateLink;
    create.link_id = "L";
    create.stream = "link-L";
    create.expected_kind = ExpectedKind::kNoStream;
    create.payloads = {LinkCreatedPayload("L")};
    create.destination = "https://example.com/L";
    Complete(create, Outcome::kOk, 600, 700, 6, 6, 0);
    // 7: ok click -> 7; 8: info click -> 8; 9: failed click: absent.
    AddClick(Outcome::kOk, "US", "mobile", day_ + 1, 710, 800, 7, 0);
    AddClick(Outcome::kInfo, "DE", "desktop", day_ + 2, 720, 950, 0, 0);
    AddClick(Outcome::kFail, "FR", "bot", day_ + 3, 730, 960, 0, 0);

    AddEvent("s", "a1");
    AddEvent("s", "a2");
    AddEvent("s", "b1");
    AddEvent("t", "d1");
    AddEvent("t", "d2");
    AddEvent("link-L", "link-id", "LinkCreated", LinkCreatedPayload("L"));
    log_.back().recorded_at_us = 1000;
    AddEvent("clicks-L", "click-1", "ClickRecorded", ops_[6].payloads[0]);
    AddEvent("clicks-L", "click-2", "ClickRecorded", ops_[7].payloads[0]);

    all_.name = "all";
    all_.sessions.push_back({0, 0, "reconnect"});
    for (const LogEvent& e : log_) {
      if (e.position == 6) all_.sessions.push_back({5, 5, "UNAVAILABLE"});
      all_.events.push_back({e.position, e.stream, e.version, e.event_id});
    }
    all_.caught_up.emplace_back(8, 8);
    clicks_.name = "clicks";
    clicks_.stream_prefix = "clicks-";
    clicks_.sessions.push_back({0, 0, ""});
    clicks_.events.push_back({7, "clicks-L", 0, "click-1"});
    clicks_.caught_up.emplace_back(0, 5);  // nothing matched up to 5
    clicks_.events.push_back({8, "clicks-L", 1, "click-2"});
    clicks_.caught_up.emplace_back(2, 8);

    ReadModelAnswer m;
    m.link_id = "L";
    m.from_date = absl::FormatCivilTime(day_);
    m.to_date = absl::FormatCivilTime(day_ + 6);
    m.position = 8;
    m.total_clicks = 2;
    m.all_time_clicks = 2;
    for (int d = 0; d < 7; ++d) {
      m.by_day.emplace_back(absl::FormatCivilTime(day_ + d), d == 1 || d == 2 ? 1 : 0);
    }
    m.by_country = {{"DE", 1}, {"US", 1}};
    m.by_device = {{"desktop", 1}, {"mobile", 1}};
    m.link_version = 0;
    m.link_destination = "https://example.com/L";
    m.link_created_at_us = m.link_updated_at_us = 1000;
    models_.push_back(m);
    m.as_of = 7;
    m.position = 7;
    m.total_clicks = 1;
    m.all_time_clicks = 1;
    m.by_day[2].second = 0;
    m.by_country = {{"US", 1}};
    m.by_device = {{"mobile", 1}};
    models_.push_back(m);
  }

  void Complete(Op op, Outcome outcome, int64_t invoke, int64_t complete, uint64_t first,
                uint64_t last, uint64_t last_version) {
    op.id = ops_.size() + 1;
    op.outcome = outcome;
    op.invoke_ns = invoke;
    op.complete_ns = complete;
    if (outcome == Outcome::kOk) {
      op.first_position = first;
      op.last_position = last;
      op.last_version = last_version;
    }
    ops_.push_back(op);
  }
  void AddAppend(Outcome outcome, const std::string& stream, ExpectedKind kind, uint64_t expected,
                 std::vector<std::string> ids, int64_t invoke, int64_t complete, uint64_t first,
                 uint64_t last, uint64_t last_version) {
    Op op;
    op.stream = stream;
    op.expected_kind = kind;
    op.expected_version = expected;
    op.event_ids = std::move(ids);
    Complete(op, outcome, invoke, complete, first, last, last_version);
  }
  void AddClick(Outcome outcome, const std::string& country, const std::string& device,
                absl::CivilDay day, int64_t invoke, int64_t complete, uint64_t position,
                uint64_t version) {
    Op op;
    op.type = OpType::kRecordClick;
    op.link_id = "L";
    op.stream = "clicks-L";
    op.country = country;
    op.device = device;
    op.clicked_at_us = absl::ToUnixMicros(absl::FromCivil(day, absl::UTCTimeZone())) + 5;
    op.payloads = {ClickPayload(op)};
    Complete(op, outcome, invoke, complete, position, position, version);
  }
  void AddEvent(const std::string& stream, const std::string& id,
                const std::string& type = "HistoryEvent", const std::string& data = "") {
    LogEvent e;
    e.position = log_.size() + 1;
    e.stream = stream;
    e.version = 0;
    for (const LogEvent& prior : log_) {
      if (prior.stream == stream) ++e.version;
    }
    e.event_id = id;
    e.type = type;
    e.data = data;
    log_.push_back(e);
  }

  CheckReport Check() {
    return checker_.Check(ops_, log_, log_.size(), {&all_, &clicks_}, models_);
  }

  const absl::CivilDay day_{2024, 3, 1};
  std::vector<Op> ops_;
  std::vector<LogEvent> log_;
  SubscriberLog all_;
  SubscriberLog clicks_;
  std::vector<ReadModelAnswer> models_;
  Checker checker_;
};

TEST_F(CheckerTest, ConsistentHistoryPassesEveryRule) {
  const CheckReport report = Check();
  EXPECT_THAT(report.violations, IsEmpty()) << report.Summary();
  for (int rule = 1; rule <= kRuleCount; ++rule) {
    EXPECT_GT(report.passed[rule], 0u) << "rule " << rule << " asserted nothing";
  }
  // The same log again (a restart that changed nothing) still passes.
  EXPECT_TRUE(Check().ok());
}

TEST_F(CheckerTest, LostAcknowledgedEventIsRule1) {
  log_[2].event_id = "someone-else";  // b1 (ok) replaced
  EXPECT_THAT(RulesViolated(Check()), Contains(1));
}

TEST_F(CheckerTest, LostAcknowledgedClickIsRule1) {
  log_[6].data = "other bytes";
  EXPECT_THAT(RulesViolated(Check()), Contains(1));
}

TEST_F(CheckerTest, DuplicateEventIdIsRule2) {
  log_[4].event_id = "d1";
  EXPECT_THAT(RulesViolated(Check()), Contains(2));
}

TEST_F(CheckerTest, DuplicateStreamVersionIsRule2) {
  log_[4].version = 0;  // 't' v0 twice
  EXPECT_THAT(RulesViolated(Check()), Contains(2));
}

TEST_F(CheckerTest, EventOfFailedAppendIsRule3) {
  log_[4].event_id = "c1";
  EXPECT_THAT(RulesViolated(Check()), Contains(3));
}

TEST_F(CheckerTest, ClickOfFailedCommandIsRule3) {
  log_[7].data = ops_[8].payloads[0];
  EXPECT_THAT(RulesViolated(Check()), Contains(3));
}

TEST_F(CheckerTest, EventNobodyWroteIsRule3) {
  AddEvent("t", "phantom");
  EXPECT_THAT(RulesViolated(checker_.Check(ops_, log_, log_.size(), {}, {})), Contains(3));
}

TEST_F(CheckerTest, HalfOfAnInfoAppendIsRule4) {
  ops_[4].event_ids = {"e1", "d2"};  // d2 present, e1 not
  EXPECT_THAT(RulesViolated(Check()), Contains(4));
}

TEST_F(CheckerTest, GapInPositionsIsRule5) {
  log_.back().position = 9;
  EXPECT_THAT(RulesViolated(checker_.Check(ops_, log_, 9, {}, {})), Contains(5));
}

TEST_F(CheckerTest, ShortReadIsRule5) {
  EXPECT_THAT(RulesViolated(checker_.Check(ops_, log_, 9, {}, {})), Contains(5));
}

TEST_F(CheckerTest, GapInStreamVersionsIsRule5) {
  log_[2].version = 3;  // 's' 0, 1, 3
  EXPECT_THAT(RulesViolated(Check()), Contains(5));
}

TEST_F(CheckerTest, EventThatMovedAfterARestartIsRule6) {
  ASSERT_TRUE(Check().ok());
  std::swap(log_[3].event_id, log_[4].event_id);  // d1, d2 trade places
  EXPECT_THAT(RulesViolated(Check()), Contains(6));
}

TEST_F(CheckerTest, EventSeenEarlierThatVanishedIsRule6) {
  ASSERT_TRUE(Check().ok());
  log_.pop_back();  // the info click, seen before, is gone
  models_.clear();
  EXPECT_THAT(RulesViolated(checker_.Check(ops_, log_, log_.size(), {}, {})), Contains(6));
}

TEST_F(CheckerTest, EventSeenByASubscriberAtAnotherPositionIsRule6) {
  all_.events[3].event_id = "d2";
  all_.events[4].event_id = "d1";
  EXPECT_THAT(RulesViolated(Check()), Contains(6));
}

TEST_F(CheckerTest, AcknowledgedBeforeInvokedButLaterPositionIsRule7) {
  // The link was created (position 6) and acknowledged before the append of
  // d1, d2 (positions 4, 5) was invoked.
  ops_[5].complete_ns = 450;
  EXPECT_THAT(RulesViolated(Check()), Contains(7));
}

TEST_F(CheckerTest, WrongPositionInReplyIsRule8) {
  ops_[1].first_position = ops_[1].last_position = 4;
  EXPECT_THAT(RulesViolated(Check()), Contains(8));
}

TEST_F(CheckerTest, WrongPositionInClickReplyIsRule8) {
  ops_[6].first_position = ops_[6].last_position = 8;
  EXPECT_THAT(RulesViolated(Check()), Contains(8));
}

TEST_F(CheckerTest, ExactVersionNotHonouredIsRule8) {
  ops_[1].expected_version = 0;  // b1 at version 2 although it expected 0
  EXPECT_THAT(RulesViolated(Check()), Contains(8));
}

TEST_F(CheckerTest, SubscriberGapIsRule9) {
  all_.events.erase(all_.events.begin() + 4);  // skipped position 5
  all_.sessions[1].first_event = 4;
  all_.sessions[1].after_position = 4;
  all_.caught_up[0].first = 7;
  EXPECT_THAT(RulesViolated(Check()), Contains(9));
}

TEST_F(CheckerTest, SubscriberDuplicateAcrossReconnectIsRule9) {
  all_.sessions[1].after_position = 4;  // resumed too early: sees 5 twice
  all_.events.insert(all_.events.begin() + 5, all_.events[4]);
  all_.sessions[1].first_event = 5;
  EXPECT_THAT(RulesViolated(Check()), Contains(9));
}

TEST_F(CheckerTest, FilteredSubscriberMissingAMatchIsRule9) {
  clicks_.events.erase(clicks_.events.begin());
  clicks_.caught_up = {{1, 8}};
  EXPECT_THAT(RulesViolated(Check()), Contains(9));
}

TEST_F(CheckerTest, CaughtUpBeforeSendingEverythingIsRule9) {
  clicks_.caught_up[0] = {0, 7};  // position 7 matches and was not sent yet
  EXPECT_THAT(RulesViolated(Check()), Contains(9));
}

TEST_F(CheckerTest, ReadModelCountingAClickTwiceIsRule10) {
  models_[0].all_time_clicks = 3;
  EXPECT_THAT(RulesViolated(Check()), Contains(10));
}

TEST_F(CheckerTest, ReadModelWithWrongBreakdownIsRule10) {
  models_[0].by_country = {{"DE", 2}};
  EXPECT_THAT(RulesViolated(Check()), Contains(10));
}

TEST_F(CheckerTest, TimeTravelAnswerFromTheWrongPositionIsRule10) {
  models_[1].all_time_clicks = 2;  // as of 7 it must be 1
  EXPECT_THAT(RulesViolated(Check()), Contains(10));
}

TEST_F(CheckerTest, LinkDetailsWithTheWrongDestinationIsRule10) {
  models_[0].link_destination = "https://example.com/elsewhere";
  EXPECT_THAT(RulesViolated(Check()), Contains(10));
}

TEST_F(CheckerTest, LinkDetailsWithTheWrongTimesAreRule10) {
  models_[1].link_updated_at_us = 999;
  EXPECT_THAT(RulesViolated(Check()), Contains(10));
}

TEST_F(CheckerTest, ReadModelBehindTheHeadIsRule10) {
  models_[0].position = 7;
  EXPECT_THAT(RulesViolated(Check()), Contains(10));
}

}  // namespace
}  // namespace strata::reliability
