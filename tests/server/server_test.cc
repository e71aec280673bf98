// stratad's services over a real gRPC server on 127.0.0.1 (port 0) with real
// RocksDB stores in a temp dir: appends and reads, subscriptions (catch-up, the
// caught-up marker, live events), the link commands with their domain errors
// and retries, queries with min_position and as_of_position, projection admin,
// health checking, and bad requests answered with the right code naming the
// field while the server keeps serving.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/generic/generic_stub.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

using ::testing::HasSubstr;
namespace v1 = ::strata::v1;

// Fixed server clock: 2024-03-10T12:00:00Z.
constexpr int64_t kNowUs = 1710072000LL * 1000000;
constexpr int64_t kDayUs = 86400LL * 1000000;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.log.clock_us = [] { return kNowUs; };
    options.projections.snapshot_interval_events = 8;
    options.projections.logger = NullLogger();
    auto server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    streams_ = v1::Streams::NewStub(channel_);
    commands_ = v1::LinkCommands::NewStub(channel_);
    queries_ = v1::LinkQueries::NewStub(channel_);
    admin_ = v1::Projections::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(20)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(timeout));
    return ctx;
  }

  grpc::Status Append(const std::string& stream, v1::ExpectedVersion::Kind kind, uint64_t version,
                      int n, v1::AppendResponse* out, const std::string& event_id = "") {
    v1::AppendRequest req;
    req.set_stream(stream);
    req.mutable_expected_version()->set_kind(kind);
    req.mutable_expected_version()->set_version(version);
    for (int i = 0; i < n; ++i) {
      auto* e = req.add_events();
      e->set_type("Thing");
      e->set_content_type("application/json");
      e->set_data(absl::StrCat("{\"i\":", i, "}"));
      if (!event_id.empty()) e->set_event_id(event_id);
    }
    return streams_->Append(Ctx().get(), req, out);
  }

  // The events of a ReadAll; the events per message in `batches`.
  std::vector<v1::RecordedEvent> ReadAll(const v1::ReadAllRequest& req, grpc::Status* status,
                                         std::vector<int>* batches = nullptr) {
    auto ctx = Ctx();
    auto reader = streams_->ReadAll(ctx.get(), req);
    std::vector<v1::RecordedEvent> out;
    v1::ReadAllResponse r;
    while (reader->Read(&r)) {
      out.insert(out.end(), r.events().begin(), r.events().end());
      if (batches != nullptr) batches->push_back(r.events_size());
    }
    *status = reader->Finish();
    return out;
  }

  grpc::Status CreateLink(const std::string& id, v1::CommandResponse* out,
                          const std::string& request_id = "") {
    v1::CreateLinkRequest req;
    req.set_link_id(id);
    req.set_destination("https://example.com/" + id);
    req.set_owner("ann");
    req.set_request_id(request_id);
    return commands_->CreateLink(Ctx().get(), req, out);
  }

  grpc::Status Click(const std::string& id, const std::string& country, v1::Device device,
                     std::optional<int64_t> at, v1::CommandResponse* out,
                     const std::string& request_id = "") {
    v1::RecordClickRequest req;
    req.set_link_id(id);
    req.set_country(country);
    req.set_device(device);
    if (at.has_value()) req.set_clicked_at(*at);
    req.set_request_id(request_id);
    return commands_->RecordClick(Ctx().get(), req, out);
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<StrataServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Streams::Stub> streams_;
  std::unique_ptr<v1::LinkCommands::Stub> commands_;
  std::unique_ptr<v1::LinkQueries::Stub> queries_;
  std::unique_ptr<v1::Projections::Stub> admin_;
};

TEST_F(ServerTest, AppendAndReadBack) {
  v1::AppendResponse r;
  ASSERT_TRUE(Append("orders-1", v1::ExpectedVersion::NO_STREAM, 0, 3, &r).ok());
  EXPECT_EQ(r.first_position(), 1u);
  EXPECT_EQ(r.last_position(), 3u);
  EXPECT_EQ(r.last_version(), 2u);
  ASSERT_TRUE(Append("orders-2", v1::ExpectedVersion::ANY, 0, 1, &r).ok());
  EXPECT_EQ(r.last_position(), 4u);
  ASSERT_TRUE(Append("orders-1", v1::ExpectedVersion::EXACT, 2, 1, &r).ok());
  EXPECT_EQ(r.last_position(), 5u);
  EXPECT_EQ(r.last_version(), 3u);

  v1::ReadAllRequest all;
  grpc::Status s;
  std::vector<v1::RecordedEvent> events = ReadAll(all, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(events.size(), 5u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].position(), i + 1);
  EXPECT_EQ(events[3].stream(), "orders-2");
  EXPECT_EQ(events[0].data(), "{\"i\":0}");
  EXPECT_EQ(events[0].recorded_at(), kNowUs);
  EXPECT_EQ(events[0].event_id().size(), 36u);

  all.set_backwards(true);
  all.set_max_count(2);
  all.set_as_of_position(4);
  events = ReadAll(all, &s);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].position(), 4u);
  EXPECT_EQ(events[1].position(), 3u);

  v1::ReadAllRequest filtered;
  filtered.mutable_filter()->set_stream_prefix("orders-2");
  events = ReadAll(filtered, &s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].position(), 4u);

  v1::ReadStreamRequest rs;
  rs.set_stream("orders-1");
  rs.set_backwards(true);
  auto ctx = Ctx();
  auto reader = streams_->ReadStream(ctx.get(), rs);
  std::vector<uint64_t> versions;
  v1::ReadStreamResponse m;
  while (reader->Read(&m)) {
    for (const v1::RecordedEvent& e : m.events()) versions.push_back(e.version());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(versions, (std::vector<uint64_t>{3, 2, 1, 0}));
}

TEST_F(ServerTest, ListStreamsByPrefixAPageAtATime) {
  v1::AppendResponse r;
  for (const char* stream : {"orders-2", "orders-1", "carts-1", "orders-10", "orders"}) {
    ASSERT_TRUE(Append(stream, v1::ExpectedVersion::ANY, 0, 2, &r).ok());
  }
  ASSERT_TRUE(
      Append("orders-1", v1::ExpectedVersion::ANY, 0, 1, &r).ok());  // version 2, position 11
  const auto list = [&](const std::string& prefix, const std::string& after, uint32_t limit,
                        v1::ListStreamsResponse* out) {
    v1::ListStreamsRequest req;
    req.set_prefix(prefix);
    req.set_after(after);
    req.set_limit(limit);
    out->Clear();
    return streams_->ListStreams(Ctx().get(), req, out);
  };
  const auto names = [](const v1::ListStreamsResponse& out) {
    std::vector<std::string> n;
    for (const auto& s : out.streams()) n.push_back(s.stream());
    return n;
  };
  v1::ListStreamsResponse out;
  ASSERT_TRUE(list("", "", 0, &out).ok());
  EXPECT_THAT(names(out),
              ::testing::ElementsAre("carts-1", "orders", "orders-1", "orders-10", "orders-2"));
  EXPECT_EQ(out.next_after(), "");
  EXPECT_EQ(out.streams(2).last_version(), 2u);
  EXPECT_EQ(out.streams(2).last_position(), 11u);
  EXPECT_EQ(out.streams(0).last_version(), 1u);
  EXPECT_EQ(out.streams(0).last_position(), 6u);

  ASSERT_TRUE(list("orders-", "", 2, &out).ok());
  EXPECT_THAT(names(out), ::testing::ElementsAre("orders-1", "orders-10"));
  EXPECT_EQ(out.next_after(), "orders-10");
  ASSERT_TRUE(list("orders-", out.next_after(), 2, &out).ok());
  EXPECT_THAT(names(out), ::testing::ElementsAre("orders-2"));
  EXPECT_EQ(out.next_after(), "");
  ASSERT_TRUE(list("zz", "", 0, &out).ok());
  EXPECT_TRUE(out.streams().empty());

  grpc::Status s = list("", "", 1001, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "limit: 1001 is above 1000");
}

TEST_F(ServerTest, ReadAllSendsEventsInBatchesOfAtMost1024) {
  v1::AppendResponse r;
  for (int i = 0; i < 15; ++i) {
    ASSERT_TRUE(Append("big", v1::ExpectedVersion::ANY, 0, 200, &r).ok());
  }
  grpc::Status s;
  std::vector<int> batches;
  std::vector<v1::RecordedEvent> events = ReadAll(v1::ReadAllRequest(), &s, &batches);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(events.size(), 3000u);
  for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(events[i].position(), i + 1);
  EXPECT_EQ(batches, (std::vector<int>{1024, 1024, 952}));
  // Backwards, from a position, with a count: the same batching.
  v1::ReadAllRequest back;
  back.set_backwards(true);
  back.set_from_position(2500);
  back.set_max_count(1500);
  batches.clear();
  events = ReadAll(back, &s, &batches);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(events.size(), 1500u);
  EXPECT_EQ(events.front().position(), 2500u);
  EXPECT_EQ(events.back().position(), 1001u);
  EXPECT_EQ(batches, (std::vector<int>{1024, 476}));
}

TEST_F(ServerTest, ReadAllBoundsAMessageByPayloadBytes) {
  // 10 events of 100,000 bytes: a message holds at most 256 KiB of payload,
  // so at most 2 of them (a batch may be smaller: nothing waits to fill one).
  for (int i = 0; i < 10; ++i) {
    v1::AppendRequest req;
    req.set_stream("large");
    req.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
    v1::ProposedEvent* e = req.add_events();
    e->set_type("Large");
    e->set_content_type("application/octet-stream");
    e->set_data(std::string(100'000, static_cast<char>('a' + i)));
    v1::AppendResponse out;
    ASSERT_TRUE(streams_->Append(Ctx().get(), req, &out).ok());
  }
  grpc::Status s;
  std::vector<int> batches;
  std::vector<v1::RecordedEvent> events = ReadAll(v1::ReadAllRequest(), &s, &batches);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(events.size(), 10u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].position(), i + 1);
    EXPECT_EQ(events[i].data(), std::string(100'000, static_cast<char>('a' + i)));
  }
  for (int n : batches) {
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 2);
  }
  // One stream's read, forwards and backwards: the same bound.
  for (bool backwards : {false, true}) {
    v1::ReadStreamRequest rs;
    rs.set_stream("large");
    rs.set_backwards(backwards);
    auto ctx = Ctx();
    auto reader = streams_->ReadStream(ctx.get(), rs);
    v1::ReadStreamResponse m;
    std::vector<uint64_t> versions;
    while (reader->Read(&m)) {
      EXPECT_GE(m.events_size(), 1);
      EXPECT_LE(m.events_size(), 2);
      for (const v1::RecordedEvent& e : m.events()) {
        EXPECT_EQ(e.data(), std::string(100'000, static_cast<char>('a' + e.version())));
        versions.push_back(e.version());
      }
    }
    ASSERT_TRUE(reader->Finish().ok());
    std::vector<uint64_t> expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    if (backwards) std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(versions, expected);
  }
}

TEST_F(ServerTest, AppendErrorsNameTheFieldAndWriteNothing) {
  v1::AppendResponse r;
  ASSERT_TRUE(Append("s", v1::ExpectedVersion::ANY, 0, 1, &r).ok());
  grpc::Status s = Append("s", v1::ExpectedVersion::EXACT, 5, 1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("expected version 5, stream is at 0"));
  s = Append("s", v1::ExpectedVersion::KIND_UNSPECIFIED, 0, 1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("expected_version.kind"));
  s = Append("", v1::ExpectedVersion::ANY, 0, 1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("stream"));
  s = Append("s", v1::ExpectedVersion::ANY, 0, 1, &r, "not-a-uuid");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("events[0].event_id"));
  s = Append("s", v1::ExpectedVersion::ANY, 0, 2, &r, "6f1c2a52-8f0e-4d55-9a3e-2b7c1d9e0f11");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("events[1].event_id"));
  s = Append("s", v1::ExpectedVersion::ANY, 0, 0, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(server_->log().Head(), 1u);
  // Idempotent retry through the API.
  ASSERT_TRUE(Append("s", v1::ExpectedVersion::ANY, 0, 1, &r,
                     "6f1c2a52-8f0e-4d55-9a3e-2b7c1d9e0f11").ok());
  EXPECT_EQ(r.last_position(), 2u);
  v1::AppendResponse again;
  ASSERT_TRUE(Append("s", v1::ExpectedVersion::NO_STREAM, 0, 1, &again,
                     "6f1c2a52-8f0e-4d55-9a3e-2b7c1d9e0f11").ok());
  EXPECT_EQ(again.last_position(), 2u);
  EXPECT_TRUE(again.deduplicated());
  EXPECT_EQ(server_->log().Head(), 2u);
}

TEST_F(ServerTest, SubscribeCatchesUpMarksItAndFollowsLive) {
  v1::AppendResponse r;
  ASSERT_TRUE(Append("a", v1::ExpectedVersion::ANY, 0, 3, &r).ok());
  ASSERT_TRUE(Append("b", v1::ExpectedVersion::ANY, 0, 2, &r).ok());
  v1::SubscribeRequest req;
  req.set_after_position(1);
  req.mutable_filter()->set_stream_prefix("a");
  auto ctx = Ctx();
  auto reader = streams_->Subscribe(ctx.get(), req);
  v1::SubscribeResponse m;
  // The catch-up in one batch, then the marker in a message of its own.
  ASSERT_TRUE(reader->Read(&m));
  ASSERT_EQ(m.events_size(), 2);
  EXPECT_FALSE(m.has_caught_up());
  EXPECT_EQ(m.events(0).position(), 2u);
  EXPECT_EQ(m.events(1).position(), 3u);
  ASSERT_TRUE(reader->Read(&m));
  ASSERT_TRUE(m.has_caught_up());
  EXPECT_EQ(m.events_size(), 0);
  EXPECT_EQ(m.caught_up().position(), 5u);
  ASSERT_TRUE(Append("b", v1::ExpectedVersion::ANY, 0, 1, &r).ok());  // filtered out
  ASSERT_TRUE(Append("a", v1::ExpectedVersion::ANY, 0, 1, &r).ok());
  ASSERT_TRUE(reader->Read(&m));
  ASSERT_EQ(m.events_size(), 1);
  EXPECT_FALSE(m.has_caught_up());
  EXPECT_EQ(m.events(0).position(), 7u);
  EXPECT_EQ(m.events(0).stream(), "a");
  ctx->TryCancel();
  while (reader->Read(&m)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ServerTest, LinkCommandsAndTheirDomainErrors) {
  v1::CommandResponse c;
  ASSERT_TRUE(CreateLink("promo", &c, "req-1").ok());
  EXPECT_EQ(c.position(), 1u);
  EXPECT_EQ(c.version(), 0u);
  // A retried CreateLink with the same request_id returns the original.
  v1::CommandResponse retry;
  ASSERT_TRUE(CreateLink("promo", &retry, "req-1").ok());
  EXPECT_EQ(retry.position(), 1u);
  // A new CreateLink of the same id is refused.
  grpc::Status s = CreateLink("promo", &c, "req-2");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("'promo' already exists"));

  ASSERT_TRUE(Click("promo", "DE", v1::MOBILE, std::nullopt, &c, "click-1").ok());
  EXPECT_EQ(c.position(), 2u);
  ASSERT_TRUE(Click("promo", "DE", v1::MOBILE, std::nullopt, &retry, "click-1").ok());
  EXPECT_EQ(retry.position(), 2u);  // counted once
  s = Click("nope", "DE", v1::MOBILE, std::nullopt, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  s = Click("promo", "de", v1::MOBILE, std::nullopt, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("country"));
  s = Click("promo", "DE", v1::DEVICE_UNSPECIFIED, std::nullopt, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("device"));
  s = Click("promo", "DE", static_cast<v1::Device>(42), std::nullopt, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Click("promo", "DE", v1::MOBILE, kNowUs + 6 * 60 * 1000000LL, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("clicked_at"));
  ASSERT_TRUE(Click("promo", "DE", v1::MOBILE, kNowUs + 4 * 60 * 1000000LL, &c).ok());

  v1::UpdateDestinationRequest up;
  up.set_link_id("promo");
  up.set_destination("https://example.org/new");
  up.set_expected_version(0);
  ASSERT_TRUE(commands_->UpdateDestination(Ctx().get(), up, &c).ok());
  EXPECT_EQ(c.version(), 1u);
  s = commands_->UpdateDestination(Ctx().get(), up, &c);  // stale: now at 1
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  up.set_link_id("ghost");
  s = commands_->UpdateDestination(Ctx().get(), up, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  up.set_link_id("promo");
  up.set_destination("ftp://example.org");
  s = commands_->UpdateDestination(Ctx().get(), up, &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("destination"));
  s = CreateLink("bad id!", &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("link_id"));
}

TEST_F(ServerTest, QueriesReadAggregatesWaitAndTimeTravel) {
  v1::CommandResponse c;
  ASSERT_TRUE(CreateLink("promo", &c).ok());
  ASSERT_TRUE(Click("promo", "DE", v1::MOBILE, kNowUs - 2 * kDayUs, &c).ok());
  ASSERT_TRUE(Click("promo", "FR", v1::DESKTOP, kNowUs - 2 * kDayUs, &c).ok());
  const uint64_t before_today = c.position();
  ASSERT_TRUE(Click("promo", "DE", v1::MOBILE, std::nullopt, &c).ok());
  ASSERT_TRUE(Click("promo", "", v1::BOT, std::nullopt, &c).ok());
  ASSERT_TRUE(Click("promo", "DE", v1::TABLET, kNowUs - 40 * kDayUs, &c).ok());
  const uint64_t last = c.position();

  v1::GetLinkAnalyticsRequest q;
  q.set_link_id("promo");
  q.set_from_date("2024-03-07");
  q.set_to_date("2024-03-10");
  q.set_min_position(last);
  v1::GetLinkAnalyticsResponse a;
  grpc::Status s = queries_->GetLinkAnalytics(Ctx().get(), q, &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.position(), last);
  EXPECT_EQ(a.total_clicks(), 4u);
  EXPECT_EQ(a.all_time_clicks(), 5u);
  ASSERT_EQ(a.by_day_size(), 4);
  EXPECT_EQ(a.by_day(0).date(), "2024-03-07");
  EXPECT_EQ(a.by_day(0).clicks(), 0u);
  EXPECT_EQ(a.by_day(1).date(), "2024-03-08");
  EXPECT_EQ(a.by_day(1).clicks(), 2u);
  EXPECT_EQ(a.by_day(2).clicks(), 0u);
  EXPECT_EQ(a.by_day(3).date(), "2024-03-10");
  EXPECT_EQ(a.by_day(3).clicks(), 2u);
  ASSERT_EQ(a.by_country_size(), 3);
  EXPECT_EQ(a.by_country(0).key(), "DE");
  EXPECT_EQ(a.by_country(0).clicks(), 2u);
  EXPECT_EQ(a.by_country(1).key(), "");
  EXPECT_EQ(a.by_country(2).key(), "FR");
  ASSERT_EQ(a.by_device_size(), 3);
  EXPECT_EQ(a.by_device(0).key(), "mobile");
  EXPECT_EQ(a.by_device(0).clicks(), 2u);

  // As of a past position: today's clicks did not exist yet.
  q.clear_min_position();
  q.set_as_of_position(before_today);
  ASSERT_TRUE(queries_->GetLinkAnalytics(Ctx().get(), q, &a).ok());
  EXPECT_EQ(a.position(), before_today);
  EXPECT_EQ(a.total_clicks(), 2u);
  EXPECT_EQ(a.all_time_clicks(), 2u);

  q.set_as_of_position(last + 100);
  EXPECT_EQ(queries_->GetLinkAnalytics(Ctx().get(), q, &a).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  q.clear_as_of_position();
  q.set_from_date("2024-03-11");
  s = queries_->GetLinkAnalytics(Ctx().get(), q, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("from_date"));
  q.set_from_date("2023-01-01");
  s = queries_->GetLinkAnalytics(Ctx().get(), q, &a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  q.set_from_date("2024-02-30");
  EXPECT_EQ(queries_->GetLinkAnalytics(Ctx().get(), q, &a).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  q.set_from_date("2024-03-01");
  q.set_link_id("ghost");
  q.set_min_position(last);
  EXPECT_EQ(queries_->GetLinkAnalytics(Ctx().get(), q, &a).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::GetLinkRequest g;
  g.set_link_id("promo");
  g.set_min_position(last);
  v1::GetLinkResponse link;
  ASSERT_TRUE(queries_->GetLink(Ctx().get(), g, &link).ok());
  EXPECT_EQ(link.destination(), "https://example.com/promo");
  EXPECT_EQ(link.owner(), "ann");
  EXPECT_EQ(link.created_at(), kNowUs);
  EXPECT_EQ(link.version(), 0u);
  g.clear_min_position();
  g.set_as_of_position(0);
  EXPECT_EQ(queries_->GetLink(Ctx().get(), g, &link).error_code(), grpc::StatusCode::NOT_FOUND);
  g.clear_as_of_position();
  g.set_min_position(last + 1000);
  EXPECT_EQ(queries_->GetLink(Ctx().get(), g, &link).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(ServerTest, ProjectionsAdminHealthAndRestart) {
  v1::CommandResponse c;
  ASSERT_TRUE(CreateLink("promo", &c).ok());
  ASSERT_TRUE(Click("promo", "DE", v1::MOBILE, std::nullopt, &c).ok());
  ASSERT_TRUE(server_->runtime().WaitFor("link_clicks", c.position(),
                                         absl::Now() + absl::Seconds(20)).ok());
  v1::ListProjectionsResponse list;
  ASSERT_TRUE(admin_->ListProjections(Ctx().get(), {}, &list).ok());
  ASSERT_EQ(list.projections_size(), 2);
  EXPECT_EQ(list.projections(0).name(), "link_clicks");
  EXPECT_EQ(list.projections(0).state(), "live");
  EXPECT_EQ(list.projections(0).version(), 1u);
  EXPECT_EQ(list.projections(0).checkpoint(), 2u);
  EXPECT_EQ(list.projections(0).head(), 2u);
  EXPECT_EQ(list.projections(0).lag(), 0u);
  EXPECT_EQ(list.projections(1).name(), "link_details");

  v1::RebuildProjectionRequest rb;
  rb.set_name("nope");
  v1::RebuildProjectionResponse rr;
  EXPECT_EQ(admin_->RebuildProjection(Ctx().get(), rb, &rr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  rb.set_name("link_clicks");
  EXPECT_TRUE(admin_->RebuildProjection(Ctx().get(), rb, &rr).ok());

  auto hc = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(hc);
  // The standard health service answers SERVING for the whole server ("").
  grpc::ByteBuffer request_buffer;
  grpc::ClientContext hctx;
  grpc::ByteBuffer reply;
  grpc::Status hs;
  {
    // HealthCheckRequest{service: ""} encodes as an empty message.
    grpc::Slice empty("", 0);
    request_buffer = grpc::ByteBuffer(&empty, 1);
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    generic.UnaryCall(&hctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request_buffer,
                      &reply, [&](grpc::Status st) {
                        std::lock_guard<std::mutex> l(m);
                        hs = st;
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [&] { return done; });
  }
  ASSERT_TRUE(hs.ok()) << hs.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING

  // Restart on the same data: everything is still there.
  server_->Shutdown();
  server_.reset();
  StartServer();
  EXPECT_EQ(server_->log().Head(), 2u);
  v1::GetLinkAnalyticsRequest q;
  q.set_link_id("promo");
  q.set_from_date("2024-03-10");
  q.set_to_date("2024-03-10");
  q.set_min_position(2);
  v1::GetLinkAnalyticsResponse a;
  ASSERT_TRUE(queries_->GetLinkAnalytics(Ctx().get(), q, &a).ok());
  EXPECT_EQ(a.total_clicks(), 1u);
}

// grpcurl and grpc_cli find the services through server reflection, which
// names each service after a registered method path (server/rpc_service.h
// registers them by hand; that every method is registered is checked when
// the server starts, RpcService::CheckComplete).
TEST_F(ServerTest, ReflectionListsEveryService) {
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  auto ctx = Ctx();
  auto call = generic.PrepareCall(ctx.get(),
                                  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                  &cq);
  auto step = [&cq](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(got), tag);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  grpc::Slice request_bytes(std::string("\x3A\x00", 2));
  grpc::ByteBuffer request(&request_bytes, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(step(5));
  ASSERT_TRUE(status.ok()) << status.error_message();

  grpc::Slice slice;
  ASSERT_TRUE(response.DumpToSingleSlice(&slice).ok());
  google::protobuf::UnknownFieldSet reply;
  ASSERT_TRUE(reply.ParseFromArray(slice.begin(), static_cast<int>(slice.size())));
  // ServerReflectionResponse.list_services_response (6) .service (1) .name (1)
  std::vector<std::string> names;
  for (int i = 0; i < reply.field_count(); ++i) {
    if (reply.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    ASSERT_TRUE(list.ParseFromString(reply.field(i).length_delimited()));
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      ASSERT_TRUE(service.ParseFromString(list.field(j).length_delimited()));
      ASSERT_EQ(service.field_count(), 1);
      names.push_back(service.field(0).length_delimited());
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ::testing::ElementsAre("grpc.health.v1.Health",
                                            "grpc.reflection.v1alpha.ServerReflection",
                                            "strata.v1.Admin", "strata.v1.LinkCommands",
                                            "strata.v1.LinkQueries", "strata.v1.ProjectionQueries",
                                            "strata.v1.Projections", "strata.v1.Streams"));
}

}  // namespace
}  // namespace strata::server
