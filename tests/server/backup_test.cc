// strata.v1.Admin/Backup on a real server (gRPC on 127.0.0.1, RocksDB in a
// temp dir): the copy holds exactly the log up to the position the answer
// names, while the server goes on taking appends; a second server started on
// the copy (the restore) answers the analytics as of the backup; a backup
// never lands in an existing directory, the data directory or a relative
// path, and a refused one leaves nothing behind.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

namespace v1 = ::strata::v1;
namespace fs = std::filesystem;

class BackupTest : public ::testing::Test {
 protected:
  // A server over `data_dir`, and stubs to it.
  void Start(const std::string& data_dir) {
    ServerOptions options;
    options.data_dir = data_dir;
    options.listen = "127.0.0.1:0";
    options.logger = NullLogger();
    absl::StatusOr<std::unique_ptr<StrataServer>> server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    commands_ = v1::LinkCommands::NewStub(channel);
    queries_ = v1::LinkQueries::NewStub(channel);
    admin_ = v1::Admin::NewStub(channel);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  void CreateLink(const std::string& id) {
    v1::CreateLinkRequest req;
    req.set_link_id(id);
    req.set_destination("https://example.com/" + id);
    req.set_owner("ann");
    v1::CommandResponse out;
    grpc::Status s = commands_->CreateLink(Ctx().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Clicks(const std::string& id, int n) {
    for (int i = 0; i < n; ++i) {
      v1::RecordClickRequest req;
      req.set_link_id(id);
      req.set_country(i % 2 == 0 ? "DE" : "FR");
      req.set_device(v1::MOBILE);
      v1::CommandResponse out;
      grpc::Status s = commands_->RecordClick(Ctx().get(), req, &out);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  }

  // All-time clicks of `id` once the read model has caught up with the log.
  uint64_t AllTimeClicks(const std::string& id) {
    v1::GetLinkAnalyticsRequest req;
    req.set_link_id(id);
    req.set_from_date("2024-01-01");
    req.set_to_date("2024-01-01");
    req.set_min_position(server_->log().Head());
    v1::GetLinkAnalyticsResponse out;
    grpc::Status s = queries_->GetLinkAnalytics(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.all_time_clicks();
  }

  grpc::Status Backup(const std::string& dir, v1::BackupResponse* out) {
    v1::BackupRequest req;
    req.set_dir(dir);
    return admin_->Backup(Ctx().get(), req, out);
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<StrataServer> server_;
  std::unique_ptr<v1::LinkCommands::Stub> commands_;
  std::unique_ptr<v1::LinkQueries::Stub> queries_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(BackupTest, TheCopyIsTheLogAtItsPositionAndRestores) {
  Start(dir_.Sub("live"));
  ASSERT_NO_FATAL_FAILURE(CreateLink("promo"));
  ASSERT_NO_FATAL_FAILURE(Clicks("promo", 7));
  ASSERT_EQ(AllTimeClicks("promo"), 7u);
  const uint64_t head = server_->log().Head();
  ASSERT_EQ(head, 8u);

  v1::BackupResponse backup;
  grpc::Status s = Backup(dir_.Sub("backup-1"), &backup);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(backup.dir(), dir_.Sub("backup-1"));
  EXPECT_EQ(backup.log_position(), head);
  EXPECT_GT(backup.bytes(), 0u);
  EXPECT_GE(backup.seconds(), 0.0);
  EXPECT_TRUE(fs::is_directory(dir_.Sub("backup-1/log")));
  EXPECT_TRUE(fs::is_directory(dir_.Sub("backup-1/projections")));

  // The server goes on; the copy does not.
  ASSERT_NO_FATAL_FAILURE(Clicks("promo", 3));
  EXPECT_EQ(AllTimeClicks("promo"), 10u);
  server_->Shutdown(absl::Seconds(5));
  server_.reset();

  // Restore: a server on the copy.
  Start(dir_.Sub("backup-1"));
  EXPECT_EQ(server_->log().Head(), head);
  EXPECT_EQ(AllTimeClicks("promo"), 7u);
  // And it is a store of its own: it takes appends from where the copy ends.
  ASSERT_NO_FATAL_FAILURE(Clicks("promo", 1));
  EXPECT_EQ(server_->log().Head(), head + 1);
  EXPECT_EQ(AllTimeClicks("promo"), 8u);
}

TEST_F(BackupTest, RefusedDirectoriesNameTheProblemAndLeaveNothing) {
  Start(dir_.Sub("live"));
  ASSERT_NO_FATAL_FAILURE(CreateLink("promo"));
  v1::BackupResponse out;

  grpc::Status s = Backup("", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "dir: required: a new directory's absolute path on the server's machine");

  s = Backup("backups/b1", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "dir: 'backups/b1' is not an absolute path (the backup is written on the server's "
            "machine)");

  s = Backup(dir_.Sub("live/b1"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            absl::StrCat("dir: '", dir_.Sub("live/b1"), "' is inside the server's data directory '",
                         dir_.Sub("live"), "'"));
  s = Backup(dir_.Sub("live"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  s = Backup(dir_.Sub("no/such/parent"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), absl::StrCat("dir: the parent directory '", dir_.Sub("no/such"),
                                            "' does not exist on the server's machine"));

  fs::create_directory(dir_.Sub("taken"));
  s = Backup(dir_.Sub("taken"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(s.error_message(), absl::StrCat("dir: '", dir_.Sub("taken"),
                                            "' already exists; a backup goes to a new directory"));
  EXPECT_TRUE(fs::is_empty(dir_.Sub("taken")));

  // A trailing slash names the same new directory; a second backup there is
  // refused.
  s = Backup(dir_.Sub("b2/"), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.dir(), dir_.Sub("b2"));
  s = Backup(dir_.Sub("b2"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // Nothing was left where a backup was refused, and the server serves on.
  EXPECT_FALSE(fs::exists(dir_.Sub("live/b1")));
  EXPECT_FALSE(fs::exists(dir_.Sub("no")));
  ASSERT_NO_FATAL_FAILURE(Clicks("promo", 2));
  EXPECT_EQ(AllTimeClicks("promo"), 2u);
}

}  // namespace
}  // namespace strata::server
