// /metrics (server/metrics.h, server/http_server.h) of a real in-process
// server (gRPC and HTTP on 127.0.0.1, real RocksDB stores in a temp dir),
// scraped over HTTP with cpp-httplib while clients append, and after:
//  - every scrape parses as the Prometheus text format: each line a HELP, a
//    TYPE or a well-formed sample; every sample's family declared (HELP and
//    TYPE) before it; histogram buckets cumulative, ending at +Inf = _count;
//  - the figures equal the work done: appends by outcome, events appended,
//    group commits (events summed), the head, gRPC calls by method and code;
//    projection lag returns to 0 with the checkpoints at the head; an open
//    subscription is counted while open.
#include <atomic>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "engine/internal/codec.h"
#include "projections/data_dir.h"
#include "rocksdb/db.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

namespace v1 = ::strata::v1;

// One scrape, parsed: sample ("name{labels}" as written) -> value.
struct Scrape {
  std::map<std::string, double> samples;
  std::set<std::string> families;
};

// Parses the text format strictly; a malformed line fails the test.
Scrape Parse(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\S+))");
  Scrape out;
  std::set<std::string> helped;
  std::map<std::string, std::string> typed;
  std::string last_bucket_family;
  double last_bucket = -1;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string l(line);
    std::smatch m;
    if (std::regex_match(l, m, kHelp)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << l;
      continue;
    }
    if (std::regex_match(l, m, kType)) {
      EXPECT_TRUE(helped.contains(m[1])) << "TYPE before HELP: " << l;
      EXPECT_TRUE(typed.emplace(m[1], m[2]).second) << "TYPE twice: " << l;
      continue;
    }
    if (!std::regex_match(l, m, kSample)) {
      ADD_FAILURE() << "not a HELP, TYPE or sample line: '" << l << "'";
      continue;
    }
    std::string family = m[1];
    const std::string value_text = m[m.size() - 1];
    double value = 0;
    if (value_text == "+Inf") {
      value = std::numeric_limits<double>::infinity();
    } else {
      EXPECT_TRUE(absl::SimpleAtod(value_text, &value)) << l;
    }
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string base = family.substr(0, family.size() - std::strlen(suffix));
      if (absl::EndsWith(family, suffix) && typed.contains(base) && typed[base] == "histogram") {
        if (std::string(suffix) == "_bucket") {
          if (last_bucket_family != l.substr(0, l.find("le="))) last_bucket = -1;
          EXPECT_GE(value, last_bucket) << "buckets not cumulative: " << l;
          last_bucket = value;
          last_bucket_family = l.substr(0, l.find("le="));
        }
        family = base;
      }
    }
    EXPECT_TRUE(helped.contains(family) && typed.contains(family))
        << "sample before its HELP and TYPE: " << l;
    out.families.insert(family);
    EXPECT_TRUE(out.samples.emplace(l.substr(0, l.rfind(' ')), value).second)
        << "sample twice: " << l;
  }
  return out;
}

// The value of `family`'s one sample for `projection`'s live generation.
double Live(const Scrape& s, const std::string& family, const std::string& projection) {
  std::vector<double> found;
  const std::string prefix = absl::StrCat(family, "{projection=\"", projection, "\",");
  for (const auto& [sample, value] : s.samples) {
    if (absl::StartsWith(sample, prefix) &&
        absl::EndsWith(sample, ",generation_state=\"live\"}")) {
      found.push_back(value);
    }
  }
  EXPECT_EQ(found.size(), 1u) << family << " " << projection;
  return found.empty() ? -1 : found[0];
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    options.http_listen = "127.0.0.1:0";
    options.projections.logger = NullLogger();
    auto server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->http_port(), 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    streams_ = v1::Streams::NewStub(channel_);
  }

  Scrape ScrapeNow() {
    httplib::Client client("127.0.0.1", server_->http_port());
    auto res = client.Get("/metrics");
    if (!res) {
      ADD_FAILURE() << "scrape failed: " << httplib::to_string(res.error());
      return {};
    }
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return Parse(res->body);
  }

  grpc::Status Append(const std::string& stream, v1::ExpectedVersion::Kind kind, uint64_t version,
                      int events) {
    v1::AppendRequest req;
    req.set_stream(stream);
    req.mutable_expected_version()->set_kind(kind);
    req.mutable_expected_version()->set_version(version);
    for (int i = 0; i < events; ++i) {
      auto* e = req.add_events();
      e->set_type("Counted");
      e->set_data("{}");
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::AppendResponse resp;
    return streams_->Append(&ctx, req, &resp);
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<StrataServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Streams::Stub> streams_;
};

TEST_F(MetricsTest, ScrapesParseAndCountExactlyWhatWasDone) {
  // 4 writers x 25 appends of 2 events, 10 stale ones, 5 invalid; scraped
  // all along.
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!done.load()) {
      const Scrape s = ScrapeNow();
      EXPECT_TRUE(s.families.contains("strata_appends_total"));
      scrapes.fetch_add(1);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        if (!Append(absl::StrCat("counted-", w), v1::ExpectedVersion::ANY, 0, 2).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Append("counted-0", v1::ExpectedVersion::EXACT, 999, 1).error_code(),
              grpc::StatusCode::ABORTED);
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Append("", v1::ExpectedVersion::ANY, 0, 1).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {  // One health check, as a generic call (an empty HealthCheckRequest).
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification called;
    grpc::Status status;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        status = s;
                        called.Notify();
                      });
    called.WaitForNotification();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  done.store(true);
  scraper.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(scrapes.load(), 0);

  // The projections catch up: lag 0, checkpoints at the head.
  Scrape s;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool caught_up = false;
  while (!caught_up && absl::Now() < deadline) {
    s = ScrapeNow();
    caught_up = true;
    for (const char* p : {"link_clicks", "link_details"}) {
      caught_up = caught_up && Live(s, "strata_projection_lag_events", p) == 0 &&
                  Live(s, "strata_projection_checkpoint_position", p) == 200 &&
                  Live(s, "strata_projection_lag_seconds", p) == 0;
    }
    if (!caught_up) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(caught_up);

  EXPECT_EQ(s.samples["strata_appends_total{outcome=\"ok\"}"], 100);
  EXPECT_EQ(s.samples["strata_appends_total{outcome=\"wrong_expected_version\"}"], 10);
  EXPECT_EQ(s.samples["strata_appends_total{outcome=\"rejected\"}"], 5);
  EXPECT_EQ(s.samples["strata_appends_total{outcome=\"deduplicated\"}"], 0);
  EXPECT_EQ(s.samples["strata_events_appended_total"], 200);
  EXPECT_EQ(s.samples["strata_log_head_position"], 200);
  EXPECT_EQ(s.samples["strata_append_latency_seconds_count"], 100);
  // Every event went through exactly one group commit, each with one sync.
  EXPECT_EQ(s.samples["strata_group_commit_events_sum"], 200);
  const double groups = s.samples["strata_group_commit_events_count"];
  EXPECT_GE(groups, 25);  // at most 4 appends (8 events) share a group
  EXPECT_LE(groups, 100);
  EXPECT_EQ(s.samples["strata_fsync_latency_seconds_count"], groups);
  EXPECT_EQ(s.samples["strata_group_commit_events_bucket{le=\"+Inf\"}"], groups);
  const std::string append = "service=\"strata.v1.Streams\",method=\"Append\"";
  EXPECT_EQ(s.samples[absl::StrCat("strata_grpc_calls_total{", append, ",code=\"OK\"}")], 100);
  EXPECT_EQ(s.samples[absl::StrCat("strata_grpc_calls_total{", append, ",code=\"ABORTED\"}")],
            10);
  EXPECT_EQ(
      s.samples[absl::StrCat("strata_grpc_calls_total{", append, ",code=\"INVALID_ARGUMENT\"}")],
      5);
  EXPECT_EQ(s.samples[absl::StrCat("strata_grpc_call_latency_seconds_count{", append, "}")], 115);
  EXPECT_EQ(Live(s, "strata_projection_events_applied_total", "link_clicks"), 200);
  // gRPC's own health service, counted under its name.
  EXPECT_EQ(s.samples["strata_grpc_calls_total{service=\"grpc.health.v1.Health\","
                      "method=\"Check\",code=\"OK\"}"],
            1);
  EXPECT_EQ(s.samples["strata_subscriptions_open"], 0);
  EXPECT_GT(s.samples["strata_log_stored_bytes"], 0);
  for (const char* family :
       {"strata_rocksdb_memtable_bytes", "strata_rocksdb_block_cache_bytes",
        "strata_rocksdb_write_stopped", "strata_rocksdb_pending_compaction_bytes",
        "strata_projection_state", "strata_projection_progress_ratio",
        "strata_subscription_queued_bytes"}) {
    EXPECT_TRUE(s.families.contains(family)) << family;
  }
}

TEST_F(MetricsTest, AnOpenSubscriptionIsCountedWhileOpen) {
  ASSERT_TRUE(Append("sub-1", v1::ExpectedVersion::ANY, 0, 3).ok());
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  auto reader = streams_->Subscribe(&ctx, req);
  v1::SubscribeResponse m;
  // Catch-up, then the caught-up marker: the subscription is live.
  while (reader->Read(&m) && !m.has_caught_up()) {
  }
  EXPECT_EQ(ScrapeNow().samples["strata_subscriptions_open"], 1);
  ctx.TryCancel();
  while (reader->Read(&m)) {
  }
  reader->Finish();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  double open = 1;
  while (open != 0 && absl::Now() < deadline) {
    open = ScrapeNow().samples["strata_subscriptions_open"];
    if (open != 0) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(open, 0);
  EXPECT_EQ(ScrapeNow().samples["strata_subscription_queued_bytes"], 0);
}

// A call the server fails with DATA_LOSS (a damaged record) is logged with
// its method, besides being counted.
TEST(ServerFailureLogTest, DataLossIsLoggedWithTheMethod) {
  strata::testing::TempDir dir;
  ServerOptions options;
  options.data_dir = dir.path();
  options.listen = "127.0.0.1:0";
  options.projections.logger = NullLogger();
  {
    auto server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    NewEvent e;
    e.type = "T";
    ASSERT_TRUE((*server)->log().Append("s", ExpectedVersion::Any(), {e}).ok());
  }
  {  // Damage position 1's record with plain RocksDB.
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), LogDir(dir.path()), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), LogDir(dir.path()), cfs, &handles, &db).ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "events") {
        EXPECT_TRUE(db->Put({}, handles[i], internal::PositionKey(1), "damaged").ok());
      }
    }
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  absl::Mutex mu;
  std::vector<std::string> lines;
  options.logger = LineLogger(false, [&](const std::string& line) {
    absl::MutexLock lock(&mu);
    lines.push_back(line);
  });
  auto server = StrataServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Streams::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto reader = stub->ReadAll(&ctx, v1::ReadAllRequest());
  v1::ReadAllResponse m;
  while (reader->Read(&m)) {
  }
  const grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  (*server)->Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(lines, ::testing::Contains(::testing::EndsWith(absl::StrCat(
                         "Z error server: gRPC /strata.v1.Streams/ReadAll failed: DATA_LOSS: ",
                         s.error_message()))));
}

// The parser the tests rely on refuses what Prometheus would.
TEST(MetricsParserTest, RefusesMalformedText) {
  EXPECT_NONFATAL_FAILURE(Parse("strata_x 1\n"), "sample before its HELP and TYPE");
  EXPECT_NONFATAL_FAILURE(Parse("# HELP a b\n# TYPE a counter\na{l=1} 2\n"),
                          "not a HELP, TYPE or sample line");
  EXPECT_NONFATAL_FAILURE(Parse("# TYPE a counter\n"), "TYPE before HELP");
  EXPECT_NONFATAL_FAILURE(
      Parse("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\n"),
      "buckets not cumulative");
  const Scrape ok = Parse("# HELP a b c\n# TYPE a gauge\na{x=\"y \\\"z\\\"\"} 2.5\n");
  EXPECT_EQ(ok.samples.at("a{x=\"y \\\"z\\\"\"}"), 2.5);
}

TEST_F(MetricsTest, OtherPathsAnswerNotFoundNamingMetrics) {
  httplib::Client client("127.0.0.1", server_->http_port());
  auto res = client.Get("/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "no page at /nothing; the web UI is at /, metrics are at /metrics\n");
}

}  // namespace
}  // namespace strata::server
