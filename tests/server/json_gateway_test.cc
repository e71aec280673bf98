// The HTTP listener's web UI files and JSON API (server/json_gateway.h) on a
// real server (gRPC and HTTP on 127.0.0.1, RocksDB in a temp dir), called
// with cpp-httplib: a call answers the gRPC method's response as proto3 JSON
// (a streamed read as {"messages": [...]}), errors answer the gRPC code and
// message with the matching HTTP status, and what the gateway does not offer
// (unknown methods, Subscribe, another content type) is refused by name.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

using ::testing::HasSubstr;

class JsonGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.http_listen = "127.0.0.1:0";
    options.logger = NullLogger();
    absl::StatusOr<std::unique_ptr<StrataServer>> server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  httplib::Result Post(const std::string& method, const std::string& body,
                       const std::string& type = "application/json") {
    httplib::Client client("127.0.0.1", server_->http_port());
    return client.Post(absl::StrCat("/api/", method), body, type);
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<StrataServer> server_;
};

TEST_F(JsonGatewayTest, CallsAnswerTheResponseAsJson) {
  httplib::Result r = Post("strata.v1.Streams/Append",
                           R"({"stream":"orders-1","expected_version":{"kind":"NO_STREAM"},)"
                           R"("events":[{"type":"Placed","content_type":"application/json",)"
                           R"("data":"eyJhIjoxfQ=="}]})");  // {"a":1}
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(
      r->body,
      R"({"first_position":"1","last_position":"1","last_version":"0","deduplicated":false})");

  r = Post("strata.v1.Streams/ListStreams", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"streams":[{"stream":"orders-1","last_version":"0","last_position":"1"}],)"
                     R"("next_after":""})");

  r = Post("strata.v1.Streams/ReadStream", R"({"stream":"orders-1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr(R"({"messages":[{"events":[{"position":"1","stream":"orders-1",)"
                                 R"("version":"0","event_id":")"));
  EXPECT_THAT(r->body, HasSubstr(R"("type":"Placed","content_type":"application/json",)"
                                 R"("data":"eyJhIjoxfQ==","metadata":"","recorded_at":")"));
  EXPECT_THAT(r->body, ::testing::EndsWith(R"("}]}],"truncated":false})"));
}

TEST_F(JsonGatewayTest, ErrorsCarryTheCodeTheMessageAndTheHttpStatus) {
  httplib::Result r = Post("strata.v1.Streams/ReadAll", R"({"as_of_position":"99"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(
      r->body,
      R"json({"code":"OUT_OF_RANGE","message":"as_of_position 99 is beyond the head (0)"})json");
  r = Post("strata.v1.LinkQueries/GetLink", R"({"link_id":"nope"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->body, HasSubstr(R"({"code":"NOT_FOUND","message":")"));

  r = Post("strata.v1.Streams/ListStreams", R"({"limit":5000})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, R"({"code":"INVALID_ARGUMENT","message":"limit: 5000 is above 1000"})");

  r = Post("strata.v1.Streams/ListStreams", R"({"limit":"many"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr(R"({"code":"INVALID_ARGUMENT","message":"body: not a )"
                                 R"(strata.v1.ListStreamsRequest in JSON: )"));

  r = Post("strata.v1.Streams/Nothing", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body,
            R"({"code":"NOT_FOUND","message":"no method 'strata.v1.Streams/Nothing': POST )"
            R"(/api/strata.v1.<Service>/<Method>, as in schemas/strata.proto"})");
  r = Post("grpc.health.v1.Health/Check", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  r = Post("strata.v1.Streams/Subscribe", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->body, HasSubstr("\"code\":\"UNIMPLEMENTED\""));

  r = Post("strata.v1.Streams/ListStreams", "{}", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);

  // And the server serves on.
  r = Post("strata.v1.Streams/ListStreams", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(JsonGatewayTest, ThePagesAreServed) {
  httplib::Client client("127.0.0.1", server_->http_port());
  httplib::Result r = client.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(r->body, HasSubstr("<script src=\"/ui/app.js\"></script>"));
  EXPECT_THAT(r->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  r = client.Get("/ui/app.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_THAT(r->body, HasSubstr("'use strict';"));
  r = client.Get("/ui/style.css");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/css; charset=utf-8");
}

}  // namespace
}  // namespace strata::server
