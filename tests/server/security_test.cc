// stratad's guard (server/security.h) on real in-process servers (gRPC, the
// KurrentDB protocol and HTTP on 127.0.0.1, RocksDB in temp dirs), with
// certificates made by Debian's openssl for each run:
//  - the role table: every method of every served service, called by no
//    token, a malformed header, an unknown token, and a read, write and admin
//    token: UNAUTHENTICATED, PERMISSION_DENIED below the method's role, and
//    otherwise exactly what an open server answers the same request; every
//    strata.v1 method has a row; failures are logged with the token's name,
//    never a token;
//  - KurrentDB clients' Basic credentials (NAME:token);
//  - TLS: a client trusting the test CA connects, a plaintext client or one
//    trusting another CA does not; mutual TLS refuses a client without a
//    certificate; /metrics over HTTPS with a token;
//  - the loopback rule: a non-loopback address without TLS or tokens is
//    refused before any store is opened, unless insecure;
//  - tokens files with mistakes are refused naming the line.
#include "server/security.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "api/address.h"
#include "api/client_channel.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "schemas/kurrent/streams.grpc.pb.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

namespace v1 = ::strata::v1;
using ::testing::HasSubstr;

// Runs openssl; fails the test when it fails.
void OpenSsl(const std::string& args) {
  const std::string command = absl::StrCat("openssl ", args, " >/dev/null 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// A CA and certificates it signed, in `dir`: <name>.pem and <name>.key.
class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  void MakeCa(const std::string& name) {
    OpenSsl(
        absl::StrCat("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                     "-days 2 -subj /CN=",
                     name, " -keyout ", Key(name), " -out ", Pem(name)));
  }
  // A certificate for localhost and 127.0.0.1 (server) or a client, signed by `ca`.
  void MakeCert(const std::string& name, const std::string& ca) {
    const std::string ext = absl::StrCat(dir_, "/", name, ".ext");
    const std::string csr = absl::StrCat(dir_, "/", name, ".csr");
    ASSERT_EQ(
        std::system(
            absl::StrCat("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ", ext).c_str()),
        0);
    OpenSsl(absl::StrCat("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=",
                         name, " -keyout ", Key(name), " -out ", csr));
    OpenSsl(absl::StrCat("x509 -req -days 2 -in ", csr, " -CA ", Pem(ca), " -CAkey ", Key(ca),
                         " -CAcreateserial -extfile ", ext, " -out ", Pem(name)));
  }
  std::string Pem(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".pem"); }
  std::string Key(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".key"); }

 private:
  std::string dir_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Any method called with one empty request message: unary, server- and
// client-streaming methods alike (as a generic bidi call).
class AnyCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  AnyCall(grpc::GenericStub* stub, grpc::ClientContext* context, const std::string& method) {
    grpc::Slice empty;
    request_ = grpc::ByteBuffer(&empty, 1);
    stub->PrepareBidiStreamingCall(context, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (ok) StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  grpc::Status Await() {
    done_.WaitForNotification();
    return status_;
  }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  absl::Notification done_;
};

// The code of `method` called on `channel` with `authorization` (none when
// empty). Calls that would stream on (Subscribe) end at the 500 ms deadline.
grpc::StatusCode CallCode(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& authorization) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  if (!authorization.empty()) context.AddMetadata("authorization", authorization);
  AnyCall call(&stub, &context, method);
  return call.Await().error_code();
}

enum class Needs { kNothing, kRead, kWrite, kAdmin };

struct Row {
  std::string method;  // "/package.Service/Method"
  Needs needs;
  bool kurrent = false;  // on the KurrentDB listener
};

// What each method needs: the table operators rely on (README, security.h).
const std::vector<Row>& Table() {
  static const auto* rows = new std::vector<Row>{
      {"/strata.v1.Streams/Append", Needs::kWrite},
      {"/strata.v1.Streams/DeleteStream", Needs::kAdmin},
      {"/strata.v1.Streams/ReadStream", Needs::kRead},
      {"/strata.v1.Streams/ReadAll", Needs::kRead},
      {"/strata.v1.Streams/Subscribe", Needs::kRead},
      {"/strata.v1.Streams/ListStreams", Needs::kRead},
      {"/strata.v1.LinkCommands/CreateLink", Needs::kWrite},
      {"/strata.v1.LinkCommands/RecordClick", Needs::kWrite},
      {"/strata.v1.LinkCommands/UpdateDestination", Needs::kWrite},
      {"/strata.v1.LinkQueries/GetLink", Needs::kRead},
      {"/strata.v1.LinkQueries/GetLinkAnalytics", Needs::kRead},
      {"/strata.v1.Projections/ListProjections", Needs::kRead},
      {"/strata.v1.Projections/RebuildProjection", Needs::kAdmin},
      {"/strata.v1.Projections/DefineProjection", Needs::kAdmin},
      {"/strata.v1.Projections/GetProjectionDefinition", Needs::kRead},
      {"/strata.v1.Projections/DeleteProjection", Needs::kAdmin},
      {"/strata.v1.ProjectionQueries/Get", Needs::kRead},
      {"/strata.v1.ProjectionQueries/Scan", Needs::kRead},
      {"/strata.v1.Admin/Backup", Needs::kAdmin},
      {"/grpc.health.v1.Health/Check", Needs::kNothing},
      {"/event_store.client.streams.Streams/Read", Needs::kRead, true},
      {"/event_store.client.streams.Streams/Append", Needs::kWrite, true},
      {"/event_store.client.streams.Streams/Delete", Needs::kAdmin, true},
      {"/event_store.client.streams.Streams/Tombstone", Needs::kAdmin, true},
      {"/event_store.client.server_features.ServerFeatures/GetSupportedMethods", Needs::kNothing,
       true},
  };
  return *rows;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* role : {"read", "write", "admin"}) {
      tokens_[role] = NewToken();
      absl::StrAppend(&tokens_file_text_, TokenHash(tokens_[role]), " ", role, "-token ", role,
                      "\n");
    }
    WriteFile(dir_.Sub("tokens"), absl::StrCat("# test tokens\n\n", tokens_file_text_));
  }

  // A server on 127.0.0.1 over its own data dir under `name`.
  std::unique_ptr<StrataServer> Start(const std::string& name, SecurityOptions security,
                                      bool http = false) {
    ServerOptions options;
    options.data_dir = dir_.Sub(name);
    options.listen = "127.0.0.1:0";
    options.kurrent_listen = "127.0.0.1:0";
    if (http) options.http_listen = "127.0.0.1:0";
    options.security = std::move(security);
    options.logger = LineLogger(false, [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    });
    absl::StatusOr<std::unique_ptr<StrataServer>> server = StrataServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  static std::shared_ptr<grpc::Channel> Plain(int port) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                               grpc::InsecureChannelCredentials());
  }

  testing::TempDir dir_;
  std::map<std::string, std::string> tokens_;  // role -> token
  std::string tokens_file_text_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(SecurityTest, EveryMethodAgainstEveryRole) {
  std::unique_ptr<StrataServer> open = Start("open", {});
  SecurityOptions guarded_options;
  guarded_options.tokens_file = dir_.Sub("tokens");
  std::unique_ptr<StrataServer> guarded = Start("guarded", guarded_options);
  ASSERT_NE(open, nullptr);
  ASSERT_NE(guarded, nullptr);
  const auto open_grpc = Plain(open->port()), open_kurrent = Plain(open->kurrent_port());
  const auto grpc = Plain(guarded->port()), kurrent = Plain(guarded->kurrent_port());

  struct Caller {
    std::string label;
    std::string authorization;
    Needs role;  // kNothing: no valid token
  };
  const std::vector<Caller> callers = {
      {"no token", "", Needs::kNothing},
      {"malformed", absl::StrCat("Token ", tokens_["admin"]), Needs::kNothing},
      {"unknown token", absl::StrCat("Bearer ", NewToken()), Needs::kNothing},
      {"read", absl::StrCat("Bearer ", tokens_["read"]), Needs::kRead},
      {"write", absl::StrCat("Bearer ", tokens_["write"]), Needs::kWrite},
      {"admin", absl::StrCat("bearer ", tokens_["admin"]), Needs::kAdmin},
  };
  for (const Row& row : Table()) {
    // An open server's answer to the same empty request: what an allowed
    // caller must get (INVALID_ARGUMENT for most, OK for reads of nothing).
    const grpc::StatusCode open_code =
        CallCode(row.kurrent ? open_kurrent : open_grpc, row.method, "");
    for (const Caller& caller : callers) {
      const grpc::StatusCode code =
          CallCode(row.kurrent ? kurrent : grpc, row.method, caller.authorization);
      grpc::StatusCode expected = open_code;
      if (row.needs != Needs::kNothing) {
        if (caller.role == Needs::kNothing) {
          expected = grpc::StatusCode::UNAUTHENTICATED;
        } else if (caller.role < row.needs) {
          expected = grpc::StatusCode::PERMISSION_DENIED;
        }
      }
      EXPECT_EQ(code, expected) << row.method << " called with " << caller.label;
    }
  }

  // Every strata.v1 method has a row.
  const google::protobuf::FileDescriptor* file = strata::v1::AppendRequest::descriptor()->file();
  for (int s = 0; s < file->service_count(); ++s) {
    for (int m = 0; m < file->service(s)->method_count(); ++m) {
      const std::string path = absl::StrCat("/", file->service(s)->full_name(), "/",
                                            file->service(s)->method(m)->name());
      EXPECT_TRUE(std::any_of(Table().begin(), Table().end(),
                              [&](const Row& r) { return r.method == path; }))
          << path << " has no row in the role table";
    }
  }

  // Failures are logged with the method, the token's name and the roles,
  // never a token.
  const std::vector<std::string> log = Log();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& l) {
    return absl::StrContains(l,
                             "PERMISSION_DENIED /strata.v1.Streams/Append from ipv4:127.0.0.1:") &&
           absl::StrContains(
               l, ": token 'read-token' has the role read; /strata.v1.Streams/Append needs write");
  }));
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& l) {
    return absl::StrContains(l, "UNAUTHENTICATED /strata.v1.Streams/ReadAll from ") &&
           absl::StrContains(l, ": the access token is not valid");
  }));
  for (const std::string& line : log) {
    for (const auto& [role, token] : tokens_) {
      EXPECT_FALSE(absl::StrContains(line, token)) << "a token in the log: " << line;
    }
  }
}

// KurrentDB clients send their username and password as Basic credentials:
// the token's name and the token.
TEST_F(SecurityTest, KurrentBasicCredentialsAreNameAndToken) {
  SecurityOptions options;
  options.tokens_file = dir_.Sub("tokens");
  std::unique_ptr<StrataServer> server = Start("s", options);
  ASSERT_NE(server, nullptr);
  const auto kurrent = Plain(server->kurrent_port());
  const std::string read = "/event_store.client.streams.Streams/Read";
  const auto basic = [](const std::string& user, const std::string& password) {
    return absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(user, ":", password)));
  };
  const grpc::StatusCode allowed = CallCode(kurrent, read, basic("read-token", tokens_["read"]));
  EXPECT_NE(allowed, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(allowed, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallCode(kurrent, read, basic("write-token", tokens_["read"])),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallCode(kurrent, read, basic("read-token", "changeit")),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallCode(kurrent, read, "Basic not-base64!"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallCode(kurrent, "/event_store.client.streams.Streams/Tombstone",
                     basic("write-token", tokens_["write"])),
            grpc::StatusCode::PERMISSION_DENIED);
}

// A stream's metadata can truncate or soft-delete it ($maxCount, $tb): an
// append to a metastream needs admin, as deleting does, on both protocols.
TEST_F(SecurityTest, MetadataAppendsNeedAdmin) {
  SecurityOptions options;
  options.tokens_file = dir_.Sub("tokens");
  std::unique_ptr<StrataServer> server = Start("s", options);
  ASSERT_NE(server, nullptr);
  v1::Streams::Stub strata(Plain(server->port()));
  const auto append = [&](const std::string& stream, const std::string& type,
                          const std::string& role, v1::AppendResponse* response) {
    v1::AppendRequest request;
    request.set_stream(stream);
    request.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
    v1::ProposedEvent* e = request.add_events();
    e->set_type(type);
    e->set_content_type("application/json");
    e->set_data(type == "$metadata" ? R"({"$maxCount":1})" : "{}");
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", tokens_[role]));
    return strata.Append(&context, request, response);
  };
  v1::AppendResponse response;
  ASSERT_TRUE(append("orders", "Placed", "write", &response).ok());
  grpc::Status s = append("$$orders", "$metadata", "write", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "token 'write-token' has the role write; /strata.v1.Streams/Append to a metadata "
            "stream needs admin");
  EXPECT_EQ(server->log().Head(), 1u);  // nothing written
  s = append("$$orders", "$metadata", "admin", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.last_position(), 2u);

  // KurrentDB clients' setStreamMetadata is such an append.
  namespace es = ::event_store::client;
  es::streams::Streams::Stub kurrent(Plain(server->kurrent_port()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", tokens_["write"]));
  es::streams::AppendResp kurrent_response;
  std::unique_ptr<grpc::ClientWriter<es::streams::AppendReq>> writer =
      kurrent.Append(&context, &kurrent_response);
  es::streams::AppendReq options_message;
  options_message.mutable_options()->mutable_stream_identifier()->set_stream_name("$$orders");
  options_message.mutable_options()->mutable_any();
  writer->Write(options_message);
  writer->WritesDone();
  s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "token 'write-token' has the role write; "
            "/event_store.client.streams.Streams/Append to a metadata stream needs admin");
  EXPECT_EQ(server->log().Head(), 2u);
}

class TlsTest : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCa("ca"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCa("other-ca"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCert("server", "ca"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCa("client-ca"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCert("client", "client-ca"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCert("stranger", "other-ca"));
  }

  SecurityOptions Tls() const {
    SecurityOptions o;
    o.tls_cert_file = pki_.Pem("server");
    o.tls_key_file = pki_.Key("server");
    return o;
  }

  std::shared_ptr<grpc::Channel> Secure(int port, const std::string& ca,
                                        const std::string& client = "") const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(pki_.Pem(ca));
    if (!client.empty()) {
      ssl.pem_cert_chain = ReadFile(pki_.Pem(client));
      ssl.pem_private_key = ReadFile(pki_.Key(client));
    }
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl));
  }

  TestPki pki_{dir_.path()};
};

constexpr char kReadAll[] = "/strata.v1.Streams/ReadAll";

TEST_F(TlsTest, HandshakeWithTheTestCa) {
  std::unique_ptr<StrataServer> server = Start("s", Tls(), /*http=*/true);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(CallCode(Secure(server->port(), "ca"), kReadAll, ""), grpc::StatusCode::OK);
  EXPECT_EQ(CallCode(Secure(server->kurrent_port(), "ca"),
                     "/event_store.client.server_features.ServerFeatures/GetSupportedMethods", ""),
            grpc::StatusCode::OK);
  // A plaintext client, and one that trusts another CA, never get a call through.
  EXPECT_EQ(CallCode(Plain(server->port()), kReadAll, ""), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallCode(Secure(server->port(), "other-ca"), kReadAll, ""),
            grpc::StatusCode::UNAVAILABLE);

  httplib::SSLClient https("127.0.0.1", server->http_port());
  https.set_ca_cert_path(pki_.Pem("ca").c_str());
  https.enable_server_certificate_verification(true);
  httplib::Result r = https.Get("/metrics");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("# TYPE strata_log_head_position gauge"));
  httplib::Client plain("127.0.0.1", server->http_port());
  EXPECT_FALSE(plain.Get("/metrics"));
}

TEST_F(TlsTest, MutualTlsRefusesClientsWithoutACertificateItSigned) {
  SecurityOptions options = Tls();
  options.tls_client_ca_file = pki_.Pem("client-ca");
  std::unique_ptr<StrataServer> server = Start("s", options, /*http=*/true);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(CallCode(Secure(server->port(), "ca", "client"), kReadAll, ""), grpc::StatusCode::OK);
  EXPECT_EQ(CallCode(Secure(server->port(), "ca"), kReadAll, ""), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallCode(Secure(server->port(), "ca", "stranger"), kReadAll, ""),
            grpc::StatusCode::UNAVAILABLE);

  httplib::SSLClient with_cert("127.0.0.1", server->http_port(), pki_.Pem("client"),
                               pki_.Key("client"));
  with_cert.set_ca_cert_path(pki_.Pem("ca").c_str());
  with_cert.enable_server_certificate_verification(true);
  httplib::Result r = with_cert.Get("/metrics");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  httplib::SSLClient without("127.0.0.1", server->http_port());
  without.set_ca_cert_path(pki_.Pem("ca").c_str());
  without.enable_server_certificate_verification(true);
  EXPECT_FALSE(without.Get("/metrics"));
}

TEST_F(TlsTest, MetricsNeedAReadTokenWhenTokensAreConfigured) {
  SecurityOptions options = Tls();
  options.tokens_file = dir_.Sub("tokens");
  std::unique_ptr<StrataServer> server = Start("s", options, /*http=*/true);
  ASSERT_NE(server, nullptr);
  httplib::SSLClient https("127.0.0.1", server->http_port());
  https.set_ca_cert_path(pki_.Pem("ca").c_str());
  https.enable_server_certificate_verification(true);
  httplib::Result none = https.Get("/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(none->body,
            "no access token: send 'authorization: Bearer <token>' (KurrentDB clients: the "
            "token's name as the username, the token as the password)\n");
  httplib::Result wrong =
      https.Get("/metrics", {{"Authorization", absl::StrCat("Bearer ", NewToken())}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  httplib::Result ok =
      https.Get("/metrics", {{"Authorization", absl::StrCat("Bearer ", tokens_["read"])}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_THAT(ok->body, HasSubstr("strata_appends_total"));
  // gRPC calls with the same tokens, over TLS.
  EXPECT_EQ(
      CallCode(Secure(server->port(), "ca"), kReadAll, absl::StrCat("Bearer ", tokens_["read"])),
      grpc::StatusCode::OK);
}

TEST_F(TlsTest, BadTlsFilesAreNamed) {
  SecurityOptions missing = Tls();
  missing.tls_key_file = dir_.Sub("nope.key");
  ServerOptions options;
  options.data_dir = dir_.Sub("s");
  options.listen = "127.0.0.1:0";
  options.security = missing;
  absl::StatusOr<std::unique_ptr<StrataServer>> s = StrataServer::Start(options);
  EXPECT_EQ(s.status().message(),
            absl::StrCat("--tls_key: cannot read '", dir_.Sub("nope.key"), "'"));

  options.security = Tls();
  options.security.tls_key_file = pki_.Key("client");  // another certificate's key
  s = StrataServer::Start(options);
  EXPECT_EQ(s.status().message(),
            absl::StrCat("--tls_key: '", pki_.Key("client"),
                         "' is not the key of the certificate in '", pki_.Pem("server"), "'"));

  options.security = Tls();
  options.security.tls_cert_file = pki_.Key("server");  // a key where a certificate belongs
  s = StrataServer::Start(options);
  EXPECT_EQ(s.status().message(),
            absl::StrCat("--tls_cert: '", pki_.Key("server"), "' holds no PEM certificate"));

  options.security = {};
  options.security.tls_cert_file = pki_.Pem("server");
  s = StrataServer::Start(options);
  EXPECT_EQ(s.status().message(),
            "--tls_cert and --tls_key go together: give both for TLS, or neither");
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("s")));  // refused before opening anything
}

TEST_F(SecurityTest, NonLoopbackNeedsTlsAndTokensOrInsecure) {
  ServerOptions options;
  options.data_dir = dir_.Sub("s");
  options.listen = "0.0.0.0:0";
  absl::StatusOr<std::unique_ptr<StrataServer>> s = StrataServer::Start(options);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message(),
            "refusing to serve plaintext on the non-loopback address --listen=0.0.0.0:0: give "
            "--tls_cert and --tls_key, or --insecure to do it on purpose");
  options.listen = "127.0.0.1:0";
  options.http_listen = "[::]:0";
  s = StrataServer::Start(options);
  EXPECT_THAT(s.status().message(), HasSubstr("address --http_listen=[::]:0:"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("s")));  // refused before opening anything

  // TLS alone is not enough: strangers could still call.
  options.security.tls_cert_file = dir_.Sub("any.pem");
  options.security.tls_key_file = dir_.Sub("any.key");
  s = StrataServer::Start(options);
  EXPECT_EQ(s.status().message(),
            "refusing to serve the non-loopback address --http_listen=[::]:0 to anyone: give "
            "--tokens_file (see `strata tokens new --help`), or --insecure to do it on purpose");

  options.security = {};
  options.security.insecure = true;
  options.http_listen = "";
  options.listen = "0.0.0.0:0";
  s = StrataServer::Start(options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NE((*s)->port(), 0);
}

TEST(IsLoopbackTest, Addresses) {
  using api::IsLoopback;
  for (const char* yes : {"127.0.0.1:1", "127.1.2.3:50051", "localhost:1", "LOCALHOST:1",
                          "[::1]:2113", "::1", "[::ffff:127.0.0.1]:1", "unix:/tmp/s.sock"}) {
    EXPECT_TRUE(IsLoopback(yes)) << yes;
  }
  for (const char* no :
       {"0.0.0.0:1", "[::]:1", "10.0.0.1:1", "127.0.0.256:1", "127.0.0:1", "example.com:1",
        "128.0.0.1:1", ":50051", "127.0.0.+1:1", "::1:2113", "[::ffff:10.0.0.1]:1", "0177.0.0.1:1",
        "ipv6:[::1]:1,[2001:db8::1]:2", "[::1]x"}) {
    EXPECT_FALSE(IsLoopback(no)) << no;
  }
}

// The client side (api/client_channel.h): a token crosses the network only
// inside TLS, and a client certificate comes with its key.
TEST(ClientChannelTest, NoTokenInPlaintextOffThisMachine) {
  api::ClientSecurity security;
  security.token = NewToken();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      api::NewChannel("10.1.2.3:50051", security, grpc::ChannelArguments());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(channel.status().message(),
            "refusing to send the access token in plaintext to '10.1.2.3:50051', which is not on "
            "this machine: add --tls (and --tls-ca if the server's certificate is not from a "
            "public CA)");
  EXPECT_TRUE(api::NewChannel("localhost:50051", security, grpc::ChannelArguments()).ok());
  EXPECT_TRUE(api::NewChannel("dns:///127.0.0.1:50051", security, grpc::ChannelArguments()).ok());
  security.use_tls = true;
  EXPECT_TRUE(api::NewChannel("10.1.2.3:50051", security, grpc::ChannelArguments()).ok());
  security.use_tls = false;
  security.token.clear();
  EXPECT_TRUE(api::NewChannel("10.1.2.3:50051", security, grpc::ChannelArguments()).ok());
  security.tls_key_file = "/tmp/client.key";
  channel = api::NewChannel("localhost:50051", security, grpc::ChannelArguments());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(channel.status().message(),
            "--tls-cert and --tls-key go together (a client certificate and its key)");
}

TEST_F(SecurityTest, TokensFileMistakesNameTheLine) {
  const std::string path = dir_.Sub("bad");
  const auto load = [&](const std::string& text) {
    WriteFile(path, text);
    SecurityOptions o;
    o.tokens_file = path;
    return Authorizer::Load(o, NullLogger()).status();
  };
  const std::string hash = TokenHash("x");
  EXPECT_EQ(load(absl::StrCat("# ok\n", hash, " a read\n", hash, " b admin\n")).message(),
            absl::StrCat("--tokens_file: ", path, ":3: this token's hash is listed twice"));
  EXPECT_EQ(load(absl::StrCat(hash, " a reader\n")).message(),
            absl::StrCat("--tokens_file: ", path, ":1: role 'reader' is not read, write or admin"));
  EXPECT_EQ(load("strata_abc a read\n").message(),
            absl::StrCat("--tokens_file: ", path,
                         ":1: the first field is not 'sha256:' and 64 hex digits (the token's "
                         "hash, as `strata tokens new` prints it)"));
  EXPECT_EQ(load(absl::StrCat("\n", hash, " a\n")).message(),
            absl::StrCat("--tokens_file: ", path,
                         ":2: expected 'sha256:<64 hex> NAME ROLE' (three fields)"));
  EXPECT_EQ(load(absl::StrCat(hash, " ops:alice admin\n")).message(),
            absl::StrCat("--tokens_file: ", path,
                         ":1: the name 'ops:alice' is not 1 to 64 letters, digits, '-', '_' or "
                         "'.'"));
  EXPECT_EQ(load("# nothing\n").message(),
            absl::StrCat("--tokens_file: ", path, " lists no token (every call would be refused)"));
  EXPECT_EQ(load(absl::StrCat(hash, "\tci\twrite\n")), absl::OkStatus());
  SecurityOptions missing;
  missing.tokens_file = dir_.Sub("absent");
  EXPECT_EQ(Authorizer::Load(missing, NullLogger()).status().code(), absl::StatusCode::kNotFound);
}

TEST(TokenTest, HashAndShape) {
  // SHA-256 of "abc" (FIPS 180-2's example).
  EXPECT_EQ(TokenHash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string a = NewToken(), b = NewToken();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 7 + 43u);
  EXPECT_TRUE(absl::StartsWith(a, "strata_"));
}

}  // namespace
}  // namespace strata::server
