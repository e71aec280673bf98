// The HTTP listener's web UI files and JSON API (server/json_gateway.h) on a
// real server (gRPC and HTTP on 127.0.0.1, RocksDB in a temp dir), called
// with cpp-httplib: a call answers the gRPC method's response as proto3 JSON
// (a streamed read as {"messages": [...]}), errors answer the gRPC code and
// message with the matching HTTP status, and what the gateway does not offer
// (unknown methods, Subscribe, another content type) is refused by name.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/security.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

using ::testing::HasSubstr;

class JsonGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(SecurityOptions security) {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    ServerOptions options;
    options.security = std::move(security);
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.http_listen = "127.0.0.1:0";
    options.logger = NullLogger();
    absl::StatusOr<std::unique_ptr<StrataServer>> server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  httplib::Result Post(const std::string& method, const std::string& body,
                       const std::string& type = "application/json",
                       const httplib::Headers& headers = {}) {
    httplib::Client client("127.0.0.1", server_->http_port());
    return client.Post(absl::StrCat("/api/", method), headers, body, type);
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
  EXPECT_EQ(r->status, 501);
  EXPECT_THAT(r->body, HasSubstr("\"code\":\"UNIMPLEMENTED\""));

  r = Post("strata.v1.Streams/ListStreams", "{}", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);

  // And the server serves on.
  r = Post("strata.v1.Streams/ListStreams", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// With tokens, the API asks for one (Bearer only: a Basic challenge would
// make browsers prompt) and each method keeps its role.
TEST_F(JsonGatewayTest, TokensAndRolesAreTheGrpcApis) {
  const std::string read = NewToken(), admin = NewToken();
  std::ofstream(dir_.Sub("tokens")) << TokenHash(read) << " reader read\n"
                                    << TokenHash(admin) << " ops admin\n";
  SecurityOptions security;
  security.tokens_file = dir_.Sub("tokens");
  Start(security);
  httplib::Result r = Post("strata.v1.Streams/ListStreams", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_THAT(r->body, HasSubstr(R"({"code":"UNAUTHENTICATED","message":"no access token)"));
  const auto bearer = [](const std::string& t) {
    return httplib::Headers{{"Authorization", absl::StrCat("Bearer ", t)}};
  };
  r = Post("strata.v1.Streams/ListStreams", "{}", "application/json", bearer(read));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  strata::testing::TempDir elsewhere;  // outside the data directory
  const std::string backup = absl::StrCat(R"({"dir":")", elsewhere.Sub("b1"), R"("})");
  r = Post("strata.v1.Admin/Backup", backup, "application/json", bearer(read));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, R"({"code":"PERMISSION_DENIED","message":"token 'reader' has the role read; )"
                     R"(/strata.v1.Admin/Backup needs admin"})");
  r = Post("strata.v1.Admin/Backup", backup, "application/json", bearer(admin));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // The pages stay public; /metrics does not.
  httplib::Client client("127.0.0.1", server_->http_port());
  EXPECT_EQ(client.Get("/")->status, 200);
  EXPECT_EQ(client.Get("/ui/app.js")->status, 200);
  EXPECT_EQ(client.Get("/metrics")->status, 401);
}

// Without tokens: a header gRPC could not carry is refused, not passed on
// (gRPC would abort the process), and only requests addressed to an IP or
// localhost are answered (no DNS rebinding from a page of another site).
TEST_F(JsonGatewayTest, OpenServersGuardTheirHeaders) {
  httplib::Result r = Post("strata.v1.Streams/ListStreams", "{}", "application/json",
                           {{"Authorization", "Bearer caf\xc3\xa9"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body,
            R"({"code":"UNAUTHENTICATED","message":"authorization is not 'Bearer <token>' )"
            R"x((printable ASCII, at most 4096 bytes)"})x");
  r = Post("strata.v1.Streams/ListStreams", "{}", "application/json",
           {{"Host", "rebound.example:2114"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body,
            R"({"code":"PERMISSION_DENIED","message":"Host: a server without tokens answers its )"
            R"(API only at an IP address or localhost"})");
  for (const char* host : {"localhost:2114", "[::1]:2114", "10.1.2.3"}) {
    r = Post("strata.v1.Streams/ListStreams", "{}", "application/json", {{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << host;
  }
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
