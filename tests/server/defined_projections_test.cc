// Defined projections through the real server on a loopback port: define over
// gRPC, build in the background, query rows (Get, Scan with pages) equal to an
// independent fold, at the head and as of random past positions; an
// identical definition is a no-op; a changed one becomes the next version and
// cuts over; delete; a restart keeps definitions and state; bad events under
// "fail"; and every refused request names its field.
#include <chrono>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "server/strata_server.h"
#include "tests/projections/defined_fixtures.h"
#include "tests/testutil/temp_dir.h"

namespace strata::server {
namespace {

using ::strata::testing::FoldOrders;
using ::strata::testing::GenerateOrders;
using ::strata::testing::OrderEvent;
using ::strata::testing::OrdersDefinitionJson;
using ::strata::testing::ParseDefinition;
using ::strata::testing::Placed;
using ::testing::HasSubstr;

constexpr int64_t kHourUs = 3600LL * 1'000'000;

class DefinedProjectionsTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    server_.reset();
    ServerOptions options;
    options.data_dir = dir_.path();
    options.listen = "127.0.0.1:0";
    // Each append is 7 hours after the previous one, so day keys vary.
    options.log.clock_us = [this] { return clock_us_.fetch_add(7 * kHourUs); };
    options.projections.snapshot_interval_events = 50;
    options.logger = NullLogger();
    auto server = StrataServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    streams_ = v1::Streams::NewStub(channel_);
    admin_ = v1::Projections::NewStub(channel_);
    queries_ = v1::ProjectionQueries::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  // Appends `events` one call each and records where the log put them.
  void AppendAll(std::vector<OrderEvent>& events) {
    for (OrderEvent& e : events) {
      v1::AppendRequest req;
      req.set_stream(e.stream);
      req.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
      v1::ProposedEvent* p = req.add_events();
      p->set_type(e.type);
      p->set_content_type("application/json");
      p->set_data(e.data);
      p->set_metadata(e.metadata);
      v1::AppendResponse resp;
      grpc::Status s = streams_->Append(Ctx().get(), req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      placed_.push_back(Placed{resp.last_position(), resp.last_version()});
      absl::StatusOr<RecordedEvent> stored = server_->log().ReadEvent(resp.last_position());
      ASSERT_TRUE(stored.ok());
      e.recorded_at_us = stored->recorded_at_us;
    }
  }

  grpc::Status Define(const std::string& json, v1::DefineProjectionResponse* out) {
    v1::DefineProjectionRequest req;
    *req.mutable_definition() = ParseDefinition(json);
    return admin_->DefineProjection(Ctx().get(), req, out);
  }

  // Every row of `name` through Scan pages of `page` rows, as of `as_of`.
  std::vector<defined::Row> ScanAll(const std::string& name, std::optional<uint64_t> as_of,
                                    uint32_t page, uint64_t* position = nullptr) {
    std::vector<defined::Row> out;
    v1::ScanRowsRequest req;
    req.set_projection(name);
    req.set_limit(page);
    if (as_of.has_value()) req.set_as_of_position(*as_of);
    req.set_min_position(server_->log().Head());
    for (;;) {
      v1::ScanRowsResponse resp;
      grpc::Status s = queries_->Scan(Ctx().get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) return out;
      if (position != nullptr) *position = resp.position();
      EXPECT_LE(resp.rows_size(), static_cast<int>(page));
      for (const v1::Row& r : resp.rows()) out.push_back(FromProto(r));
      if (resp.next_page_token().empty()) return out;
      req.set_page_token(resp.next_page_token());
      req.clear_min_position();
    }
  }

  static defined::Row FromProto(const v1::Row& r) {
    defined::Row row;
    row.key.assign(r.key().begin(), r.key().end());
    for (const auto& [name, v] : r.values()) {
      switch (v.value_case()) {
        case v1::RowValue::kInt64Value:
          row.values[name] = defined::Value::Int(v.int64_value());
          break;
        case v1::RowValue::kDoubleValue:
          row.values[name] = defined::Value::Double(v.double_value());
          break;
        case v1::RowValue::kStringValue:
          row.values[name] = defined::Value::String(v.string_value());
          break;
        case v1::RowValue::kBoolValue:
          row.values[name] = defined::Value::Bool(v.bool_value());
          break;
        default:
          row.values[name] = defined::Value::Json(v.json_value());
          break;
      }
    }
    return row;
  }

  std::vector<v1::ProjectionInfo> Infos(const std::string& name) {
    v1::ListProjectionsResponse resp;
    grpc::Status s = admin_->ListProjections(Ctx().get(), v1::ListProjectionsRequest(), &resp);
    EXPECT_TRUE(s.ok());
    std::vector<v1::ProjectionInfo> out;
    for (const auto& p : resp.projections()) {
      if (p.name() == name) out.push_back(p);
    }
    return out;
  }

  // Waits until `name` has exactly one generation, live, at `version`.
  void WaitLive(const std::string& name, uint32_t version) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      std::vector<v1::ProjectionInfo> infos = Infos(name);
      if (infos.size() == 1 && infos[0].state() == "live" && infos[0].version() == version &&
          infos[0].lag() == 0) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << name << " v" << version << " did not go live";
  }

  std::atomic<int64_t> clock_us_{1'767'225'600'000'000};  // 2026-01-01
  strata::testing::TempDir dir_;
  std::unique_ptr<StrataServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Streams::Stub> streams_;
  std::unique_ptr<v1::Projections::Stub> admin_;
  std::unique_ptr<v1::ProjectionQueries::Stub> queries_;
  std::vector<Placed> placed_;
};

TEST_F(DefinedProjectionsTest, BuildsAnswersAndTimeTravelsLikeTheIndependentFold) {
  std::vector<OrderEvent> events = GenerateOrders(600, 3, 50);
  std::vector<OrderEvent> first(events.begin(), events.begin() + 400);
  AppendAll(first);
  v1::DefineProjectionResponse defined;
  grpc::Status s = Define(OrdersDefinitionJson("orders", "skip"), &defined);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(defined.projection_version(), 1u);
  EXPECT_TRUE(defined.changed());
  // Live events after the definition are folded too.
  std::vector<OrderEvent> rest(events.begin() + 400, events.end());
  AppendAll(rest);
  for (size_t i = 0; i < rest.size(); ++i) events[400 + i] = rest[i];
  for (size_t i = 0; i < first.size(); ++i) events[i] = first[i];
  // The definition's own event sits in the log between the two batches.
  std::vector<OrderEvent> with_definition = events;
  std::vector<Placed> placed = placed_;
  OrderEvent definition_event;
  definition_event.stream = "$projections";
  with_definition.insert(with_definition.begin() + 400, definition_event);
  placed.insert(placed.begin() + 400, Placed{defined.position(), 1});

  uint64_t position = 0;
  const std::vector<defined::Row> rows = ScanAll("orders", std::nullopt, 37, &position);
  EXPECT_EQ(position, server_->log().Head());
  const testing::OrdersFold expected =
      FoldOrders(with_definition, placed, with_definition.size(), true);
  EXPECT_EQ(rows, expected.Rows());
  ASSERT_GT(expected.skipped, 3u);

  // Get: one row, and a missing one.
  v1::GetRowRequest get;
  get.set_projection("orders");
  get.add_key("all");
  v1::GetRowResponse got;
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
  ASSERT_TRUE(got.has_row());
  EXPECT_EQ(FromProto(got.row()), (defined::Row{{"all"}, expected.rows.at({"all"})}));
  EXPECT_EQ(got.position(), server_->log().Head());
  get.set_key(0, "nope");
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
  EXPECT_FALSE(got.has_row());

  // Status shows the skipped events.
  std::vector<v1::ProjectionInfo> infos = Infos("orders");
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_TRUE(infos[0].defined());
  EXPECT_EQ(infos[0].skipped_events(), expected.skipped);
  EXPECT_EQ(infos[0].first_skipped_position(), expected.first_skipped);
  EXPECT_EQ(infos[0].last_skipped_position(), expected.last_skipped);

  // Time travel at random positions equals the fold of that prefix.
  std::mt19937 rng(5);
  for (int i = 0; i < 12; ++i) {
    const uint64_t at = 1 + rng() % server_->log().Head();
    size_t count = 0;
    while (count < placed.size() && placed[count].position <= at) ++count;
    uint64_t answered = 0;
    EXPECT_EQ(ScanAll("orders", at, 50, &answered),
              FoldOrders(with_definition, placed, count, true).Rows())
        << "as of " << at;
    EXPECT_EQ(answered, at);
  }
}

TEST_F(DefinedProjectionsTest, RedefineCutsOverDeleteRetiresAndRestartKeepsAll) {
  std::vector<OrderEvent> events = GenerateOrders(300, 9, 0);
  AppendAll(events);
  v1::DefineProjectionResponse v1_resp;
  ASSERT_TRUE(Define(OrdersDefinitionJson("orders", "fail"), &v1_resp).ok());
  WaitLive("orders", 1);
  // Identical (the default policy spelled out or not): nothing changes.
  v1::DefineProjectionResponse same;
  std::string implicit = OrdersDefinitionJson("orders", "fail");
  implicit.replace(implicit.find(R"("on_bad_event": "fail",)"), 23, "");
  ASSERT_TRUE(Define(implicit, &same).ok());
  EXPECT_EQ(same.projection_version(), 1u);
  EXPECT_FALSE(same.changed());
  EXPECT_EQ(same.position(), v1_resp.position());
  EXPECT_EQ(same.state(), "live");

  // A page token of version 1, to be refused once version 2 answers.
  v1::ScanRowsRequest first_page;
  first_page.set_projection("orders");
  first_page.set_limit(1);
  v1::ScanRowsResponse first_rows;
  ASSERT_TRUE(queries_->Scan(Ctx().get(), first_page, &first_rows).ok());
  ASSERT_FALSE(first_rows.next_page_token().empty());

  // A changed definition: version 2, built while version 1 answers.
  const std::string v2_json = R"({"name":"orders","rules":[{"event_types":["OrderPlaced"],
      "keys":[{"parts":[{"event":"category"}]}],"operations":[{"field":"placed","count":{}}]}]})";
  v1::DefineProjectionResponse v2_resp;
  ASSERT_TRUE(Define(v2_json, &v2_resp).ok());
  EXPECT_EQ(v2_resp.projection_version(), 2u);
  EXPECT_TRUE(v2_resp.changed());
  v1::GetRowRequest get;
  get.set_projection("orders");
  get.add_key("all");
  v1::GetRowResponse got;
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());  // v1 or v2: always an answer
  WaitLive("orders", 2);
  first_page.set_page_token(first_rows.next_page_token());
  grpc::Status stale = queries_->Scan(Ctx().get(), first_page, &first_rows);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(stale.error_message(), HasSubstr("was rebuilt or redefined since the first page"));
  int placed_count = 0;
  for (const OrderEvent& e : events) {
    placed_count += e.type == "OrderPlaced" && e.stream.rfind("order-", 0) == 0;
  }
  get.set_key(0, "order");
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
  ASSERT_TRUE(got.has_row());
  EXPECT_EQ(got.row().values().at("placed").int64_value(), placed_count);

  // Both versions' definitions stay readable.
  v1::GetProjectionDefinitionRequest def_req;
  def_req.set_name("orders");
  v1::GetProjectionDefinitionResponse def_resp;
  ASSERT_TRUE(admin_->GetProjectionDefinition(Ctx().get(), def_req, &def_resp).ok());
  EXPECT_EQ(def_resp.projection_version(), 2u);
  EXPECT_EQ(def_resp.definition().rules_size(), 1);
  EXPECT_EQ(def_resp.definition().on_bad_event(), "fail");
  EXPECT_EQ(def_resp.position(), v2_resp.position());
  def_req.set_projection_version(1);
  ASSERT_TRUE(admin_->GetProjectionDefinition(Ctx().get(), def_req, &def_resp).ok());
  EXPECT_EQ(def_resp.definition().rules_size(), 5);
  def_req.set_projection_version(3);
  grpc::Status missing = admin_->GetProjectionDefinition(Ctx().get(), def_req, &def_resp);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("projection_version: orders has versions 1-2"));

  // Restart: the definition, its version and its rows are back.
  StartServer();
  WaitLive("orders", 2);
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.row().values().at("placed").int64_value(), placed_count);

  // Delete: it stops answering, its history stays, and survives a restart.
  v1::DeleteProjectionRequest del;
  del.set_name("orders");
  v1::DeleteProjectionResponse del_resp;
  ASSERT_TRUE(admin_->DeleteProjection(Ctx().get(), del, &del_resp).ok());
  EXPECT_GT(del_resp.position(), v2_resp.position());
  EXPECT_EQ(queries_->Get(Ctx().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Infos("orders").empty());
  EXPECT_EQ(admin_->DeleteProjection(Ctx().get(), del, &del_resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  StartServer();
  EXPECT_TRUE(Infos("orders").empty());
  def_req.clear_projection_version();
  ASSERT_TRUE(admin_->GetProjectionDefinition(Ctx().get(), def_req, &def_resp).ok());
  EXPECT_TRUE(def_resp.deleted());
  EXPECT_EQ(def_resp.projection_version(), 2u);
  // Defined again: the next version, built from the start.
  v1::DefineProjectionResponse v3_resp;
  ASSERT_TRUE(Define(v2_json, &v3_resp).ok());
  EXPECT_EQ(v3_resp.projection_version(), 3u);
  WaitLive("orders", 3);
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.row().values().at("placed").int64_value(), placed_count);
}

TEST_F(DefinedProjectionsTest, FailPolicyStopsWithThePositionAndTheReason) {
  std::vector<OrderEvent> events = GenerateOrders(200, 21, 30);
  AppendAll(events);
  GlobalPosition first_bad = 0;
  for (size_t i = 0; i < events.size() && first_bad == 0; ++i) {
    if (events[i].bad) first_bad = placed_[i].position;
  }
  ASSERT_NE(first_bad, 0u);
  v1::DefineProjectionResponse resp;
  ASSERT_TRUE(Define(OrdersDefinitionJson("strict", "fail"), &resp).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<v1::ProjectionInfo> infos;
  while (absl::Now() < deadline) {
    infos = Infos("strict");
    if (infos.size() == 1 && infos[0].state() == "failed") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].state(), "failed");
  EXPECT_EQ(infos[0].error_position(), first_bad);
  EXPECT_THAT(infos[0].error(), HasSubstr(absl::StrCat("bad event at position ", first_bad)));
  v1::GetRowRequest get;
  get.set_projection("strict");
  get.add_key("all");
  v1::GetRowResponse got;
  grpc::Status s = queries_->Get(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("failed at position ", first_bad)));
}

TEST_F(DefinedProjectionsTest, RefusedRequestsNameTheirFieldAndChangeNothing) {
  v1::DefineProjectionResponse resp;
  struct Case {
    std::string json;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"name":"p","rules":[{"keys":[{"parts":[{"time":{"unit":"dya"}}]}],
                "operations":[{"field":"n","count":{}}]}]})",
            "rules[0].keys[0].parts[0].time.unit: unknown time unit 'dya'"},
           {R"({"name":"link_clicks","rules":[{"keys":[{"parts":[{"literal":"a"}]}],
                "operations":[{"field":"n","count":{}}]}]})",
            "name: 'link_clicks' is a built-in projection"},
           {R"({"name":"$x","rules":[]})", "name: '$x' must be 1-64"},
       }) {
    grpc::Status s = Define(c.json, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.json;
    EXPECT_THAT(s.error_message(), HasSubstr(c.message));
  }
  grpc::Status s = admin_->DefineProjection(Ctx().get(), v1::DefineProjectionRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "definition: required");
  EXPECT_EQ(server_->log().Head(), 0u) << "a refused definition appends nothing";

  // The system stream is not the clients'.
  v1::AppendRequest append;
  append.set_stream("$projections");
  append.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
  append.add_events()->set_type("ProjectionDefined");
  v1::AppendResponse append_resp;
  s = streams_->Append(Ctx().get(), append, &append_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("stream: '$projections': names starting with '$'"));

  ASSERT_TRUE(Define(R"({"name":"p","rules":[{"keys":[{"parts":[{"event":"stream"}]}],
                         "operations":[{"field":"n","count":{}}]}]})",
                     &resp)
                  .ok());
  v1::GetRowRequest get;
  v1::GetRowResponse got;
  s = queries_->Get(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "projection: required");
  get.set_projection("p");
  s = queries_->Get(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "key: at least one key part");
  get.set_projection("nope");
  get.add_key("a");
  s = queries_->Get(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "projection: no defined projection 'nope'");
  get.set_projection("link_clicks");
  s = queries_->Get(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("'link_clicks' is built in"));
  v1::ScanRowsRequest scan;
  v1::ScanRowsResponse scanned;
  scan.set_projection("p");
  scan.set_limit(5000);
  s = queries_->Scan(Ctx().get(), scan, &scanned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("limit: 5000 is more than"));
  scan.set_limit(10);
  scan.set_page_token("!!");
  s = queries_->Scan(Ctx().get(), scan, &scanned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token: malformed"));
  scan.clear_page_token();
  scan.set_as_of_position(1000);
  s = queries_->Scan(Ctx().get(), scan, &scanned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  v1::DeleteProjectionRequest del;
  del.set_name("link_details");
  v1::DeleteProjectionResponse del_resp;
  s = admin_->DeleteProjection(Ctx().get(), del, &del_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("'link_details' is built in"));
}

}  // namespace
}  // namespace strata::server

namespace strata::server {
namespace {

TEST_F(DefinedProjectionsTest, ScriptsBuildAnswerTimeTravelAndFailAlone) {
  // 300 events over 5 streams; "amount" is the event's index.
  std::vector<OrderEvent> events;
  for (int i = 0; i < 300; ++i) {
    OrderEvent e;
    e.stream = absl::StrCat("acct-", i % 5);
    e.type = i % 4 == 0 ? "Withdrawn" : "Deposited";
    e.data = absl::StrCat(R"({"amount":)", i, "}");
    e.metadata = "{}";
    events.push_back(e);
  }
  AppendAll(events);
  auto define_script = [&](const std::string& name, const std::string& lua,
                           v1::DefineProjectionResponse* out) {
    v1::DefineProjectionRequest req;
    req.mutable_definition()->set_name(name);
    req.mutable_definition()->mutable_script()->set_lua(lua);
    return admin_->DefineProjection(Ctx().get(), req, out);
  };
  const std::string balance = R"lua(
function init() return {balance = 0, n = 0} end
on = {}
function on.Deposited(s, e) s.balance = s.balance + e.data.amount; s.n = s.n + 1 end
function on.Withdrawn(s, e)
  if e.data.amount <= s.balance then s.balance = s.balance - e.data.amount end
  s.n = s.n + 1
end
)lua";
  v1::DefineProjectionResponse resp;
  grpc::Status s = define_script("balances", balance, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.projection_version(), 1u);
  // A runaway script fails alone, at its first event, naming the line.
  ASSERT_TRUE(define_script("runaway", "on = {}\nfunction on.Deposited(s, e)\n  while true do end\nend\n",
                            &resp)
                  .ok());
  WaitLive("balances", 1);
  // The fold, independently, for every prefix.
  auto fold = [&](uint64_t upto) {
    std::map<std::string, std::pair<int64_t, int64_t>> out;  // balance, n
    for (size_t i = 0; i < events.size() && placed_[i].position <= upto; ++i) {
      auto& [b, n] = out[events[i].stream];
      const int64_t amount = static_cast<int64_t>(i);
      if (events[i].type == "Deposited") {
        b += amount;
      } else if (amount <= b) {
        b -= amount;
      }
      ++n;
    }
    return out;
  };
  std::mt19937 rng(3);
  for (int round = 0; round < 8; ++round) {
    const uint64_t at = round == 0 ? server_->log().Head() : 1 + rng() % server_->log().Head();
    for (const auto& [stream, bn] : fold(at)) {
      v1::GetRowRequest get;
      get.set_projection("balances");
      get.add_key("state");
      get.add_key(stream);
      if (round > 0) get.set_as_of_position(at);
      v1::GetRowResponse got;
      ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
      ASSERT_TRUE(got.has_row()) << stream << " as of " << at;
      EXPECT_EQ(got.row().values().at("state").json_value(),
                absl::StrCat(R"({"balance":)", bn.first, R"(,"n":)", bn.second, "}"))
          << stream << " as of " << at;
    }
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<v1::ProjectionInfo> infos;
  while (absl::Now() < deadline) {
    infos = Infos("runaway");
    if (!infos.empty() && infos[0].state() == "failed") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].state(), "failed");
  EXPECT_EQ(infos[0].error_position(), placed_[1].position);  // the first Deposited
  EXPECT_THAT(infos[0].error(), HasSubstr("runaway.lua:3: CPU budget exceeded"));
  // A new version of the script builds and cuts over.
  const std::string doubled = R"lua(
on = {}
function on.Deposited(s, e) s.total = (s.total or 0) + 2 * e.data.amount end
)lua";
  ASSERT_TRUE(define_script("balances", doubled, &resp).ok());
  EXPECT_EQ(resp.projection_version(), 2u);
  WaitLive("balances", 2);
  int64_t total = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].stream == "acct-1" && events[i].type == "Deposited") total += 2 * i;
  }
  v1::GetRowRequest get;
  get.set_projection("balances");
  get.add_key("state");
  get.add_key("acct-1");
  v1::GetRowResponse got;
  ASSERT_TRUE(queries_->Get(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.row().values().at("state").json_value(), absl::StrCat(R"({"total":)", total, "}"));
}

}  // namespace
}  // namespace strata::server
