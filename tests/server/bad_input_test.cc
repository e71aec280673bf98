// API robustness: malformed requests against a real in-process server
// (127.0.0.1, port 0, real RocksDB stores in a temp dir).
//
// BadInputTest.TableOfMalformedRequests runs one table of requests. Each row
// asserts the exact gRPC status code, that the message names the offending
// field (a substring), and that the log's head moved by exactly the events the
// row is meant to write (0 for every rejection: no partial write). After the
// table the whole log is read back (dense positions, nothing from a rejected
// request) and a normal client is still served. Observed codes and messages
// are printed as a table.
//
// The flood tests open 200 idle connections and 200 Subscribe streams that
// never read, then check that a normal client's Append and GetLink succeed
// within 5 s and that the server shuts down cleanly, with the streams closed
// first and with them still open.
//
// Notes on what the transport does before Strata's handlers run (observed
// with gRPC 1.51 / Protobuf 3.21):
//  - invalid UTF-8 in a proto3 `string` field: the client serializes it
//    anyway (logging a protobuf ERROR) and protobuf's parser on the server
//    refuses the request. Strata's services parse requests themselves
//    (server/rpc_service.h), so the answer is INVALID_ARGUMENT naming the
//    field, for callback and sync methods alike, instead of gRPC's default
//    (UNIMPLEMENTED or INTERNAL with an empty message). The same holds for
//    bytes that are not a protobuf message at all (the raw rows below).
//  - a request over ServerOptions.max_receive_message_bytes: RESOURCE_EXHAUSTED
//    "Received message larger than max (N vs. M)" from gRPC; the handler never
//    runs.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
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
constexpr int kMaxReceiveBytes = 4 << 20;  // small, so the over-the-limit rows stay cheap
constexpr size_t kEventBytesMax = 1 << 20;
constexpr char kDupId[] = "6f1c2a52-8f0e-4d55-9a3e-2b7c1d9e0f11";

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "?";
  }
}

std::chrono::system_clock::time_point In(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

// A channel with its own connection (gRPC shares subchannels between channels
// with equal arguments unless told not to).
std::shared_ptr<grpc::Channel> OwnChannel(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

v1::AppendRequest MakeAppend(const std::string& stream, int n,
                             v1::ExpectedVersion::Kind kind = v1::ExpectedVersion::ANY,
                             uint64_t version = 0) {
  v1::AppendRequest req;
  req.set_stream(stream);
  req.mutable_expected_version()->set_kind(kind);
  req.mutable_expected_version()->set_version(version);
  for (int i = 0; i < n; ++i) {
    auto* e = req.add_events();
    e->set_type("Thing");
    e->set_content_type("application/json");
    e->set_data(absl::StrCat("{\"i\":", i, "}"));
  }
  return req;
}

// Grows or shrinks the last event's data until the request serializes to
// exactly `target` bytes (the length prefixes may change size on the way).
void PadTo(v1::AppendRequest* req, size_t target) {
  for (int i = 0; i < 8 && req->ByteSizeLong() != target; ++i) {
    const size_t size = req->ByteSizeLong();
    std::string* data = req->mutable_events(req->events_size() - 1)->mutable_data();
    if (size < target) {
      data->append(target - size, 'p');
    } else {
      data->resize(data->size() - std::min(data->size(), size - target));
    }
  }
}

size_t EventBytes(const v1::ProposedEvent& e) {
  return e.data().size() + e.metadata().size() + e.type().size() + e.content_type().size();
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.max_receive_message_bytes = kMaxReceiveBytes;
    options.log.clock_us = [] { return kNowUs; };
    options.projections.logger = NullLogger();
    auto server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = OwnChannel(server_->port());
    streams_ = v1::Streams::NewStub(channel_);
    commands_ = v1::LinkCommands::NewStub(channel_);
    queries_ = v1::LinkQueries::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(30)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(In(timeout));
    return ctx;
  }

  grpc::Status Append(const v1::AppendRequest& req, v1::AppendResponse* out = nullptr) {
    v1::AppendResponse ignored;
    return streams_->Append(Ctx().get(), req, out != nullptr ? out : &ignored);
  }

  // Reads a streamed answer to the end; its events go to `out`.
  template <typename Response, typename Request, typename Call>
  grpc::Status Drain(Call call, const Request& req,
                     std::vector<v1::RecordedEvent>* out = nullptr) {
    auto ctx = Ctx();
    auto reader = call(ctx.get(), req);
    Response r;
    while (reader->Read(&r)) {
      if (out != nullptr) out->insert(out->end(), r.events().begin(), r.events().end());
    }
    return reader->Finish();
  }

  grpc::Status ReadAll(const v1::ReadAllRequest& req,
                       std::vector<v1::RecordedEvent>* out = nullptr) {
    return Drain<v1::ReadAllResponse>(
        [&](grpc::ClientContext* c, const v1::ReadAllRequest& r) { return streams_->ReadAll(c, r); },
        req, out);
  }
  grpc::Status ReadStream(const v1::ReadStreamRequest& req) {
    return Drain<v1::ReadStreamResponse>(
        [&](grpc::ClientContext* c, const v1::ReadStreamRequest& r) {
          return streams_->ReadStream(c, r);
        },
        req);
  }
  // For requests that must be refused: a stream the server accepted would
  // block until the deadline (and fail the row with DEADLINE_EXCEEDED).
  grpc::Status Subscribe(const v1::SubscribeRequest& req) {
    auto ctx = Ctx(absl::Seconds(5));
    auto reader = streams_->Subscribe(ctx.get(), req);
    v1::SubscribeResponse r;
    while (reader->Read(&r)) {
    }
    return reader->Finish();
  }

  v1::CreateLinkRequest Link(const std::string& id) {
    v1::CreateLinkRequest req;
    req.set_link_id(id);
    req.set_destination("https://example.com/" + id);
    req.set_owner("ann");
    return req;
  }
  grpc::Status CreateLink(const v1::CreateLinkRequest& req) {
    v1::CommandResponse out;
    return commands_->CreateLink(Ctx().get(), req, &out);
  }
  v1::RecordClickRequest Click(const std::string& id) {
    v1::RecordClickRequest req;
    req.set_link_id(id);
    req.set_country("DE");
    req.set_device(v1::MOBILE);
    return req;
  }
  grpc::Status RecordClick(const v1::RecordClickRequest& req) {
    v1::CommandResponse out;
    return commands_->RecordClick(Ctx().get(), req, &out);
  }
  v1::GetLinkAnalyticsRequest Analytics(const std::string& id, const std::string& from,
                                        const std::string& to) {
    v1::GetLinkAnalyticsRequest req;
    req.set_link_id(id);
    req.set_from_date(from);
    req.set_to_date(to);
    return req;
  }
  grpc::Status GetAnalytics(const v1::GetLinkAnalyticsRequest& req) {
    v1::GetLinkAnalyticsResponse out;
    return queries_->GetLinkAnalytics(Ctx().get(), req, &out);
  }
  grpc::Status GetLink(const v1::GetLinkRequest& req) {
    v1::GetLinkResponse out;
    return queries_->GetLink(Ctx().get(), req, &out);
  }

  // Sends `bytes` as the request of `method` ("/strata.v1.Streams/Append"),
  // whatever they are; the response is not parsed.
  grpc::Status RawCall(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(channel_);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    auto ctx = Ctx();
    // Shared: the callback may still be inside set_value when get() returns.
    auto done = std::make_shared<std::promise<grpc::Status>>();
    stub.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response,
                   [done](grpc::Status s) { done->set_value(std::move(s)); });
    return done->get_future().get();
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<StrataServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Streams::Stub> streams_;
  std::unique_ptr<v1::LinkCommands::Stub> commands_;
  std::unique_ptr<v1::LinkQueries::Stub> queries_;
};

struct Row {
  std::string name;
  std::function<grpc::Status()> call;
  grpc::StatusCode code;
  std::string message_has;  // the field the message must name; "" when gRPC answers
  uint64_t writes = 0;      // events the row must add to the log (0: a rejection)
};

TEST_F(BadInputTest, TableOfMalformedRequests) {
  // Fixtures the rows refer to: a stream at version 0 and a link the
  // projections have applied.
  ASSERT_TRUE(Append(MakeAppend("ok-existing", 1)).ok());
  ASSERT_TRUE(CreateLink(Link("promo")).ok());
  ASSERT_TRUE(server_->runtime()
                  .WaitFor("link_clicks", server_->log().Head(), absl::Now() + absl::Seconds(20))
                  .ok());
  ASSERT_TRUE(server_->runtime()
                  .WaitFor("link_details", server_->log().Head(), absl::Now() + absl::Seconds(20))
                  .ok());

  using C = grpc::StatusCode;
  const std::string k257(257, 's');
  std::vector<Row> rows;
  auto append_row = [&](std::string name, std::function<void(v1::AppendRequest*)> edit, C code,
                        std::string has, uint64_t writes = 0) {
    rows.push_back({std::move(name),
                    [this, edit] {
                      v1::AppendRequest req = MakeAppend("bad-stream", 1);
                      edit(&req);
                      return Append(req);
                    },
                    code, std::move(has), writes});
  };

  // ---- Append: stream names ----
  append_row("stream empty", [](auto* r) { r->set_stream(""); }, C::INVALID_ARGUMENT, "stream");
  append_row("stream 257 bytes", [&](auto* r) { r->set_stream(k257); }, C::INVALID_ARGUMENT,
             "stream: 257 bytes");
  append_row("stream 256 bytes (at the limit)",
             [](auto* r) { r->set_stream("ok-" + std::string(253, 'n')); }, C::OK, "", 1);
  // Refused by protobuf's parser on the server; the handler never runs (see top).
  append_row("stream invalid UTF-8 (0xFF 0xFE)",
             [](auto* r) { r->set_stream(std::string("bad-\xFF\xFE", 6)); }, C::INVALID_ARGUMENT,
             "stream: not valid UTF-8");
  append_row("stream lone UTF-8 continuation byte",
             [](auto* r) { r->set_stream(std::string("bad-\x80", 5)); }, C::INVALID_ARGUMENT,
             "stream: not valid UTF-8");
  append_row("stream overlong UTF-8 NUL (0xC0 0x80)",
             [](auto* r) { r->set_stream(std::string("bad-\xC0\x80", 6)); }, C::INVALID_ARGUMENT,
             "stream: not valid UTF-8");
  append_row("stream UTF-8 surrogate (0xED 0xA0 0x80)",
             [](auto* r) { r->set_stream(std::string("bad-\xED\xA0\x80", 7)); },
             C::INVALID_ARGUMENT, "stream: not valid UTF-8");
  append_row("stream with NUL", [](auto* r) { r->set_stream(std::string("bad\0x", 5)); },
             C::INVALID_ARGUMENT, "stream: must not contain NUL");

  // ---- Append: event fields ----
  append_row("type empty", [](auto* r) { r->mutable_events(0)->set_type(""); },
             C::INVALID_ARGUMENT, "events[0].type");
  append_row("type 257 bytes", [&](auto* r) { r->mutable_events(0)->set_type(k257); },
             C::INVALID_ARGUMENT, "events[0].type: 257 bytes");
  append_row("type with NUL",
             [](auto* r) { r->mutable_events(0)->set_type(std::string("T\0", 2)); },
             C::INVALID_ARGUMENT, "events[0].type");
  append_row("type invalid UTF-8",
             [](auto* r) { r->mutable_events(0)->set_type(std::string("T\xC3", 2)); },
             C::INVALID_ARGUMENT, "events[0].type: not valid UTF-8");
  append_row("type invalid UTF-8 in the second event",
             [](auto* r) {
               *r = MakeAppend("ok-existing", 2);
               r->mutable_events(1)->set_type(std::string("T\xFF", 2));
             },
             C::INVALID_ARGUMENT, "events[1].type: not valid UTF-8");
  append_row("content_type 257 bytes",
             [&](auto* r) { r->mutable_events(0)->set_content_type(k257); }, C::INVALID_ARGUMENT,
             "events[0].content_type");
  append_row("event_id not a UUID",
             [](auto* r) { r->mutable_events(0)->set_event_id("not-a-uuid"); },
             C::INVALID_ARGUMENT, "events[0].event_id");
  append_row("event_id nil UUID",
             [](auto* r) {
               r->mutable_events(0)->set_event_id("00000000-0000-0000-0000-000000000000");
             },
             C::INVALID_ARGUMENT, "events[0].event_id");
  append_row("duplicate event ids in one batch",
             [](auto* r) {
               *r = MakeAppend("bad-dup", 3);
               r->mutable_events(0)->set_event_id(kDupId);
               r->mutable_events(2)->set_event_id(kDupId);
             },
             C::INVALID_ARGUMENT, "events[2].event_id");
  append_row("no events", [](auto* r) { r->clear_events(); }, C::INVALID_ARGUMENT, "events");

  // ---- Append: versions and enums ----
  append_row("expected_version missing (KIND_UNSPECIFIED)",
             [](auto* r) { r->clear_expected_version(); }, C::INVALID_ARGUMENT,
             "expected_version.kind");
  append_row("expected_version kind 99 (unknown enum value)",
             [](auto* r) {
               r->mutable_expected_version()->set_kind(
                   static_cast<v1::ExpectedVersion::Kind>(99));
             },
             C::INVALID_ARGUMENT, "expected_version.kind: unknown value 99");
  // An impossible version is a failed test-and-set like any other wrong one.
  append_row("EXACT UINT64_MAX on an existing stream",
             [](auto* r) {
               r->set_stream("ok-existing");
               r->mutable_expected_version()->set_kind(v1::ExpectedVersion::EXACT);
               r->mutable_expected_version()->set_version(UINT64_MAX);
             },
             C::ABORTED, "expected version 18446744073709551615, stream is at 0");
  append_row("EXACT UINT64_MAX on a new stream",
             [](auto* r) {
               r->mutable_expected_version()->set_kind(v1::ExpectedVersion::EXACT);
               r->mutable_expected_version()->set_version(UINT64_MAX);
             },
             C::ABORTED, "expected version 18446744073709551615");

  // ---- Append: size limits ----
  auto sized_event = [](v1::AppendRequest* r, size_t total) {
    *r = MakeAppend(r->stream(), 1);
    auto* e = r->mutable_events(0);
    e->set_metadata(std::string(100, 'm'));
    e->set_data(std::string(total - 100 - e->type().size() - e->content_type().size(), 'd'));
  };
  append_row("event exactly 1 MiB (data+metadata+type+content_type)",
             [&](auto* r) {
               r->set_stream("ok-event-1mib");
               sized_event(r, kEventBytesMax);
             },
             C::OK, "", 1);
  append_row("event 1 MiB + 1 byte", [&](auto* r) { sized_event(r, kEventBytesMax + 1); },
             C::RESOURCE_EXHAUSTED, "events[0]: 1048577 bytes");
  append_row("event 1 MiB + 1 byte as the last of 3",
             [&](auto* r) {
               v1::AppendRequest big = MakeAppend("x", 1);
               sized_event(&big, kEventBytesMax + 1);
               *r = MakeAppend("bad-third", 2);
               *r->add_events() = big.events(0);
             },
             C::RESOURCE_EXHAUSTED, "events[2]");
  append_row("10,000 events (at the limit)", [](auto* r) { *r = MakeAppend("ok-10000", 10000); },
             C::OK, "", 10000);
  append_row("10,001 events", [](auto* r) { *r = MakeAppend("bad-10001", 10001); },
             C::RESOURCE_EXHAUSTED, "events: 10001 events");

  // ---- Append: the server's receive limit (4 MiB here) ----
  // Four events just under 1 MiB each: the request passes the transport and
  // every engine limit (64 MiB per append), so it is written.
  auto four_mib = [](v1::AppendRequest* r, const std::string& stream, size_t target) {
    *r = MakeAppend(stream, 4);
    for (auto& e : *r->mutable_events()) {
      e.set_type("T");
      e.clear_content_type();
      e.set_data(std::string(target / 4 - 16, 'd'));  // PadTo adds a few bytes to the last
    }
    PadTo(r, target);
  };
  rows.push_back({"request exactly max_receive_message_bytes (4 MiB, 4 events)",
                  [&, this] {
                    v1::AppendRequest r;
                    four_mib(&r, "ok-4mib", kMaxReceiveBytes);
                    EXPECT_EQ(r.ByteSizeLong(), static_cast<size_t>(kMaxReceiveBytes));
                    for (const auto& e : r.events()) EXPECT_LE(EventBytes(e), kEventBytesMax);
                    return Append(r);
                  },
                  C::OK, "", 4});
  rows.push_back({"request max_receive_message_bytes + 1",
                  [&, this] {
                    v1::AppendRequest r;
                    four_mib(&r, "bad-4mib", kMaxReceiveBytes + 1);
                    EXPECT_EQ(r.ByteSizeLong(), static_cast<size_t>(kMaxReceiveBytes) + 1);
                    return Append(r);
                  },
                  C::RESOURCE_EXHAUSTED, "larger than max (4194305 vs. 4194304)"});

  // ---- DeleteStream and stream metadata ----
  auto delete_row = [&](std::string name, std::function<void(v1::DeleteStreamRequest*)> edit,
                        C code, std::string has, uint64_t writes = 0) {
    rows.push_back({std::move(name),
                    [this, edit] {
                      v1::DeleteStreamRequest req;
                      req.set_stream("ok-existing");
                      req.mutable_expected_version()->set_kind(v1::ExpectedVersion::EXACT);
                      edit(&req);
                      v1::DeleteStreamResponse ignored;
                      return streams_->DeleteStream(Ctx().get(), req, &ignored);
                    },
                    code, std::move(has), writes});
  };
  delete_row(
      "DeleteStream: empty stream", [](auto* r) { r->clear_stream(); }, C::INVALID_ARGUMENT,
      "stream: must not be empty");
  delete_row(
      "DeleteStream: expected_version unspecified", [](auto* r) { r->clear_expected_version(); },
      C::INVALID_ARGUMENT, "expected_version");
  delete_row(
      "DeleteStream: a link stream (the domain's)", [](auto* r) { r->set_stream("link-promo"); },
      C::INVALID_ARGUMENT, "'link-promo' starts with 'link-'");
  delete_row(
      "DeleteStream: a metastream", [](auto* r) { r->set_stream("$$ok-existing"); },
      C::INVALID_ARGUMENT, "is a metastream; delete the stream it describes");
  delete_row(
      "DeleteStream: a system stream", [](auto* r) { r->set_stream("$all"); }, C::INVALID_ARGUMENT,
      "reserved for the system's own streams");
  delete_row(
      "DeleteStream: stale expected version",
      [](auto* r) { r->mutable_expected_version()->set_version(5); }, C::ABORTED,
      "expected version 5, stream is at 0");
  append_row(
      "Append: $metadata with a fractional $maxCount",
      [](auto* r) {
        r->set_stream("$$ok-existing");
        r->mutable_events(0)->set_type("$metadata");
        r->mutable_events(0)->set_data(R"({"$maxCount":1.5})");
      },
      C::INVALID_ARGUMENT, "events[0].data.$maxCount: must be an integer >= 1, not 1.5");
  append_row(
      "Append: a metastream event that is not $metadata",
      [](auto* r) { r->set_stream("$$ok-existing"); }, C::INVALID_ARGUMENT,
      "holds only '$metadata' events");

  // ---- Reads and subscriptions ----
  rows.push_back({"ReadAll as_of_position beyond the head",
                  [this] {
                    v1::ReadAllRequest r;
                    r.set_as_of_position(server_->log().Head() + 1);
                    return ReadAll(r);
                  },
                  C::OUT_OF_RANGE, "as_of_position"});
  rows.push_back({"ReadAll as_of_position UINT64_MAX",
                  [this] {
                    v1::ReadAllRequest r;
                    r.set_as_of_position(UINT64_MAX);
                    return ReadAll(r);
                  },
                  C::INVALID_ARGUMENT, "as_of_position"});
  rows.push_back({"ReadStream empty stream",
                  [this] { return ReadStream(v1::ReadStreamRequest()); }, C::INVALID_ARGUMENT,
                  "stream"});
  rows.push_back({"ReadStream 257-byte stream",
                  [&, this] {
                    v1::ReadStreamRequest r;
                    r.set_stream(k257);
                    return ReadStream(r);
                  },
                  C::INVALID_ARGUMENT, "stream: 257 bytes"});
  rows.push_back({"ReadStream as_of_position beyond the head",
                  [this] {
                    v1::ReadStreamRequest r;
                    r.set_stream("ok-existing");
                    r.set_as_of_position(server_->log().Head() + 1);
                    return ReadStream(r);
                  },
                  C::OUT_OF_RANGE, "as_of_position"});
  rows.push_back({"Subscribe after_position UINT64_MAX",
                  [this] {
                    v1::SubscribeRequest r;
                    r.set_after_position(UINT64_MAX);
                    return Subscribe(r);
                  },
                  C::INVALID_ARGUMENT, "after_position"});
  rows.push_back({"Subscribe filter.stream_prefix invalid UTF-8",
                  [this] {
                    v1::SubscribeRequest r;
                    r.mutable_filter()->set_stream_prefix(std::string("\xFF", 1));
                    return Subscribe(r);
                  },
                  C::INVALID_ARGUMENT, "filter.stream_prefix: not valid UTF-8"});
  rows.push_back({"ReadAll filter.event_types invalid UTF-8",
                  [this] {
                    v1::ReadAllRequest r;
                    r.mutable_filter()->add_event_types("Fine");
                    r.mutable_filter()->add_event_types(std::string("\xFF", 1));
                    return ReadAll(r);
                  },
                  C::INVALID_ARGUMENT, "filter.event_types[1]: not valid UTF-8"});

  // ---- Link commands ----
  auto link_row = [&](std::string name, std::function<void(v1::CreateLinkRequest*)> edit, C code,
                      std::string has) {
    rows.push_back({std::move(name),
                    [this, edit] {
                      v1::CreateLinkRequest req = Link("fresh");
                      edit(&req);
                      return CreateLink(req);
                    },
                    code, std::move(has)});
  };
  link_row("CreateLink link_id empty", [](auto* r) { r->set_link_id(""); }, C::INVALID_ARGUMENT,
           "link_id");
  link_row("CreateLink link_id with a space", [](auto* r) { r->set_link_id("bad id"); },
           C::INVALID_ARGUMENT, "link_id");
  link_row("CreateLink link_id 65 chars", [](auto* r) { r->set_link_id(std::string(65, 'a')); },
           C::INVALID_ARGUMENT, "link_id");
  link_row("CreateLink link_id with NUL",
           [](auto* r) { r->set_link_id(std::string("a\0b", 3)); }, C::INVALID_ARGUMENT,
           "link_id");
  link_row("CreateLink destination empty", [](auto* r) { r->set_destination(""); },
           C::INVALID_ARGUMENT, "destination");
  link_row("CreateLink destination ftp://", [](auto* r) { r->set_destination("ftp://x.org/"); },
           C::INVALID_ARGUMENT, "destination");
  link_row("CreateLink destination without host",
           [](auto* r) { r->set_destination("https:///path"); }, C::INVALID_ARGUMENT,
           "destination");
  link_row("CreateLink destination 2049 bytes",
           [](auto* r) { r->set_destination("https://x.org/" + std::string(2049 - 14, 'a')); },
           C::INVALID_ARGUMENT, "destination");
  link_row("CreateLink destination with control byte",
           [](auto* r) { r->set_destination("https://x.org/\n"); }, C::INVALID_ARGUMENT,
           "destination");
  link_row("CreateLink owner invalid UTF-8",
           [](auto* r) { r->set_owner(std::string("\xFF", 1)); }, C::INVALID_ARGUMENT,
           "owner: not valid UTF-8");
  link_row("CreateLink owner 257 bytes", [&](auto* r) { r->set_owner(k257); },
           C::INVALID_ARGUMENT, "owner");
  link_row("CreateLink request_id 129 bytes",
           [](auto* r) { r->set_request_id(std::string(129, 'r')); }, C::INVALID_ARGUMENT,
           "request_id");
  link_row("CreateLink existing link", [](auto* r) { r->set_link_id("promo"); },
           C::ALREADY_EXISTS, "'promo' already exists");

  auto click_row = [&](std::string name, std::function<void(v1::RecordClickRequest*)> edit, C code,
                       std::string has) {
    rows.push_back({std::move(name),
                    [this, edit] {
                      v1::RecordClickRequest req = Click("promo");
                      edit(&req);
                      return RecordClick(req);
                    },
                    code, std::move(has)});
  };
  click_row("RecordClick country invalid UTF-8",
            [](auto* r) { r->set_country(std::string("D\xFF", 2)); }, C::INVALID_ARGUMENT,
            "country: not valid UTF-8");
  click_row("RecordClick country lower case", [](auto* r) { r->set_country("de"); },
            C::INVALID_ARGUMENT, "country");
  click_row("RecordClick country 3 letters", [](auto* r) { r->set_country("DEU"); },
            C::INVALID_ARGUMENT, "country");
  click_row("RecordClick device unspecified", [](auto* r) { r->set_device(v1::DEVICE_UNSPECIFIED); },
            C::INVALID_ARGUMENT, "device");
  click_row("RecordClick device 42 (unknown enum value)",
            [](auto* r) { r->set_device(static_cast<v1::Device>(42)); }, C::INVALID_ARGUMENT,
            "device: required, one of DESKTOP, MOBILE, TABLET, BOT, OTHER (got 42)");
  click_row("RecordClick device -1", [](auto* r) { r->set_device(static_cast<v1::Device>(-1)); },
            C::INVALID_ARGUMENT, "device");
  click_row("RecordClick clicked_at 0", [](auto* r) { r->set_clicked_at(0); },
            C::INVALID_ARGUMENT, "clicked_at");
  click_row("RecordClick clicked_at INT64_MIN", [](auto* r) { r->set_clicked_at(INT64_MIN); },
            C::INVALID_ARGUMENT, "clicked_at");
  click_row("RecordClick clicked_at INT64_MAX", [](auto* r) { r->set_clicked_at(INT64_MAX); },
            C::INVALID_ARGUMENT, "clicked_at");
  click_row("RecordClick clicked_at 6 min in the future",
            [](auto* r) { r->set_clicked_at(kNowUs + 6 * 60 * 1000000LL); }, C::INVALID_ARGUMENT,
            "clicked_at");
  click_row("RecordClick link_id bad", [](auto* r) { r->set_link_id("no/slash"); },
            C::INVALID_ARGUMENT, "link_id");
  click_row("RecordClick unknown link", [](auto* r) { r->set_link_id("ghost"); }, C::NOT_FOUND,
            "link 'ghost' does not exist");

  auto update_row = [&](std::string name, std::function<void(v1::UpdateDestinationRequest*)> edit,
                        C code, std::string has) {
    rows.push_back({std::move(name),
                    [this, edit] {
                      v1::UpdateDestinationRequest req;
                      req.set_link_id("promo");
                      req.set_destination("https://example.org/new");
                      edit(&req);
                      v1::CommandResponse out;
                      return commands_->UpdateDestination(Ctx().get(), req, &out);
                    },
                    code, std::move(has)});
  };
  update_row("UpdateDestination expected_version UINT64_MAX",
             [](auto* r) { r->set_expected_version(UINT64_MAX); }, C::ABORTED,
             "expected version 18446744073709551615");
  update_row("UpdateDestination destination javascript:",
             [](auto* r) { r->set_destination("javascript:alert(1)"); }, C::INVALID_ARGUMENT,
             "destination");
  update_row("UpdateDestination link_id empty", [](auto* r) { r->set_link_id(""); },
             C::INVALID_ARGUMENT, "link_id");

  // ---- Link queries ----
  auto analytics_row = [&](std::string name, std::function<void(v1::GetLinkAnalyticsRequest*)> edit,
                           C code, std::string has) {
    rows.push_back({std::move(name),
                    [this, edit] {
                      v1::GetLinkAnalyticsRequest req = Analytics("promo", "2024-03-01", "2024-03-10");
                      edit(&req);
                      return GetAnalytics(req);
                    },
                    code, std::move(has)});
  };
  analytics_row("GetLinkAnalytics from_date 2024-02-30",
                [](auto* r) { r->set_from_date("2024-02-30"); }, C::INVALID_ARGUMENT, "from_date");
  analytics_row("GetLinkAnalytics from_date 20240301",
                [](auto* r) { r->set_from_date("20240301"); }, C::INVALID_ARGUMENT, "from_date");
  analytics_row("GetLinkAnalytics from_date 2024-3-1x",
                [](auto* r) { r->set_from_date("2024-3-1xx"); }, C::INVALID_ARGUMENT, "from_date");
  analytics_row("GetLinkAnalytics to_date empty", [](auto* r) { r->set_to_date(""); },
                C::INVALID_ARGUMENT, "to_date");
  analytics_row("GetLinkAnalytics to_date 2024-13-01", [](auto* r) { r->set_to_date("2024-13-01"); },
                C::INVALID_ARGUMENT, "to_date");
  analytics_row("GetLinkAnalytics from > to",
                [](auto* r) {
                  r->set_from_date("2024-03-11");
                  r->set_to_date("2024-03-10");
                },
                C::INVALID_ARGUMENT, "from_date: 2024-03-11 is after to_date 2024-03-10");
  analytics_row("GetLinkAnalytics 366 days (at the limit)",
                [](auto* r) {
                  r->set_from_date("2023-03-10");
                  r->set_to_date("2024-03-10");
                },
                C::OK, "");
  analytics_row("GetLinkAnalytics 367 days",
                [](auto* r) {
                  r->set_from_date("2023-03-09");
                  r->set_to_date("2024-03-10");
                },
                C::INVALID_ARGUMENT, "to_date: 2024-03-10 is 367 days after from_date");
  analytics_row("GetLinkAnalytics 0001-01-01..9999-12-31",
                [](auto* r) {
                  r->set_from_date("0001-01-01");
                  r->set_to_date("9999-12-31");
                },
                C::INVALID_ARGUMENT, "to_date");
  analytics_row("GetLinkAnalytics as_of_position beyond the head",
                [this](auto* r) { r->set_as_of_position(server_->log().Head() + 1); },
                C::OUT_OF_RANGE, "as_of_position");
  analytics_row("GetLinkAnalytics as_of_position UINT64_MAX",
                [](auto* r) { r->set_as_of_position(UINT64_MAX); }, C::OUT_OF_RANGE,
                "as_of_position");
  analytics_row("GetLinkAnalytics min_position UINT64_MAX",
                [](auto* r) { r->set_min_position(UINT64_MAX); }, C::OUT_OF_RANGE,
                "min_position");
  analytics_row("GetLinkAnalytics link_id bad", [](auto* r) { r->set_link_id("a b"); },
                C::INVALID_ARGUMENT, "link_id");
  rows.push_back({"GetLink as_of_position beyond the head",
                  [this] {
                    v1::GetLinkRequest r;
                    r.set_link_id("promo");
                    r.set_as_of_position(server_->log().Head() + 1);
                    return GetLink(r);
                  },
                  C::OUT_OF_RANGE, "as_of_position"});
  rows.push_back({"GetLink min_position beyond the head",
                  [this] {
                    v1::GetLinkRequest r;
                    r.set_link_id("promo");
                    r.set_min_position(server_->log().Head() + 1000);
                    return GetLink(r);
                  },
                  C::OUT_OF_RANGE, "min_position"});
  // LinkQueries runs on the sync API: the same answer as the callback services.
  rows.push_back({"GetLink link_id invalid UTF-8",
                  [this] {
                    v1::GetLinkRequest r;
                    r.set_link_id(std::string("\xFF", 1));
                    return GetLink(r);
                  },
                  C::INVALID_ARGUMENT, "link_id: not valid UTF-8"});
  rows.push_back({"GetLink link_id empty", [this] { return GetLink(v1::GetLinkRequest()); },
                  C::INVALID_ARGUMENT, "link_id"});

  // ---- Bytes that are not a protobuf message of the method's type ----
  // (one method per kind of handler: callback unary, callback streaming, sync)
  const std::string kGarbage("\x0A\x05" "ab", 4);  // field 1, 5 bytes long, 2 present
  rows.push_back({"Append raw bytes: truncated field",
                  [&] { return RawCall("/strata.v1.Streams/Append", kGarbage); },
                  C::INVALID_ARGUMENT, "request: not a valid strata.v1.AppendRequest message"});
  rows.push_back({"ReadAll raw bytes: invalid wire type",
                  [&] { return RawCall("/strata.v1.Streams/ReadAll", "\x0F"); },
                  C::INVALID_ARGUMENT, "request: not a valid strata.v1.ReadAllRequest message"});
  rows.push_back({"GetLinkAnalytics raw bytes: truncated field",
                  [&] { return RawCall("/strata.v1.LinkQueries/GetLinkAnalytics", kGarbage); },
                  C::INVALID_ARGUMENT,
                  "request: not a valid strata.v1.GetLinkAnalyticsRequest message"});
  rows.push_back({"Append raw bytes: a valid request",
                  [&] { return RawCall("/strata.v1.Streams/Append",
                                       MakeAppend("ok-raw", 1).SerializeAsString()); },
                  C::OK, "", 1});

  std::printf("\n%-62s %-20s %s\n", "request", "observed", "message");
  uint64_t expected_head = server_->log().Head();
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const uint64_t before = server_->log().Head();
    const grpc::Status s = row.call();
    const uint64_t after = server_->log().Head();
    std::printf("%-62s %-20s %s\n", row.name.c_str(), CodeName(s.error_code()),
                s.error_message().substr(0, 110).c_str());
    EXPECT_EQ(CodeName(s.error_code()), std::string(CodeName(row.code)))
        << "message: " << s.error_message();
    if (!row.message_has.empty()) {
      EXPECT_THAT(s.error_message(), HasSubstr(row.message_has));
    }
    EXPECT_EQ(after - before, row.writes) << "the log's head moved from " << before << " to "
                                          << after;
    expected_head += row.writes;
  }
  std::fflush(stdout);

  // The whole log: dense positions, exactly the rows' writes, nothing from a
  // rejected request (those all used streams named "bad-...").
  EXPECT_EQ(server_->log().Head(), expected_head);
  std::vector<v1::RecordedEvent> all;
  grpc::Status s = ReadAll(v1::ReadAllRequest(), &all);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(all.size(), expected_head);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].position(), i + 1);
    EXPECT_FALSE(all[i].stream().starts_with("bad")) << all[i].stream();
  }

  // A normal client is still served.
  v1::AppendResponse appended;
  s = Append(MakeAppend("after-the-table", 1), &appended);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(appended.last_position(), expected_head + 1);
  v1::ReadAllRequest last;
  last.set_from_position(appended.last_position());
  all.clear();
  s = ReadAll(last, &all);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].stream(), "after-the-table");
  EXPECT_EQ(all[0].data(), "{\"i\":0}");
}

// Finding (see the report): a bad date range is refused only after the link
// was found, so the same malformed request gets NOT_FOUND for an unknown link
// and INVALID_ARGUMENT for a known one. Arguments that are wrong whatever the
// state should be refused first (gRPC's guidance for INVALID_ARGUMENT).
TEST_F(BadInputTest, AnalyticsRangeErrorsDoNotDependOnTheLink) {
  v1::GetLinkAnalyticsRequest req = Analytics("ghost", "2024-03-11", "2024-03-10");
  grpc::Status s = GetAnalytics(req);
  EXPECT_EQ(CodeName(s.error_code()), std::string("INVALID_ARGUMENT")) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("from_date"));
  req = Analytics("ghost", "2023-01-01", "2024-03-10");
  s = GetAnalytics(req);
  EXPECT_EQ(CodeName(s.error_code()), std::string("INVALID_ARGUMENT")) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("to_date"));
}

// Finding (see the report): Subscribe with after_position beyond the head (but
// not UINT64_MAX) is accepted and immediately answered with
// caught_up{position: after_position}, i.e. "everything up to a position that
// does not exist yet was sent"; once the log grows past it, the events between
// the old head and after_position are never delivered. Either answer is clear
// (OUT_OF_RANGE/INVALID_ARGUMENT now, or a subscription that waits without
// claiming to be caught up); what must not happen is a caught-up marker past
// the head.
TEST_F(BadInputTest, SubscribeBeyondTheHeadIsNeverCaughtUpPastTheHead) {
  ASSERT_TRUE(Append(MakeAppend("s", 3)).ok());
  const uint64_t head = server_->log().Head();
  v1::SubscribeRequest req;
  req.set_after_position(head + 5);
  auto ctx = Ctx(absl::Seconds(2));
  auto reader = streams_->Subscribe(ctx.get(), req);
  // Half a second in, the log grows past after_position.
  std::thread grow([this] {
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_TRUE(Append(MakeAppend("s", 10)).ok());
  });
  v1::SubscribeResponse r;
  std::vector<std::pair<uint64_t, uint64_t>> caught_up;  // position, head when read
  std::vector<uint64_t> delivered;
  while (reader->Read(&r)) {
    if (r.has_caught_up()) caught_up.emplace_back(r.caught_up().position(), server_->log().Head());
    for (const v1::RecordedEvent& e : r.events()) delivered.push_back(e.position());
  }
  const grpc::Status s = reader->Finish();
  grow.join();
  std::printf("Subscribe after_position %llu with the head at %llu: %zu caught_up (first %llu, "
              "head %llu), then the head moved to %llu and it delivered %zu events (first %llu), "
              "status %s \"%s\"\n",
              static_cast<unsigned long long>(head + 5), static_cast<unsigned long long>(head),
              caught_up.size(),
              static_cast<unsigned long long>(caught_up.empty() ? 0 : caught_up[0].first),
              static_cast<unsigned long long>(caught_up.empty() ? 0 : caught_up[0].second),
              static_cast<unsigned long long>(server_->log().Head()), delivered.size(),
              static_cast<unsigned long long>(delivered.empty() ? 0 : delivered[0]),
              CodeName(s.error_code()), s.error_message().c_str());
  for (const auto& [position, head_then] : caught_up) {
    EXPECT_LE(position, head_then) << "caught_up claims position " << position
                                   << " with the head at " << head_then;
  }
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::OUT_OF_RANGE ||
              s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
              s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << CodeName(s.error_code()) << " " << s.error_message();
}

// ---- Floods ----

struct Flood {
  std::vector<std::shared_ptr<grpc::Channel>> idle;
  struct Sub {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::Streams::Stub> stub;
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader;
  };
  std::vector<Sub> subs;
};

constexpr int kIdleConnections = 200;
constexpr int kStalledSubscribers = 200;

// Fills the log, then opens the idle connections and the never-reading
// subscriptions (each on its own connection, from position 0, so each has
// more to send than its flow-control window).
void OpenFlood(int port, Flood* flood) {
  for (int i = 0; i < kIdleConnections; ++i) {
    flood->idle.push_back(OwnChannel(port));
    ASSERT_TRUE(flood->idle.back()->WaitForConnected(In(absl::Seconds(10))))
        << "idle connection " << i;
  }
  for (int i = 0; i < kStalledSubscribers; ++i) {
    Flood::Sub sub;
    sub.channel = OwnChannel(port);
    sub.stub = v1::Streams::NewStub(sub.channel);
    sub.ctx = std::make_unique<grpc::ClientContext>();
    v1::SubscribeRequest req;
    req.set_after_position(0);
    sub.reader = sub.stub->Subscribe(sub.ctx.get(), req);
    flood->subs.push_back(std::move(sub));
  }
  for (auto& sub : flood->subs) {
    ASSERT_TRUE(sub.channel->WaitForConnected(In(absl::Seconds(10))));
  }
}

constexpr int kFillEvents = 2000;

void FillLog(int port) {
  auto channel = OwnChannel(port);
  auto stub = v1::Streams::NewStub(channel);
  for (int b = 0; b < kFillEvents / 500; ++b) {
    v1::AppendRequest req = MakeAppend("fill", 500);
    for (auto& e : *req.mutable_events()) e.set_data(std::string(1024, 'f'));
    v1::AppendResponse r;
    grpc::ClientContext ctx;
    ctx.set_deadline(In(absl::Seconds(30)));
    ASSERT_TRUE(stub->Append(&ctx, req, &r).ok());
  }
}

// What a normal client must still get during the flood: an Append and a
// GetLink (waiting for the projections to pass the append) within 5 s each.
void NormalClientIsServed(int port, const char* when) {
  auto channel = OwnChannel(port);
  auto streams = v1::Streams::NewStub(channel);
  auto queries = v1::LinkQueries::NewStub(channel);
  const absl::Time connect_start = absl::Now();
  ASSERT_TRUE(channel->WaitForConnected(In(absl::Seconds(5)))) << when << ": cannot connect";
  const absl::Duration connect_took = absl::Now() - connect_start;
  const absl::Time start = absl::Now();
  grpc::ClientContext actx;
  actx.set_deadline(In(absl::Seconds(5)));
  v1::AppendResponse ar;
  grpc::Status s = streams->Append(&actx, MakeAppend("normal", 1), &ar);
  const absl::Duration append_took = absl::Now() - start;
  ASSERT_TRUE(s.ok()) << when << ": Append: " << CodeName(s.error_code()) << " "
                      << s.error_message();
  grpc::ClientContext gctx;
  gctx.set_deadline(In(absl::Seconds(5)));
  v1::GetLinkRequest g;
  g.set_link_id("promo");
  g.set_min_position(ar.last_position());
  v1::GetLinkResponse link;
  const absl::Time gstart = absl::Now();
  s = queries->GetLink(&gctx, g, &link);
  const absl::Duration get_took = absl::Now() - gstart;
  ASSERT_TRUE(s.ok()) << when << ": GetLink: " << CodeName(s.error_code()) << " "
                      << s.error_message();
  EXPECT_EQ(link.destination(), "https://example.com/promo");
  EXPECT_GE(link.position(), ar.last_position());
  std::printf("%s: connect took %s, Append %s, GetLink(min_position) %s\n", when,
              absl::FormatDuration(connect_took).c_str(), absl::FormatDuration(append_took).c_str(),
              absl::FormatDuration(get_took).c_str());
  std::fflush(stdout);
}

TEST_F(BadInputTest, FloodOfIdleConnectionsAndStalledSubscribers) {
  ASSERT_TRUE(CreateLink(Link("promo")).ok());
  ASSERT_NO_FATAL_FAILURE(FillLog(server_->port()));
  Flood flood;
  ASSERT_NO_FATAL_FAILURE(OpenFlood(server_->port(), &flood));
  absl::SleepFor(absl::Milliseconds(500));  // let the server fill the subscribers' windows
  ASSERT_NO_FATAL_FAILURE(NormalClientIsServed(server_->port(), "during the flood"));

  // Close everything: cancel each subscription; each ends CANCELLED.
  int cancelled = 0;
  for (auto& sub : flood.subs) {
    sub.ctx->TryCancel();
    v1::SubscribeResponse r;
    while (sub.reader->Read(&r)) {
    }
    if (sub.reader->Finish().error_code() == grpc::StatusCode::CANCELLED) ++cancelled;
  }
  EXPECT_EQ(cancelled, kStalledSubscribers);
  flood.subs.clear();
  flood.idle.clear();
  ASSERT_NO_FATAL_FAILURE(NormalClientIsServed(server_->port(), "after the flood"));

  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(5));
  const absl::Duration took = absl::Now() - start;
  std::printf("shutdown with every client gone took %s\n", absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(5));
  server_.reset();
}

// The same flood, but the server shuts down while the 200 never-reading
// subscriptions are still open: Shutdown returns within its grace (plus
// slack), every subscriber gets a final status, nothing crashes.
TEST_F(BadInputTest, ShutdownWithStalledSubscribersStillOpen) {
  ASSERT_TRUE(CreateLink(Link("promo")).ok());
  ASSERT_NO_FATAL_FAILURE(FillLog(server_->port()));
  Flood flood;
  ASSERT_NO_FATAL_FAILURE(OpenFlood(server_->port(), &flood));
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_NO_FATAL_FAILURE(NormalClientIsServed(server_->port(), "during the flood"));

  const absl::Duration grace = absl::Seconds(2);
  const absl::Time start = absl::Now();
  server_->Shutdown(grace);
  const absl::Duration took = absl::Now() - start;
  std::printf("shutdown with %d stalled subscriptions open took %s (grace %s)\n",
              kStalledSubscribers, absl::FormatDuration(took).c_str(),
              absl::FormatDuration(grace).c_str());
  EXPECT_LT(took, grace + absl::Seconds(3));
  server_.reset();

  // Each subscriber reads what was buffered for it, then gets a final status.
  int ended = 0;
  uint64_t buffered_min = UINT64_MAX;
  uint64_t buffered_max = 0;
  std::map<std::string, int> statuses;
  for (auto& sub : flood.subs) {
    v1::SubscribeResponse r;
    uint64_t expect = 1;
    bool dense = true;
    while (sub.reader->Read(&r)) {
      for (const v1::RecordedEvent& e : r.events()) dense = dense && e.position() == expect++;
    }
    EXPECT_TRUE(dense);
    buffered_min = std::min(buffered_min, expect - 1);
    buffered_max = std::max(buffered_max, expect - 1);
    const grpc::Status s = sub.reader->Finish();
    statuses[absl::StrCat(CodeName(s.error_code()), " \"", s.error_message(), "\"")]++;
    if (!s.ok()) ++ended;
  }
  std::printf("each stalled subscriber then read %llu..%llu events (of %llu in the log); final "
              "statuses:\n",
              static_cast<unsigned long long>(buffered_min),
              static_cast<unsigned long long>(buffered_max),
              static_cast<unsigned long long>(kFillEvents + 2));
  for (const auto& [status, n] : statuses) std::printf("  %3d x %s\n", n, status.c_str());
  EXPECT_EQ(ended, kStalledSubscribers);
}

}  // namespace
}  // namespace strata::server
