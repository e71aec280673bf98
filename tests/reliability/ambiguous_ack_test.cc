// Ambiguous acknowledgements (RELIABILITY.md, "Ambiguous ack"): stratad dies
// after an append's batch is durable but before the reply goes out
// (STRATA_CRASH_POINT=append.after_write), so the client cannot know whether
// it happened. The client retries the same request after the restart:
//  - Append with the same explicit event ids: OK with deduplicated = true and
//    the positions the events are stored at; the log holds one copy;
//  - RecordClick with the same request_id (with and without clicked_at): OK
//    with the original position, and the read model counts the click once.
// The same retries across append.before_write (nothing was stored: the retry
// writes, once) and append.after_ack (stored; the reply may or may not have
// left) must end the same way. Every history is also run through the checker.
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "engine/testing/test_hooks.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/reliability/history_checker.h"
#include "tests/reliability/history_stratad.h"
#include "tests/testutil/temp_dir.h"

namespace strata::reliability {
namespace {

struct Case {
  const char* point;
  bool stored_before_retry;  // the crash comes after the durable write
  bool reply_may_arrive;     // the crash comes after the reply was handed to gRPC
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.point; }

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.point;
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  return name;
}

class AmbiguousAckTest : public ::testing::TestWithParam<Case> {
 protected:
  AmbiguousAckTest() {
    clean_.data_dir = dir_.Sub("data");
    clean_.log_path = dir_.Sub("stratad.log");
    armed_ = clean_;
    armed_.binary = STRATAD_TEST_HOOKS_PATH;  // the test build: crash points armable
    armed_.env = {absl::StrCat("STRATA_CRASH_POINT=", GetParam().point, "@1")};
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    queries_.from_date = absl::FormatCivilTime(today - 6);
    queries_.to_date = absl::FormatCivilTime(today);
  }

  std::unique_ptr<StratadProcess> Start(const StratadProcess::Options& options) {
    absl::StatusOr<std::unique_ptr<StratadProcess>> server = StratadProcess::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    EXPECT_TRUE((*server)->listening()) << (*server)->Output();
    return std::move(*server);
  }

  // Events of the log in `stream`.
  std::vector<LogEvent> StreamEvents(const std::string& address, const std::string& stream) {
    absl::StatusOr<std::vector<LogEvent>> log = ReadAllEvents(address);
    EXPECT_TRUE(log.ok()) << log.status();
    std::vector<LogEvent> out;
    if (!log.ok()) return out;
    for (LogEvent& e : *log) {
      if (e.stream == stream) out.push_back(std::move(e));
    }
    return out;
  }

  // Waits for the armed server to hit its point.
  void ExpectCrashed(StratadProcess& server) {
    const std::optional<int> code = server.WaitExit(absl::Seconds(10));
    ASSERT_TRUE(code.has_value()) << GetParam().point << " was not hit";
    EXPECT_EQ(*code, testing::kCrashPointExitCode) << server.Output();
  }

  // The checker on everything so far (no writes may be in flight).
  void ExpectChecked(const StratadProcess& server) {
    absl::StatusOr<uint64_t> head = ReadHead(server.address());
    ASSERT_TRUE(head.ok()) << head.status();
    const CheckReport report =
        CheckServer(server.address(), *head, history_, checker_, {}, queries_, 0);
    EXPECT_TRUE(report.ok()) << report.Summary();
    EXPECT_GT(report.total_passed(), 0u);
  }

  // `with_clicked_at` false: the server stores 0 and counts the click at its
  // recorded_at; a retry (recorded later) must still be recognised.
  void RetriedClick(bool with_clicked_at);

  testing::TempDir dir_;
  StratadProcess::Options clean_;
  StratadProcess::Options armed_;
  History history_;
  Checker checker_;
  ModelQueries queries_;
};

TEST_P(AmbiguousAckTest, RetriedAppendWithTheSameIdsIsStoredOnceAtTheOriginalPositions) {
  uint64_t rng = 42;
  // Some earlier history, so the ambiguous append does not start at 1.
  {
    auto server = Start(clean_);
    ASSERT_NE(server, nullptr);
    auto stub = strata::v1::Streams::NewStub(NewChannel(server->address()));
    Op op;
    op.stream = "before";
    op.expected_kind = ExpectedKind::kNoStream;
    op.event_ids = {NewEventId(&rng), NewEventId(&rng)};
    op.payloads = {"x", "y"};
    const grpc::Status s = RecordedAppend(history_, *stub, op, absl::Seconds(10));
    ASSERT_TRUE(s.ok()) << StatusText(s);
    server->Kill9();
  }

  Op op;
  op.stream = "ambiguous";
  op.expected_kind = ExpectedKind::kNoStream;
  op.event_ids = {NewEventId(&rng), NewEventId(&rng), NewEventId(&rng)};
  op.payloads = {"first", "second", "third"};
  uint64_t first_id = 0;
  {
    auto server = Start(armed_);
    ASSERT_NE(server, nullptr);
    auto stub = strata::v1::Streams::NewStub(NewChannel(server->address()));
    const grpc::Status s = RecordedAppend(history_, *stub, op, absl::Seconds(10), nullptr, &first_id);
    ExpectCrashed(*server);
    if (GetParam().reply_may_arrive) {
      EXPECT_NE(Classify(s), Outcome::kFail) << StatusText(s);
    } else {
      EXPECT_EQ(Classify(s), Outcome::kInfo) << StatusText(s);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(s);
    }
  }

  auto server = Start(clean_);
  ASSERT_NE(server, nullptr);
  const std::vector<LogEvent> stored = StreamEvents(server->address(), "ambiguous");
  if (GetParam().stored_before_retry) {
    ASSERT_EQ(stored.size(), 3u) << "the durable write was lost";
    EXPECT_EQ(stored[0].position, 3u);
  } else {
    EXPECT_TRUE(stored.empty()) << "the batch was written although the crash came before it";
  }

  auto stub = strata::v1::Streams::NewStub(NewChannel(server->address()));
  Op retry = op;
  retry.retry_of = first_id;
  strata::v1::AppendResponse response;
  const grpc::Status s = RecordedAppend(history_, *stub, retry, absl::Seconds(10), &response);
  ASSERT_TRUE(s.ok()) << StatusText(s);
  EXPECT_EQ(response.deduplicated(), GetParam().stored_before_retry);
  if (GetParam().stored_before_retry) {
    EXPECT_EQ(response.first_position(), stored[0].position);
    EXPECT_EQ(response.last_position(), stored[2].position);
    EXPECT_EQ(response.last_version(), stored[2].version);
  }
  // A second retry on the live server: the same answer, deduplicated.
  strata::v1::AppendResponse again;
  const grpc::Status s2 = RecordedAppend(history_, *stub, retry, absl::Seconds(10), &again);
  ASSERT_TRUE(s2.ok()) << StatusText(s2);
  EXPECT_TRUE(again.deduplicated());
  EXPECT_EQ(again.first_position(), response.first_position());
  EXPECT_EQ(again.last_position(), response.last_position());

  const std::vector<LogEvent> after = StreamEvents(server->address(), "ambiguous");
  ASSERT_EQ(after.size(), 3u) << "one copy expected";
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(after[i].event_id, op.event_ids[i]);
    EXPECT_EQ(after[i].position, response.first_position() + i);
    EXPECT_EQ(after[i].version, i);
  }
  ExpectChecked(*server);
}

TEST_P(AmbiguousAckTest, RetriedClickWithTheSameRequestIdCountsOnce) {
  RetriedClick(/*with_clicked_at=*/true);
}

TEST_P(AmbiguousAckTest, RetriedClickWithoutClickedAtCountsOnce) {
  RetriedClick(/*with_clicked_at=*/false);
}

void AmbiguousAckTest::RetriedClick(bool with_clicked_at) {
  AmbiguousAckTest* t = this;
  const Case c = GetParam();
  const std::string link = "amb";
  t->queries_.links = {link};
  {
    auto server = t->Start(t->clean_);
    ASSERT_NE(server, nullptr);
    auto commands = strata::v1::LinkCommands::NewStub(NewChannel(server->address()));
    Op create;
    create.link_id = link;
    create.request_id = "create-amb";
    strata::v1::CommandResponse response;
    const grpc::Status s = RecordedCreateLink(t->history_, *commands, create, absl::Seconds(10),
                                              &response);
    ASSERT_TRUE(s.ok()) << StatusText(s);
    t->queries_.min_as_of = response.position();
    server->Kill9();
  }

  Op click;
  click.link_id = link;
  click.request_id = "click-1";
  click.country = "DE";
  click.device = "mobile";
  click.clicked_at_us =
      with_clicked_at ? absl::ToUnixMicros(absl::Now()) - 3'600'000'000LL : 0;
  uint64_t first_id = 0;
  {
    auto server = t->Start(t->armed_);
    ASSERT_NE(server, nullptr);
    auto commands = strata::v1::LinkCommands::NewStub(NewChannel(server->address()));
    const grpc::Status s =
        RecordedClick(t->history_, *commands, click, absl::Seconds(10), nullptr, &first_id);
    t->ExpectCrashed(*server);
    if (c.reply_may_arrive) {
      EXPECT_NE(Classify(s), Outcome::kFail) << StatusText(s);
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(s);
    }
  }

  auto server = t->Start(t->clean_);
  ASSERT_NE(server, nullptr);
  const std::vector<LogEvent> stored = t->StreamEvents(server->address(), "clicks-" + link);
  ASSERT_EQ(stored.size(), c.stored_before_retry ? 1u : 0u);

  auto commands = strata::v1::LinkCommands::NewStub(NewChannel(server->address()));
  Op retry = click;
  retry.retry_of = first_id;
  strata::v1::CommandResponse response;
  const grpc::Status s = RecordedClick(t->history_, *commands, retry, absl::Seconds(10), &response);
  ASSERT_TRUE(s.ok()) << StatusText(s);
  if (c.stored_before_retry) {
    EXPECT_EQ(response.position(), stored[0].position) << "the retry did not return the original";
    EXPECT_EQ(response.version(), 0u);
  }
  strata::v1::CommandResponse again;
  ASSERT_TRUE(
      RecordedClick(t->history_, *commands, retry, absl::Seconds(10), &again).ok());
  EXPECT_EQ(again.position(), response.position());

  const std::vector<LogEvent> after = t->StreamEvents(server->address(), "clicks-" + link);
  ASSERT_EQ(after.size(), 1u) << "one click expected in the log";
  EXPECT_EQ(after[0].position, response.position());

  // The read model counts it once.
  const uint64_t head = after[0].position;
  const ReadModelAnswer a = QueryLinkModels(NewChannel(server->address()), link,
                                            t->queries_.from_date, t->queries_.to_date, head,
                                            std::nullopt, true);
  ASSERT_TRUE(a.error.empty()) << a.error;
  EXPECT_EQ(a.all_time_clicks, 1u);
  EXPECT_EQ(a.total_clicks, 1u);
  ASSERT_EQ(a.by_country.size(), 1u);
  EXPECT_EQ(a.by_country[0], (std::pair<std::string, uint64_t>("DE", 1)));
  ASSERT_EQ(a.by_device.size(), 1u);
  EXPECT_EQ(a.by_device[0], (std::pair<std::string, uint64_t>("mobile", 1)));
  t->ExpectChecked(*server);
}

// After the ambiguous crash, 8 clients retry the same append and 8 the same
// click at once (so retries meet in one commit group, or find each other's
// fresh write): every retry gets the same positions, and there is one copy.
TEST_P(AmbiguousAckTest, ConcurrentRetriesAgreeOnOnePosition) {
  const Case c = GetParam();
  uint64_t rng = 7;
  const std::string link = "race";
  queries_.links = {link};
  {
    auto server = Start(clean_);
    ASSERT_NE(server, nullptr);
    auto commands = strata::v1::LinkCommands::NewStub(NewChannel(server->address()));
    Op create;
    create.link_id = link;
    create.request_id = "create";
    strata::v1::CommandResponse created;
    ASSERT_TRUE(RecordedCreateLink(history_, *commands, create, absl::Seconds(10), &created).ok());
    queries_.min_as_of = created.position();
    server->Kill9();
  }
  Op append;
  append.stream = "race-stream";
  append.expected_kind = ExpectedKind::kAny;
  append.event_ids = {NewEventId(&rng), NewEventId(&rng)};
  append.payloads = {"a", "b"};
  Op click;
  click.link_id = link;
  click.request_id = "race-click";
  click.country = "JP";
  click.device = "tablet";
  click.clicked_at_us = absl::ToUnixMicros(absl::Now()) - 1'000'000;
  uint64_t append_id = 0;
  uint64_t click_id = 0;
  for (int round = 0; round < 2; ++round) {
    auto server = Start(armed_);
    ASSERT_NE(server, nullptr);
    auto channel = NewChannel(server->address());
    if (round == 0) {
      auto stub = strata::v1::Streams::NewStub(channel);
      RecordedAppend(history_, *stub, append, absl::Seconds(10), nullptr, &append_id);
    } else {
      auto stub = strata::v1::LinkCommands::NewStub(channel);
      RecordedClick(history_, *stub, click, absl::Seconds(10), nullptr, &click_id);
    }
    ExpectCrashed(*server);
  }

  auto server = Start(clean_);
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 8;
  std::vector<strata::v1::AppendResponse> appended(kClients);
  std::vector<strata::v1::CommandResponse> clicked(kClients);
  std::vector<grpc::Status> append_status(kClients);
  std::vector<grpc::Status> click_status(kClients);
  {
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        auto channel = NewChannel(server->address());
        auto streams = strata::v1::Streams::NewStub(channel);
        auto commands = strata::v1::LinkCommands::NewStub(channel);
        Op a = append;
        a.retry_of = append_id;
        append_status[i] = RecordedAppend(history_, *streams, a, absl::Seconds(10), &appended[i]);
        Op k = click;
        k.retry_of = click_id;
        click_status[i] = RecordedClick(history_, *commands, k, absl::Seconds(10), &clicked[i]);
      });
    }
    for (std::thread& t : clients) t.join();
  }
  int fresh_writes = 0;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(append_status[i].ok()) << StatusText(append_status[i]);
    ASSERT_TRUE(click_status[i].ok()) << StatusText(click_status[i]);
    EXPECT_EQ(appended[i].first_position(), appended[0].first_position()) << "client " << i;
    EXPECT_EQ(appended[i].last_position(), appended[0].last_position()) << "client " << i;
    EXPECT_EQ(clicked[i].position(), clicked[0].position()) << "client " << i;
    if (!appended[i].deduplicated()) ++fresh_writes;
  }
  EXPECT_EQ(fresh_writes, c.stored_before_retry ? 0 : 1);
  EXPECT_EQ(StreamEvents(server->address(), "race-stream").size(), 2u);
  EXPECT_EQ(StreamEvents(server->address(), "clicks-" + link).size(), 1u);
  ExpectChecked(*server);
}

// Link commands derive their event id from the request id: an ambiguous
// CreateLink retried must succeed with the original position (not "already
// exists"), and an ambiguous UpdateDestination retried with the same expected
// version must succeed (not ABORTED), each stored once.
TEST_P(AmbiguousAckTest, RetriedLinkCommandsWithTheSameRequestIdTakeEffectOnce) {
  const Case c = GetParam();
  const std::string link = "cmd";
  queries_.links = {link};
  queries_.min_as_of = 1;
  // Runs `call` on an armed server (which must die), then retries it on a
  // clean one; returns the retry's response.
  auto ambiguous_then_retry = [&](const std::function<grpc::Status(
                                      strata::v1::LinkCommands::Stub&, uint64_t*,
                                      strata::v1::CommandResponse*)>& call,
                                  const std::string& stream, uint64_t version) {
    uint64_t first_id = 0;
    {
      auto server = Start(armed_);
      EXPECT_NE(server, nullptr);
      if (server == nullptr) return strata::v1::CommandResponse();
      auto stub = strata::v1::LinkCommands::NewStub(NewChannel(server->address()));
      const grpc::Status s = call(*stub, &first_id, nullptr);
      ExpectCrashed(*server);
      if (!c.reply_may_arrive) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(s);
      }
    }
    auto server = Start(clean_);
    EXPECT_NE(server, nullptr);
    if (server == nullptr) return strata::v1::CommandResponse();
    std::vector<LogEvent> stored = StreamEvents(server->address(), stream);
    EXPECT_EQ(stored.size(), c.stored_before_retry ? version + 1 : version);
    auto stub = strata::v1::LinkCommands::NewStub(NewChannel(server->address()));
    strata::v1::CommandResponse response;
    const grpc::Status s = call(*stub, nullptr, &response);
    EXPECT_TRUE(s.ok()) << "the retry of an ambiguous command: " << StatusText(s);
    EXPECT_EQ(response.version(), version);
    if (c.stored_before_retry && stored.size() == version + 1) {
      EXPECT_EQ(response.position(), stored.back().position);
    }
    stored = StreamEvents(server->address(), stream);
    EXPECT_EQ(stored.size(), version + 1) << "one copy expected";
    ExpectChecked(*server);
    server->Kill9();
    return response;
  };

  ambiguous_then_retry(
      [&](strata::v1::LinkCommands::Stub& stub, uint64_t* id, strata::v1::CommandResponse* out) {
        Op op;
        op.link_id = link;
        op.request_id = "create-1";
        return RecordedCreateLink(history_, stub, op, absl::Seconds(10), out, id);
      },
      "link-" + link, 0);
  ambiguous_then_retry(
      [&](strata::v1::LinkCommands::Stub& stub, uint64_t* id, strata::v1::CommandResponse* out) {
        Op op;
        op.link_id = link;
        op.request_id = "update-1";
        op.destination = "https://example.org/moved";
        op.expected_kind = ExpectedKind::kExact;
        op.expected_version = 0;
        return RecordedUpdateDestination(history_, stub, op, absl::Seconds(10), out, id);
      },
      "link-" + link, 1);

  auto server = Start(clean_);
  ASSERT_NE(server, nullptr);
  auto queries = strata::v1::LinkQueries::NewStub(NewChannel(server->address()));
  strata::v1::GetLinkRequest request;
  request.set_link_id(link);
  request.set_min_position(server->recovered_head());
  strata::v1::GetLinkResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const grpc::Status s = queries->GetLink(&ctx, request, &response);
  ASSERT_TRUE(s.ok()) << StatusText(s);
  EXPECT_EQ(response.destination(), "https://example.org/moved");
  EXPECT_EQ(response.version(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    CrashPoints, AmbiguousAckTest,
    ::testing::Values(Case{"append.after_write", true, false},
                      Case{"append.before_write", false, false},
                      Case{"append.after_ack", true, true}),
    CaseName);

}  // namespace
}  // namespace strata::reliability
