// The KurrentDB client protocol (server/kurrent_service.h) over a real gRPC
// server on 127.0.0.1 with real RocksDB stores in a temp dir, driven by C++
// stubs generated from schemas/kurrent: appends with each expected-revision
// form, the wrong-expected-version answer, missing metadata and reserved
// streams refused, reads of a stream and of $all both ways with counts and
// filters, stream_not_found, subscriptions with confirmation, caught-up,
// checkpoints and live events, one event read identically through both
// protocols, soft delete and tombstone with the clients' error trailers, and
// stream metadata honoured by reads.
#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemas/kurrent/serverfeatures.grpc.pb.h"
#include "schemas/kurrent/streams.grpc.pb.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace es = ::event_store::client;
namespace v1 = ::strata::v1;
using es::streams::AppendReq;
using es::streams::AppendResp;
using es::streams::ReadReq;
using es::streams::ReadResp;

// Fixed server clock: 2024-03-10T12:00:00Z.
constexpr int64_t kNowUs = 1710072000LL * 1000000;

struct Proposed {
  std::string type;
  std::string data;
  std::string id = "";  // random when empty
  std::string content_type = "application/json";
  std::string custom_metadata = "";
};

class KurrentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.kurrent_listen = "127.0.0.1:0";
    options.log.clock_us = [this] { return now_us_.load(); };
    options.projections.logger = NullLogger();
    auto server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->kurrent_port(), 0);
    auto kurrent = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->kurrent_port()),
                                       grpc::InsecureChannelCredentials());
    streams_ = es::streams::Streams::NewStub(kurrent);
    features_ = es::server_features::ServerFeatures::NewStub(kurrent);
    strata_ = v1::Streams::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  static void Deadline(grpc::ClientContext* ctx, absl::Duration timeout = absl::Seconds(20)) {
    ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(timeout));
  }

  // An Append call: `options` first, then one message per event. `trailer`
  // receives the `exception` trailer, if any.
  grpc::Status Append(const AppendReq::Options& options, const std::vector<Proposed>& events,
                      AppendResp* resp, std::string* exception = nullptr) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto writer = streams_->Append(&ctx, resp);
    AppendReq req;
    *req.mutable_options() = options;
    EXPECT_TRUE(writer->Write(req));
    for (const Proposed& p : events) {
      AppendReq m;
      auto* e = m.mutable_proposed_message();
      e->mutable_id()->set_string(p.id.empty() ? EventId::Random().ToString() : p.id);
      if (!p.type.empty()) (*e->mutable_metadata())["type"] = p.type;
      if (!p.content_type.empty()) (*e->mutable_metadata())["content-type"] = p.content_type;
      e->set_data(p.data);
      e->set_custom_metadata(p.custom_metadata);
      if (!writer->Write(m)) break;
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (exception != nullptr) {
      auto it = ctx.GetServerTrailingMetadata().find("exception");
      *exception = it == ctx.GetServerTrailingMetadata().end()
                       ? ""
                       : std::string(it->second.data(), it->second.size());
    }
    return s;
  }

  static AppendReq::Options To(const std::string& stream) {
    AppendReq::Options o;
    o.mutable_stream_identifier()->set_stream_name(stream);
    return o;
  }

  // Appends `types` to `stream` with expected revision "any"; OK expected.
  void AppendTypes(const std::string& stream, const std::vector<std::string>& types) {
    std::vector<Proposed> events;
    for (const std::string& t : types) events.push_back({t, "{}"});
    AppendResp resp;
    AppendReq::Options o = To(stream);
    o.mutable_any();
    ASSERT_TRUE(Append(o, events, &resp).ok());
    ASSERT_TRUE(resp.has_success());
  }

  std::vector<ReadResp> Read(const ReadReq& req, grpc::Status* status) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto reader = streams_->Read(&ctx, req);
    std::vector<ReadResp> out;
    ReadResp m;
    while (reader->Read(&m)) out.push_back(m);
    *status = reader->Finish();
    return out;
  }

  static ReadReq StreamRead(const std::string& stream) {
    ReadReq req;
    auto* o = req.mutable_options();
    o->mutable_stream()->mutable_stream_identifier()->set_stream_name(stream);
    o->mutable_stream()->mutable_start();
    o->set_count(UINT64_MAX >> 11);  // 2^53 - 1, as the clients send
    o->mutable_uuid_option()->mutable_string();
    o->mutable_no_filter();
    return req;
  }

  static ReadReq AllRead() {
    ReadReq req;
    auto* o = req.mutable_options();
    o->mutable_all()->mutable_start();
    o->set_count(UINT64_MAX >> 11);
    o->mutable_uuid_option()->mutable_string();
    o->mutable_no_filter();
    return req;
  }

  // Revisions (a stream read) or positions ($all) of the events read.
  static std::vector<uint64_t> Revisions(const std::vector<ReadResp>& msgs) {
    std::vector<uint64_t> out;
    for (const ReadResp& m : msgs) {
      if (m.has_event()) out.push_back(m.event().event().stream_revision());
    }
    return out;
  }
  static std::vector<uint64_t> Positions(const std::vector<ReadResp>& msgs) {
    std::vector<uint64_t> out;
    for (const ReadResp& m : msgs) {
      if (m.has_event()) out.push_back(m.event().commit_position());
    }
    return out;
  }

  strata::testing::TempDir dir_;
  std::atomic<int64_t> now_us_{kNowUs};  // the server's clock
  std::unique_ptr<StrataServer> server_;
  std::unique_ptr<es::streams::Streams::Stub> streams_;
  std::unique_ptr<es::server_features::ServerFeatures::Stub> features_;
  std::unique_ptr<v1::Streams::Stub> strata_;
};

TEST_F(KurrentServiceTest, AppendsWithEachExpectedRevisionForm) {
  AppendResp resp;
  AppendReq::Options o = To("order-1");
  o.mutable_no_stream();
  ASSERT_TRUE(Append(o, {{"OrderPlaced", "{}"}, {"OrderPaid", "{}"}}, &resp).ok());
  ASSERT_TRUE(resp.has_success());
  EXPECT_EQ(resp.success().current_revision(), 1u);
  EXPECT_EQ(resp.success().position().commit_position(), 2u);
  EXPECT_EQ(resp.success().position().prepare_position(), 2u);

  // A wrong expectation is an OK call carrying wrong_expected_version.
  resp.Clear();
  ASSERT_TRUE(Append(o, {{"X", "{}"}}, &resp).ok());
  ASSERT_TRUE(resp.has_wrong_expected_version());
  EXPECT_EQ(resp.wrong_expected_version().current_revision(), 1u);
  EXPECT_TRUE(resp.wrong_expected_version().has_expected_no_stream());

  o.set_revision(7);
  resp.Clear();
  ASSERT_TRUE(Append(o, {{"X", "{}"}}, &resp).ok());
  ASSERT_TRUE(resp.has_wrong_expected_version());
  EXPECT_EQ(resp.wrong_expected_version().current_revision(), 1u);
  EXPECT_EQ(resp.wrong_expected_version().expected_revision(), 7u);

  o.set_revision(1);
  resp.Clear();
  ASSERT_TRUE(Append(o, {{"OrderShipped", "{}"}}, &resp).ok());
  EXPECT_EQ(resp.success().current_revision(), 2u);
  EXPECT_EQ(resp.success().position().commit_position(), 3u);

  AppendReq::Options missing = To("order-2");
  missing.mutable_stream_exists();
  resp.Clear();
  ASSERT_TRUE(Append(missing, {{"X", "{}"}}, &resp).ok());
  ASSERT_TRUE(resp.has_wrong_expected_version());
  EXPECT_TRUE(resp.wrong_expected_version().has_current_no_stream());
  EXPECT_TRUE(resp.wrong_expected_version().has_expected_stream_exists());

  // No events: only the expectation is checked.
  resp.Clear();
  AppendReq::Options exists = To("order-1");
  exists.mutable_stream_exists();
  ASSERT_TRUE(Append(exists, {}, &resp).ok());
  EXPECT_EQ(resp.success().current_revision(), 2u);
  EXPECT_EQ(server_->log().Head(), 3u);
}

TEST_F(KurrentServiceTest, BadAppendsAreRefusedNamingTheFieldAndWriteNothing) {
  AppendResp resp;
  std::string exception;
  AppendReq::Options o = To("order-1");
  grpc::Status s = Append(o, {{"", "{}"}}, &resp, &exception);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "proposed_message[0].metadata: 'type' is required");
  EXPECT_EQ(exception, "missing-required-metadata-property");

  s = Append(o, {{"T", "{}", "", ""}}, &resp, &exception);
  EXPECT_EQ(s.error_message(), "proposed_message[0].metadata: 'content-type' is required");
  EXPECT_EQ(exception, "missing-required-metadata-property");

  s = Append(o, {{"T", "{}", "not-a-uuid"}}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "proposed_message[0].id: not a UUID");

  s = Append(To("link-abc"), {{"T", "{}"}}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("'link-abc' starts with 'link-'"));

  s = Append(To("$et-Placed"), {{"T", "{}"}}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("reserved for the system's own streams"));

  s = Append(To("$$order-1"), {{"T", "{}"}}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "events[0].type: metastream '$$order-1' holds only '$metadata' events, not 'T' (a "
            "stream is deleted through DeleteStream)");

  // A call cancelled before it half-closes writes nothing, even with events.
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto writer = streams_->Append(&ctx, &resp);
    AppendReq m;
    *m.mutable_options() = To("order-1");
    ASSERT_TRUE(writer->Write(m));
    AppendReq e;
    e.mutable_proposed_message()->mutable_id()->set_string(EventId::Random().ToString());
    (*e.mutable_proposed_message()->mutable_metadata())["type"] = "T";
    (*e.mutable_proposed_message()->mutable_metadata())["content-type"] = "text/plain";
    ASSERT_TRUE(writer->Write(e));
    ctx.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  absl::SleepFor(absl::Milliseconds(200));  // the server saw the cancel

  // No options first.
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto writer = streams_->Append(&ctx, &resp);
    AppendReq m;
    (*m.mutable_proposed_message()->mutable_metadata())["type"] = "T";
    writer->Write(m);
    writer->WritesDone();
    s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "options: the first message of an append must carry the options");
  }
  EXPECT_EQ(server_->log().Head(), 0u);
}

TEST_F(KurrentServiceTest, AnEventReadsTheSameThroughBothProtocols) {
  const std::string id = "3f1e2d4c-5b6a-4789-8abc-def012345678";
  AppendResp resp;
  ASSERT_TRUE(Append(To("order-9"), {{"OrderPlaced", R"({"total":5})", id, "application/json",
                                      "meta"}},
                     &resp)
                  .ok());

  // Through strata.v1.
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::ReadStreamRequest req;
  req.set_stream("order-9");
  auto reader = strata_->ReadStream(&ctx, req);
  v1::ReadStreamResponse m;
  ASSERT_TRUE(reader->Read(&m));
  ASSERT_EQ(m.events_size(), 1);
  const v1::RecordedEvent& s = m.events(0);
  EXPECT_EQ(s.event_id(), id);
  EXPECT_EQ(s.type(), "OrderPlaced");
  EXPECT_EQ(s.content_type(), "application/json");
  EXPECT_EQ(s.data(), R"({"total":5})");
  EXPECT_EQ(s.metadata(), "meta");
  EXPECT_EQ(s.position(), 1u);
  EXPECT_EQ(s.version(), 0u);
  EXPECT_EQ(s.recorded_at(), kNowUs);
  while (reader->Read(&m)) {
  }
  ASSERT_TRUE(reader->Finish().ok());

  // Appended through strata.v1, read through KurrentDB's Read.
  v1::AppendRequest append;
  append.set_stream("order-9");
  append.mutable_expected_version()->set_kind(v1::ExpectedVersion::EXACT);
  append.mutable_expected_version()->set_version(0);
  auto* e = append.add_events();
  e->set_type("Bin");
  e->set_event_id("00000000-0000-4000-8000-0000000000b1");
  e->set_data(std::string("\0\1\2", 3));
  v1::AppendResponse appended;
  grpc::ClientContext actx;
  Deadline(&actx);
  ASSERT_TRUE(strata_->Append(&actx, append, &appended).ok());

  grpc::Status status;
  std::vector<ReadResp> msgs = Read(StreamRead("order-9"), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(msgs.size(), 2u);
  const auto& k0 = msgs[0].event().event();
  EXPECT_EQ(k0.id().string(), id);
  EXPECT_EQ(k0.stream_identifier().stream_name(), "order-9");
  EXPECT_EQ(k0.stream_revision(), 0u);
  EXPECT_EQ(k0.commit_position(), 1u);
  EXPECT_EQ(k0.prepare_position(), 1u);
  EXPECT_EQ(k0.metadata().at("type"), "OrderPlaced");
  EXPECT_EQ(k0.metadata().at("content-type"), "application/json");
  EXPECT_EQ(k0.metadata().at("created"), absl::StrCat(kNowUs * 10));
  EXPECT_EQ(k0.custom_metadata(), "meta");
  EXPECT_EQ(k0.data(), R"({"total":5})");
  EXPECT_EQ(msgs[0].event().commit_position(), 1u);
  const auto& k1 = msgs[1].event().event();
  EXPECT_EQ(k1.id().string(), "00000000-0000-4000-8000-0000000000b1");
  EXPECT_EQ(k1.metadata().at("type"), "Bin");
  EXPECT_EQ(k1.metadata().at("content-type"), "application/octet-stream");
  EXPECT_EQ(k1.data(), std::string("\0\1\2", 3));
  EXPECT_EQ(k1.stream_revision(), 1u);
  EXPECT_EQ(k1.commit_position(), 2u);

  // The structured id form, when asked for.
  ReadReq structured = StreamRead("order-9");
  structured.mutable_options()->mutable_uuid_option()->mutable_structured();
  structured.mutable_options()->set_count(1);
  msgs = Read(structured, &status);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].event().event().id().structured().most_significant_bits(),
            static_cast<int64_t>(0x3f1e2d4c5b6a4789ULL));
  EXPECT_EQ(msgs[0].event().event().id().structured().least_significant_bits(),
            static_cast<int64_t>(0x8abcdef012345678ULL));
}

TEST_F(KurrentServiceTest, ReadsStreamsAndAllBothWaysWithCountsAndFilters) {
  AppendTypes("order-1", {"OrderPlaced", "OrderPaid", "OrderShipped"});  // 1..3
  AppendTypes("cart-1", {"ItemAdded", "ItemAdded"});                      // 4..5
  AppendTypes("order-2", {"OrderPlaced"});                                // 6
  grpc::Status status;

  ReadReq req = StreamRead("order-1");
  EXPECT_THAT(Revisions(Read(req, &status)), ElementsAre(0, 1, 2));
  req.mutable_options()->mutable_stream()->set_revision(1);
  EXPECT_THAT(Revisions(Read(req, &status)), ElementsAre(1, 2));
  req.mutable_options()->set_read_direction(ReadReq::Options::Backwards);
  EXPECT_THAT(Revisions(Read(req, &status)), ElementsAre(1, 0));
  req.mutable_options()->mutable_stream()->mutable_end();
  req.mutable_options()->set_count(2);
  EXPECT_THAT(Revisions(Read(req, &status)), ElementsAre(2, 1));
  req.mutable_options()->set_read_direction(ReadReq::Options::Forwards);
  EXPECT_THAT(Revisions(Read(req, &status)), ElementsAre());
  EXPECT_TRUE(status.ok());
  req.mutable_options()->set_read_direction(ReadReq::Options::Backwards);
  req.mutable_options()->mutable_stream()->mutable_start();
  EXPECT_THAT(Revisions(Read(req, &status)), ElementsAre(0));  // the first event alone

  // A stream never written: one stream_not_found message, then OK.
  std::vector<ReadResp> msgs = Read(StreamRead("order-404"), &status);
  EXPECT_TRUE(status.ok());
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].stream_not_found().stream_identifier().stream_name(), "order-404");

  req = AllRead();
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(1, 2, 3, 4, 5, 6));
  req.mutable_options()->mutable_all()->mutable_position()->set_commit_position(3);
  req.mutable_options()->mutable_all()->mutable_position()->set_prepare_position(3);
  req.mutable_options()->set_count(2);
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(3, 4));  // from a position: inclusive
  req.mutable_options()->set_read_direction(ReadReq::Options::Backwards);
  req.mutable_options()->set_count(10);
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(2, 1));  // backwards: before it
  req.mutable_options()->mutable_all()->mutable_end();
  req.mutable_options()->set_count(4);
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(6, 5, 4, 3));

  // Filters: stream-name prefixes, an event-type regex, with a count.
  req = AllRead();
  auto* f = req.mutable_options()->mutable_filter();
  f->mutable_stream_identifier()->add_prefix("cart-");
  f->mutable_stream_identifier()->add_prefix("order-2");
  f->mutable_count();
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(4, 5, 6));
  req = AllRead();
  f = req.mutable_options()->mutable_filter();
  f->mutable_event_type()->set_regex("^Order(Placed|Shipped)$");
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(1, 3, 6));
  req.mutable_options()->set_count(2);
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(1, 3));
  req.mutable_options()->set_read_direction(ReadReq::Options::Backwards);
  req.mutable_options()->mutable_all()->mutable_end();
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre(6, 3));
  EXPECT_TRUE(status.ok());

  f->mutable_event_type()->set_regex("([a-z");
  msgs = Read(req, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("options.filter.regex: '([a-z' is not valid"));
  EXPECT_TRUE(msgs.empty());
  // A pattern that backtracking engines take exponential time on runs in
  // linear time (RE2); an oversized one is refused.
  f->mutable_event_type()->set_regex("^(a|a)*b$");
  EXPECT_THAT(Positions(Read(req, &status)), ElementsAre());
  EXPECT_TRUE(status.ok()) << status.error_message();
  f->mutable_event_type()->set_regex(std::string(1025, 'a'));
  Read(req, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "options.filter.regex: 1025 bytes; at most 1024");

  req = StreamRead("");
  Read(req, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// What a subscription sent next, one word per message: "confirmation",
// "stream@revision/position", "caught_up", "checkpoint P" or "end".
// A message of a Read: "confirmation", "<stream>@<revision>/<position>",
// "caught_up", "checkpoint <position>".
std::string Described(const ReadResp& m) {
  switch (m.content_case()) {
    case ReadResp::kConfirmation:
      return m.confirmation().subscription_id().size() == 36 ? "confirmation" : "bad id";
    case ReadResp::kEvent:
      return absl::StrCat(m.event().event().stream_identifier().stream_name(), "@",
                          m.event().event().stream_revision(), "/", m.event().commit_position());
    case ReadResp::kCaughtUp:
      return "caught_up";
    case ReadResp::kCheckpoint:
      return absl::StrCat("checkpoint ", m.checkpoint().commit_position());
    default:
      return absl::StrCat("content ", m.content_case());
  }
}

std::string NextMessage(grpc::ClientReader<ReadResp>* r) {
  ReadResp m;
  return r->Read(&m) ? Described(m) : "end";
}

// The first `n` messages of a subscription to `stream`, from revision 0
// (exclusive) when `from_revision`, else from the start; then it cancels.
std::vector<std::string> FirstMessages(es::streams::Streams::Stub* streams,
                                       const std::string& stream, bool from_revision, int n) {
  ReadReq sub;
  auto* o = sub.mutable_options();
  o->mutable_stream()->mutable_stream_identifier()->set_stream_name(stream);
  if (from_revision) {
    o->mutable_stream()->set_revision(0);
  } else {
    o->mutable_stream()->mutable_start();
  }
  o->mutable_uuid_option()->mutable_string();
  o->mutable_no_filter();
  o->mutable_subscription();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = streams->Read(&ctx, sub);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(NextMessage(reader.get()));
  ctx.TryCancel();
  return out;
}

TEST_F(KurrentServiceTest, SubscriptionsConfirmCatchUpSayCaughtUpOnceAndGoLive) {
  AppendTypes("order-1", {"OrderPlaced", "OrderPaid"});  // 1, 2
  AppendTypes("cart-1", {"ItemAdded"});                  // 3

  // A stream, from revision 0 (exclusive).
  ReadReq req = StreamRead("order-1");
  req.mutable_options()->mutable_stream()->set_revision(0);
  req.mutable_options()->mutable_subscription();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto reader = streams_->Read(&ctx, req);
  auto next = [](grpc::ClientReader<ReadResp>* r) { return NextMessage(r); };
  EXPECT_EQ(next(reader.get()), "confirmation");
  EXPECT_EQ(next(reader.get()), "order-1@1/2");
  EXPECT_EQ(next(reader.get()), "caught_up");
  AppendTypes("cart-1", {"ItemAdded"});      // 4: another stream
  AppendTypes("order-10", {"OrderPlaced"});  // 5: a stream whose name extends it
  AppendTypes("order-1", {"OrderShipped"});  // 6
  EXPECT_EQ(next(reader.get()), "order-1@2/6");
  ctx.TryCancel();
  EXPECT_EQ(next(reader.get()), "end");
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // $all with an event-type filter and a window of 2: a checkpoint after
  // every 2 events scanned, after the events before it.
  ReadReq all = AllRead();
  all.mutable_options()->mutable_subscription();
  auto* f = all.mutable_options()->mutable_filter();
  f->mutable_event_type()->add_prefix("Order");
  f->set_max(2);
  f->set_checkpointintervalmultiplier(1);
  grpc::ClientContext all_ctx;
  Deadline(&all_ctx);
  auto all_reader = streams_->Read(&all_ctx, all);
  std::vector<std::string> seen;
  for (int i = 0; i < 9; ++i) seen.push_back(next(all_reader.get()));
  EXPECT_THAT(seen, ElementsAre("confirmation", "order-1@0/1", "order-1@1/2", "checkpoint 2",
                                "checkpoint 4", "order-10@0/5", "order-1@2/6", "checkpoint 6",
                                "caught_up"));
  AppendTypes("order-3", {"OrderPlaced"});  // 7, live
  EXPECT_EQ(next(all_reader.get()), "order-3@0/7");
  all_ctx.TryCancel();
  EXPECT_EQ(next(all_reader.get()), "end");

  // From a revision past the stream's end: only later revisions.
  ReadReq past = StreamRead("order-1");
  past.mutable_options()->mutable_stream()->set_revision(3);
  past.mutable_options()->mutable_subscription();
  grpc::ClientContext past_ctx;
  Deadline(&past_ctx);
  auto past_reader = streams_->Read(&past_ctx, past);
  EXPECT_EQ(next(past_reader.get()), "confirmation");
  EXPECT_EQ(next(past_reader.get()), "caught_up");
  AppendTypes("order-1", {"A", "B"});  // revisions 3 (skipped) and 4: positions 8, 9
  EXPECT_EQ(next(past_reader.get()), "order-1@4/9");
  past_ctx.TryCancel();
  EXPECT_EQ(next(past_reader.get()), "end");

  // From the end: only live events; a stream that does not exist yet.
  ReadReq later = StreamRead("later-1");
  later.mutable_options()->mutable_stream()->mutable_end();
  later.mutable_options()->mutable_subscription();
  grpc::ClientContext later_ctx;
  Deadline(&later_ctx);
  auto later_reader = streams_->Read(&later_ctx, later);
  EXPECT_EQ(next(later_reader.get()), "confirmation");
  EXPECT_EQ(next(later_reader.get()), "caught_up");
  AppendTypes("later-1", {"Arrived"});  // 10
  EXPECT_EQ(next(later_reader.get()), "later-1@0/10");
  later_ctx.TryCancel();
  EXPECT_EQ(next(later_reader.get()), "end");
}

TEST_F(KurrentServiceTest, FeaturesListWhatIsImplementedAndTheRestSaysSo) {
  grpc::ClientContext ctx;
  Deadline(&ctx);
  es::server_features::SupportedMethods methods;
  ASSERT_TRUE(features_->GetSupportedMethods(&ctx, es::Empty(), &methods).ok());
  EXPECT_EQ(methods.event_store_server_version(), "24.10.0");
  std::vector<std::string> names;
  for (const auto& m : methods.methods()) {
    names.push_back(absl::StrCat(m.service_name(), "/", m.method_name()));
  }
  EXPECT_THAT(names, ElementsAre("event_store.client.streams.streams/read",
                                 "event_store.client.streams.streams/append",
                                 "event_store.client.streams.streams/delete",
                                 "event_store.client.streams.streams/tombstone"));
}

// The trailers a call ended with, "key=value" sorted by key.
std::vector<std::string> Trailers(const grpc::ClientContext& ctx) {
  std::vector<std::string> out;
  for (const auto& [key, value] : ctx.GetServerTrailingMetadata()) {
    out.push_back(absl::StrCat(absl::string_view(key.data(), key.size()), "=",
                               absl::string_view(value.data(), value.size())));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(KurrentServiceTest, DeleteAndTombstoneAnswerAsTheClientsExpectThroughBothProtocols) {
  AppendTypes("order-1", {"Placed", "Paid", "Shipped"});  // positions 1-3, revisions 0-2

  // A stale expected revision is an error with the clients' trailers.
  uint64_t position = 0;
  auto remove = [&](const auto& options, bool tombstone, grpc::ClientContext* ctx) {
    Deadline(ctx);
    grpc::Status s;
    if (tombstone) {
      es::streams::TombstoneReq req;
      req.mutable_options()->ParseFromString(options.SerializeAsString());  // same fields
      req.mutable_options()->mutable_stream_identifier()->set_stream_name("order-1");
      es::streams::TombstoneResp resp;
      s = streams_->Tombstone(ctx, req, &resp);
      position = resp.position().commit_position();
    } else {
      es::streams::DeleteReq req;
      req.mutable_options()->ParseFromString(options.SerializeAsString());  // same fields
      req.mutable_options()->mutable_stream_identifier()->set_stream_name("order-1");
      es::streams::DeleteResp resp;
      s = streams_->Delete(ctx, req, &resp);
      position = resp.position().commit_position();
    }
    return s;
  };
  es::streams::DeleteReq::Options stale;
  stale.set_revision(1);
  grpc::ClientContext stale_ctx;
  grpc::Status s = remove(stale, false, &stale_ctx);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "delete stream 'order-1': expected version 1, stream is at 2");
  EXPECT_THAT(Trailers(stale_ctx),
              ElementsAre("actual-version=2", "exception=wrong-expected-version",
                          "expected-version=1", "stream-name=order-1"));

  // Soft delete: reads find nothing; an append continues the revisions.
  es::streams::DeleteReq::Options del;
  del.set_revision(2);
  grpc::ClientContext del_ctx;
  ASSERT_TRUE(remove(del, false, &del_ctx).ok());
  EXPECT_EQ(position, 4u);
  grpc::Status read_status;
  std::vector<ReadResp> read = Read(StreamRead("order-1"), &read_status);
  EXPECT_TRUE(read_status.ok()) << read_status.error_message();
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].stream_not_found().stream_identifier().stream_name(), "order-1");
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ReadStreamRequest req;
    req.set_stream("order-1");
    auto reader = strata_->ReadStream(&ctx, req);
    v1::ReadStreamResponse m;
    while (reader->Read(&m)) {
    }
    grpc::Status strata_status = reader->Finish();
    EXPECT_EQ(strata_status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(strata_status.error_message(),
              "stream 'order-1' is deleted (its versions up to 2 are truncated by $tb 3)");
  }
  AppendResp appended;
  AppendReq::Options after = To("order-1");
  after.set_revision(2);
  ASSERT_TRUE(Append(after, {{"Reopened", "{}"}}, &appended).ok());
  EXPECT_EQ(appended.success().current_revision(), 3u);
  EXPECT_THAT(Revisions(Read(StreamRead("order-1"), &read_status)), ElementsAre(3));

  // Tombstone: reads and appends fail with stream-deleted, for good.
  es::streams::DeleteReq::Options tomb;
  tomb.mutable_any();
  grpc::ClientContext tomb_ctx;
  ASSERT_TRUE(remove(tomb, true, &tomb_ctx).ok());
  EXPECT_EQ(position, 6u);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto reader = streams_->Read(&ctx, StreamRead("order-1"));
    ReadResp m;
    EXPECT_FALSE(reader->Read(&m));
    grpc::Status deleted = reader->Finish();
    EXPECT_EQ(deleted.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(deleted.error_message(), "stream 'order-1' is deleted (tombstoned at position 6)");
    EXPECT_THAT(Trailers(ctx), ElementsAre("exception=stream-deleted", "stream-name=order-1"));
  }
  std::string exception;
  AppendReq::Options any = To("order-1");
  any.mutable_any();
  grpc::Status refused = Append(any, {{"Late", "{}"}}, &appended, &exception);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(exception, "stream-deleted");
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::DeleteStreamRequest req;
    req.set_stream("order-1");
    req.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
    v1::DeleteStreamResponse resp;
    grpc::Status again = strata_->DeleteStream(&ctx, req, &resp);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(again.error_message(),
              "delete stream 'order-1': stream 'order-1' is deleted (tombstoned) for good");
  }
}

TEST_F(KurrentServiceTest, StreamMetadataIsAnAppendToTheMetastreamAndReadsHonourIt) {
  // setStreamMetadata as the clients send it.
  AppendResp resp;
  AppendReq::Options meta = To("$$order-2");
  meta.mutable_any();
  ASSERT_TRUE(Append(meta, {{"$metadata", R"({"$maxCount":2,"owner":"ops"})"}}, &resp).ok());
  ASSERT_TRUE(resp.has_success());
  AppendTypes("order-2", {"A", "B", "C", "D"});
  grpc::Status status;
  EXPECT_THAT(Revisions(Read(StreamRead("order-2"), &status)), ElementsAre(2, 3));
  // getStreamMetadata: the metastream's last event.
  ReadReq last = StreamRead("$$order-2");
  last.mutable_options()->set_read_direction(ReadReq::Options::Backwards);
  last.mutable_options()->mutable_stream()->mutable_end();
  last.mutable_options()->set_count(1);
  std::vector<ReadResp> got = Read(last, &status);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().event().data(), R"({"$maxCount":2,"owner":"ops"})");
  EXPECT_EQ(got[0].event().event().metadata().at("type"), "$metadata");

  // A subscription's catch-up skips what the metadata truncates, as a read.
  for (bool from_revision : {false, true}) {
    SCOPED_TRACE(from_revision ? "from revision 0" : "from the start");
    EXPECT_THAT(FirstMessages(streams_.get(), "order-2", from_revision, 4),
                ElementsAre("confirmation", "order-2@2/4", "order-2@3/5", "caught_up"));
  }

  // Invalid metadata, or a system stream's, is refused naming the field.
  std::string exception;
  grpc::Status bad = Append(meta, {{"$metadata", R"({"$maxAge":2.5})"}}, &resp, &exception);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message(), "events[0].data.$maxAge: must be an integer >= 1, not 2.5");
  grpc::Status system = Append(To("$$$all"), {{"$metadata", "{}"}}, &resp);
  EXPECT_EQ(system.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(system.error_message(),
            "stream: '$$$all': names starting with '$' are reserved for the system's own "
            "streams (a stream's metadata goes to '$$<stream>')");
}

// $maxAge hides old events from reads and from a subscription's catch-up.
TEST_F(KurrentServiceTest, MaxAgeHidesOldEventsFromReadsAndSubscriptionCatchUp) {
  AppendTypes("aged-1", {"A", "B", "C"});  // 1-3, recorded at kNowUs
  now_us_ += 100'000'000;                  // 100 s later
  AppendTypes("aged-1", {"D", "E"});       // 4-5
  AppendResp resp;
  AppendReq::Options meta = To("$$aged-1");
  meta.mutable_any();
  ASSERT_TRUE(Append(meta, {{"$metadata", R"({"$maxAge":50})"}}, &resp).ok());  // 6
  grpc::Status status;
  EXPECT_THAT(Revisions(Read(StreamRead("aged-1"), &status)), ElementsAre(3, 4));
  for (bool from_revision : {false, true}) {
    SCOPED_TRACE(from_revision ? "from revision 0" : "from the start");
    EXPECT_THAT(FirstMessages(streams_.get(), "aged-1", from_revision, 4),
                ElementsAre("confirmation", "aged-1@3/4", "aged-1@4/5", "caught_up"));
  }
  // All of it aged: catch-up sends nothing, live events still arrive.
  now_us_ += 100'000'000;
  ReadReq sub = StreamRead("aged-1");
  sub.mutable_options()->mutable_subscription();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto reader = streams_->Read(&ctx, sub);
  EXPECT_EQ(NextMessage(reader.get()), "confirmation");
  EXPECT_EQ(NextMessage(reader.get()), "caught_up");
  AppendTypes("aged-1", {"F"});  // 7
  EXPECT_EQ(NextMessage(reader.get()), "aged-1@5/7");
  ctx.TryCancel();
}

// An event read through $ce-/$et-: "<index>@<revision> -> <stream>@<revision>/<position>"
// when resolved, else the link itself: "<index>@<revision> $> <data>/<position>".
std::string Linked(const ReadResp& m) {
  if (!m.has_event()) return Described(m);
  const ReadResp::ReadEvent& e = m.event();
  const auto& event = e.event();
  if (e.has_link()) {
    return absl::StrCat(e.link().stream_identifier().stream_name(), "@", e.link().stream_revision(),
                        " -> ", event.stream_identifier().stream_name(), "@",
                        event.stream_revision(), "/", e.commit_position());
  }
  return absl::StrCat(event.stream_identifier().stream_name(), "@", event.stream_revision(), " ",
                      event.metadata().at("type"), " ", event.data(), "/", e.commit_position());
}

TEST_F(KurrentServiceTest, CategoryAndTypeStreamsAreLinksReadAndSubscribedTo) {
  AppendTypes("order-1", {"OrderPlaced", "OrderPaid"});  // 1, 2
  AppendTypes("cart-1", {"ItemAdded"});                  // 3
  AppendTypes("order-2", {"OrderPlaced"});               // 4
  auto linked = [](const std::vector<ReadResp>& msgs) {
    std::vector<std::string> out;
    for (const ReadResp& m : msgs) out.push_back(Linked(m));
    return out;
  };
  grpc::Status status;

  // Resolved: each event with its link.
  ReadReq resolved = StreamRead("$ce-order");
  resolved.mutable_options()->set_resolve_links(true);
  std::vector<ReadResp> got = Read(resolved, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(linked(got), ElementsAre("$ce-order@0 -> order-1@0/1", "$ce-order@1 -> order-1@1/2",
                                       "$ce-order@2 -> order-2@0/4"));
  const auto& link = got[0].event().link();
  EXPECT_EQ(link.metadata().at("type"), "$>");
  EXPECT_EQ(link.data(), "0@order-1");
  EXPECT_EQ(link.commit_position(), 1u);
  EXPECT_NE(link.id().string(), got[0].event().event().id().string());
  EXPECT_EQ(got[0].event().event().metadata().at("type"), "OrderPlaced");
  // Not resolved: the link alone, with the same id.
  ReadReq links = StreamRead("$ce-order");
  std::vector<ReadResp> unresolved = Read(links, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(linked(unresolved),
              ElementsAre("$ce-order@0 $> 0@order-1/1", "$ce-order@1 $> 1@order-1/2",
                          "$ce-order@2 $> 0@order-2/4"));
  EXPECT_EQ(unresolved[0].event().event().id().string(), link.id().string());
  // Backwards from the end, one event; an index with nothing in it.
  ReadReq last = StreamRead("$et-OrderPlaced");
  last.mutable_options()->set_resolve_links(true);
  last.mutable_options()->set_read_direction(ReadReq::Options::Backwards);
  last.mutable_options()->mutable_stream()->mutable_end();
  last.mutable_options()->set_count(1);
  EXPECT_THAT(linked(Read(last, &status)), ElementsAre("$et-OrderPlaced@1 -> order-2@0/4"));
  got = Read(StreamRead("$ce-nobody"), &status);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].has_stream_not_found());

  // Subscriptions: from a revision (exclusive) and from the start, numbered
  // on through catch-up and live events.
  ReadReq from_one = StreamRead("$ce-order");
  from_one.mutable_options()->set_resolve_links(true);
  from_one.mutable_options()->mutable_stream()->set_revision(0);
  from_one.mutable_options()->mutable_subscription();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto reader = streams_->Read(&ctx, from_one);
  ReadReq items = StreamRead("$et-ItemAdded");
  items.mutable_options()->set_resolve_links(true);
  items.mutable_options()->mutable_subscription();
  grpc::ClientContext items_ctx;
  Deadline(&items_ctx);
  auto items_reader = streams_->Read(&items_ctx, items);
  auto next = [](grpc::ClientReader<ReadResp>* r) {
    ReadResp m;
    return r->Read(&m) ? Linked(m) : "end";
  };
  EXPECT_EQ(next(reader.get()), "confirmation");
  EXPECT_EQ(next(reader.get()), "$ce-order@1 -> order-1@1/2");
  EXPECT_EQ(next(reader.get()), "$ce-order@2 -> order-2@0/4");
  EXPECT_EQ(next(reader.get()), "caught_up");
  EXPECT_EQ(next(items_reader.get()), "confirmation");
  EXPECT_EQ(next(items_reader.get()), "$et-ItemAdded@0 -> cart-1@0/3");
  EXPECT_EQ(next(items_reader.get()), "caught_up");
  AppendTypes("cart-2", {"ItemAdded"});      // 5
  AppendTypes("orders-1", {"OrderPlaced"});  // 6: another category
  AppendTypes("order-3", {"ItemAdded"});     // 7: in both
  EXPECT_EQ(next(reader.get()), "$ce-order@3 -> order-3@0/7");
  EXPECT_EQ(next(items_reader.get()), "$et-ItemAdded@1 -> cart-2@0/5");
  EXPECT_EQ(next(items_reader.get()), "$et-ItemAdded@2 -> order-3@0/7");
  ctx.TryCancel();
  items_ctx.TryCancel();
  EXPECT_EQ(next(reader.get()), "end");
  EXPECT_EQ(next(items_reader.get()), "end");

  // The same index through strata.v1, with each event's version in it; and
  // it is read-only through both protocols.
  grpc::ClientContext v1_ctx;
  Deadline(&v1_ctx);
  v1::ReadStreamRequest v1_req;
  v1_req.set_stream("$ce-order");
  v1_req.set_from_version(2);
  auto v1_reader = strata_->ReadStream(&v1_ctx, v1_req);
  std::vector<std::string> v1_seen;
  v1::ReadStreamResponse v1_page;
  while (v1_reader->Read(&v1_page)) {
    for (const v1::RecordedEvent& e : v1_page.events()) {
      v1_seen.push_back(absl::StrCat(e.index_version(), ":", e.stream(), "@", e.version()));
    }
  }
  ASSERT_TRUE(v1_reader->Finish().ok());
  EXPECT_THAT(v1_seen, ElementsAre("2:order-2@0", "3:order-3@0"));
  AppendResp resp;
  AppendReq::Options to_index = To("$ce-order");
  to_index.mutable_any();
  EXPECT_EQ(Append(to_index, {{"OrderPlaced", "{}"}}, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace strata::server
