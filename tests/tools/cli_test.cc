// The strata CLI against a real server on a loopback port and against the
// same server's data directory once it is stopped: each reading subcommand
// gives the exact same --json output both ways; projections list, status and
// rebuild --wait; log tail follows live events and stops on Ctrl-C; links get
// and analytics with time travel; usage errors exit 2 with one line and the
// usage, failed requests exit 1 with one line; the demo fills a server. The
// `strata` binary runs as a subprocess; the server runs in this process on a
// fixed clock, so recorded times and answers are exact.
#include <fstream>

#include "tests/tools/cli_test_util.h"

namespace strata::cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kEvent1[] =
    R"({"position":1,"stream":"orders-1","version":0,"event_id":"00000000-0000-4000-8000-000000000001","type":"OrderPlaced","content_type":"application/json","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":{"user":"ann"},"data":{"sku":"A1","qty":2}})";
constexpr char kEvent2[] =
    R"({"position":2,"stream":"orders-1","version":1,"event_id":"00000000-0000-4000-8000-000000000002","type":"OrderPaid","content_type":"application/json","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":null,"data":{"paid":true}})";
constexpr char kEvent3[] =
    R"({"position":3,"stream":"orders-2","version":0,"event_id":"00000000-0000-4000-8000-000000000003","type":"OrderPlaced","content_type":"application/json","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":null,"data":{"sku":"B7"}})";
constexpr char kEvent4[] =
    R"({"position":4,"stream":"blobs-1","version":0,"event_id":"00000000-0000-4000-8000-000000000004","type":"Blob","content_type":"application/octet-stream","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":"bQo=","data":"AAH/Ymlu"})";
constexpr char kEvent5[] =
    R"({"position":5,"stream":"orders-1","version":2,"event_id":"00000000-0000-4000-8000-000000000005","type":"OrderShipped","content_type":"application/json","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":null,"data_base64":"bm90IGpzb24="})";

std::string Lines(std::initializer_list<const char*> lines) {
  std::string out;
  for (const char* l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

class CliTest : public CliFixture {
 protected:
  void SetUp() override {
    StartServer();
    Populate();
  }

  // Runs `args` against the server, then (stopping it) against its data
  // directory, and expects exit 0 with `expected` on stdout both times.
  void ExpectBothWays(const std::vector<std::string>& args, const std::string& expected) {
    CliResult online = RunCli(With(args, Server()));
    EXPECT_EQ(online.code, 0) << Describe(online);
    EXPECT_EQ(online.out, expected) << Describe(online);
    StopServer();
    CliResult offline = RunCli(With(args, DataDir()));
    EXPECT_EQ(offline.code, 0) << Describe(offline);
    EXPECT_EQ(offline.out, expected) << Describe(offline);
    EXPECT_EQ(offline.err, "");
  }
};

TEST_F(CliTest, StreamsReadGivesExactJsonOnServerAndDataDir) {
  ExpectBothWays({"streams", "read", "orders-1", "--json"}, Lines({kEvent1, kEvent2, kEvent5}));
}

TEST_F(CliTest, StreamsReadBackwardsFromVersionAsOf) {
  // As of position 4, orders-1 had versions 0 and 1; backwards from 1, one event.
  ExpectBothWays({"streams", "read", "orders-1", "--backwards", "--from-version", "1", "--max", "1",
                  "--as-of", "4", "--json"},
                 Lines({kEvent2}));
}

// An index stream: the events of orders-1 and orders-2 in log order, each
// with its version in the index; --from-version counts there.
TEST_F(CliTest, StreamsReadOfAnIndexStreamGivesIndexVersions) {
  ExpectBothWays(
      {"streams", "read", "$ce-orders", "--from-version", "2", "--json"},
      Lines(
          {R"({"position":3,"stream":"orders-2","version":0,"index_version":2,"event_id":"00000000-0000-4000-8000-000000000003","type":"OrderPlaced","content_type":"application/json","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":null,"data":{"sku":"B7"}})",
           R"({"position":5,"stream":"orders-1","version":2,"index_version":3,"event_id":"00000000-0000-4000-8000-000000000005","type":"OrderShipped","content_type":"application/json","recorded_at":"2024-03-10T12:00:00.000000Z","metadata":null,"data_base64":"bm90IGpzb24="})"}));
}

TEST_F(CliTest, LogReadFiltersTypesPrefixBackwardsAndAsOf) {
  CliResult all = RunCli(With({"log", "read", "--max", "5", "--json"}, Server()));
  EXPECT_EQ(all.out, Lines({kEvent1, kEvent2, kEvent3, kEvent4, kEvent5})) << Describe(all);
  ExpectBothWays({"log", "read", "--backwards", "--as-of", "4", "--stream-prefix", "orders-",
                  "--type", "OrderPlaced", "--type", "OrderPaid", "--json"},
                 Lines({kEvent3, kEvent2, kEvent1}));
}

TEST_F(CliTest, LogReadPrintsATableByDefault) {
  CliResult r = RunCli(With({"log", "read", "--from", "2", "--max", "3"}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out,
            "POSITION  STREAM    VERSION  TYPE         RECORDED_AT          DATA\n"
            "       2  orders-1        1  OrderPaid    2024-03-10 12:00:00  {\"paid\":true}\n"
            "       3  orders-2        0  OrderPlaced  2024-03-10 12:00:00  {\"sku\":\"B7\"}\n"
            "       4  blobs-1         0  Blob         2024-03-10 12:00:00  <6 bytes "
            "application/octet-stream>\n");
  r = RunCli(With({"log", "read", "--from", "7", "--max", "1"}, Server()));
  EXPECT_EQ(r.out,
            "POSITION  STREAM        VERSION  TYPE           RECORDED_AT          DATA\n"
            "       7  clicks-promo        0  ClickRecorded  2024-03-10 12:00:00  "
            "{\"link_id\":\"promo\",\"country\":\"DE\",\"device\":\"mobile\","
            "\"clicked_at_us\":1709899200000000}\n");
  r = RunCli(With({"log", "read", "--stream-prefix", "nothing"}, Server()));
  EXPECT_EQ(r.out, "(no events)\n");
}

TEST_F(CliTest, LogTailFollowsLiveEventsUntilCtrlC) {
  CliProcess tail(With({"log", "tail", "--from", "11", "--json"}, Server()));
  std::string out = tail.ReadLines(2);
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_THAT(out, StartsWith(R"({"position":11,"stream":"clicks-promo","version":4,)"));
  // A live event arrives after the catch-up.
  Append("orders-3", v1::ExpectedVersion::NO_STREAM, 0,
         {Event("00000000-0000-4000-8000-000000000013", "OrderPlaced", "application/json",
                R"({"sku":"C3"})")});
  out = tail.ReadLines(3);
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_THAT(out.substr(out.rfind('\n', out.size() - 2) + 1),
              StartsWith(R"({"position":13,"stream":"orders-3","version":0,)"));
  tail.Signal(SIGINT);
  CliResult r = tail.Finish();
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");

  // --max ends the tail by itself; --type filters it.
  r = RunCli(
      With({"log", "tail", "--from", "1", "--type", "Blob", "--max", "1", "--json"}, Server()));
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, Lines({kEvent4}));
}

TEST_F(CliTest, LinksGetTravelsInTime) {
  const std::string now =
      R"({"link_id":"promo","destination":"https://example.org/new","owner":"ann","created_at":"2024-03-10T12:00:00.000000Z","updated_at":"2024-03-10T12:00:00.000000Z","version":1,"position":12})";
  const std::string then =
      R"({"link_id":"promo","destination":"https://example.com/promo","owner":"ann","created_at":"2024-03-10T12:00:00.000000Z","updated_at":"2024-03-10T12:00:00.000000Z","version":0,"position":6})";
  CliResult r = RunCli(With({"links", "get", "promo", "--as-of", "6", "--json"}, Server()));
  EXPECT_EQ(r.out, then + "\n") << Describe(r);
  r = RunCli(With({"links", "get", "promo"}, Server()));
  EXPECT_EQ(r.out,
            "link:         promo\n"
            "destination:  https://example.org/new\n"
            "owner:        ann\n"
            "created:      2024-03-10 12:00:00 UTC\n"
            "updated:      2024-03-10 12:00:00 UTC\n"
            "version:      1\n"
            "as of:        position 12\n")
      << Describe(r);
  ExpectBothWays({"links", "get", "promo", "--json"}, now + "\n");
}

TEST_F(CliTest, LinksAnalyticsIsTheTimeTravelQuery) {
  const std::string now =
      R"({"link_id":"promo","from":"2024-03-07","to":"2024-03-10","position":12,"total_clicks":4,"all_time_clicks":5,)"
      R"("by_day":[{"date":"2024-03-07","clicks":0},{"date":"2024-03-08","clicks":2},{"date":"2024-03-09","clicks":0},{"date":"2024-03-10","clicks":2}],)"
      R"("by_country":[{"country":"DE","clicks":2},{"country":"","clicks":1},{"country":"FR","clicks":1}],)"
      R"("by_device":[{"device":"mobile","clicks":2},{"device":"bot","clicks":1},{"device":"desktop","clicks":1}]})";
  const std::string then =
      R"({"link_id":"promo","from":"2024-03-07","to":"2024-03-10","position":8,"total_clicks":2,"all_time_clicks":2,)"
      R"("by_day":[{"date":"2024-03-07","clicks":0},{"date":"2024-03-08","clicks":2},{"date":"2024-03-09","clicks":0},{"date":"2024-03-10","clicks":0}],)"
      R"("by_country":[{"country":"DE","clicks":1},{"country":"FR","clicks":1}],)"
      R"("by_device":[{"device":"desktop","clicks":1},{"device":"mobile","clicks":1}]})";
  const std::vector<std::string> query = {"links",      "analytics", "promo",     "--from",
                                          "2024-03-07", "--to",      "2024-03-10"};
  CliResult r = RunCli(With(query, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out,
            "link promo: 4 clicks from 2024-03-07 to 2024-03-10 (5 all time), as of position 12\n"
            "\n"
            "DATE        CLICKS\n"
            "2024-03-07       0\n"
            "2024-03-08       2  ########################################\n"
            "2024-03-09       0\n"
            "2024-03-10       2  ########################################\n"
            "\n"
            "COUNTRY    CLICKS  SHARE\n"
            "DE              2  50.0%\n"
            "(unknown)       1  25.0%\n"
            "FR              1  25.0%\n"
            "\n"
            "DEVICE   CLICKS  SHARE\n"
            "mobile        2  50.0%\n"
            "bot           1  25.0%\n"
            "desktop       1  25.0%\n")
      << Describe(r);
  std::vector<std::string> as_of = query;
  as_of.insert(as_of.end(), {"--as-of", "8", "--json"});
  r = RunCli(With(as_of, Server()));
  EXPECT_EQ(r.out, then + "\n") << Describe(r);
  std::vector<std::string> json = query;
  json.insert(json.end(), {"--min-position", "12", "--json"});
  r = RunCli(With(json, Server()));
  EXPECT_EQ(r.out, now + "\n") << Describe(r);
  StopServer();
  r = RunCli(With(as_of, DataDir()));
  EXPECT_EQ(r.out, then + "\n") << Describe(r);
  json.resize(json.size() - 3);
  json.push_back("--json");
  r = RunCli(With(json, DataDir()));
  EXPECT_EQ(r.out, now + "\n") << Describe(r);
}

// Rates depend on timing; everything else is exact.
std::string WithoutRates(const std::string& json) {
  return Normalize(json, R"("events_per_second":[0-9.e+-]+)", R"("events_per_second":R)");
}

TEST_F(CliTest, ProjectionsListAndStatus) {
  const std::string details =
      R"({"name":"link_details","version":1,"generation":1,"state":"live","checkpoint":12,"head":12,"lag":0,"events_per_second":R,"progress":1,"seconds_left":null,"error":"","error_position":0})";
  const std::string clicks =
      R"({"name":"link_clicks","version":1,"generation":2,"state":"live","checkpoint":12,"head":12,"lag":0,"events_per_second":R,"progress":1,"seconds_left":null,"error":"","error_position":0})";
  CliResult r = RunCli(With({"projections", "list", "--json"}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(WithoutRates(r.out), absl::StrCat(R"({"projections":[)", clicks, ",", details, "]}\n"));
  r = RunCli(With({"projections", "status", "link_details", "--json"}, Server()));
  EXPECT_EQ(WithoutRates(r.out), absl::StrCat(R"({"projections":[)", details, "]}\n"));
  r = RunCli(With({"projections", "status", "nope"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata: NOT_FOUND: projection 'nope' is not registered\n");

  StopServer();
  r = RunCli(With({"projections", "list"}, DataDir()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(
      r.out,
      "NAME          VERSION  GENERATION  STATE  CHECKPOINT  HEAD  LAG  RATE  PROGRESS  LEFT\n"
      "link_clicks         1           2  live           12    12    0     -      100%     -\n"
      "link_details        1           1  live           12    12    0     -      100%     -\n");
  r = RunCli(With({"projections", "status", "link_clicks"}, DataDir()));
  EXPECT_EQ(r.out,
            "name:        link_clicks\n"
            "version:     1\n"
            "generation:  2\n"
            "state:       live\n"
            "checkpoint:  12\n"
            "head:        12\n"
            "lag:         0\n"
            "rate:        -\n"
            "progress:    100%\n"
            "time left:   -\n");
}

TEST_F(CliTest, ProjectionsRebuildFollowsTheCutOver) {
  CliResult r =
      RunCli(With({"projections", "rebuild", "link_clicks", "--wait", "--json"}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(
      r.out,
      R"({"name":"link_clicks","version":1,"generation":3,"state":"live","checkpoint":12,"head":12})"
      "\n");
  // Not a terminal: plain progress lines, ending at 100%.
  EXPECT_THAT(r.err, HasSubstr("rebuild link_clicks: 100% (12/12 events)"));
  // The rebuilt read model answers as before.
  r = RunCli(With({"links", "analytics", "promo", "--from", "2024-03-10", "--to", "2024-03-10",
                   "--min-position", "12", "--json"},
                  Server()));
  EXPECT_THAT(r.out, HasSubstr(R"("total_clicks":2,"all_time_clicks":5)")) << Describe(r);

  // Without --wait it only starts the rebuild.
  r = RunCli(With({"projections", "rebuild", "link_details"}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("link_details v1 generation 4 is ")) << Describe(r);
  EXPECT_EQ(r.err, "");

  // Offline the rebuild runs in process and always waits.
  StopServer();
  r = RunCli(With({"projections", "rebuild", "link_details", "--json"}, DataDir()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(
      r.out,
      R"({"name":"link_details","version":1,"generation":5,"state":"live","checkpoint":12,"head":12})"
      "\n");
  r = RunCli(With({"projections", "rebuild", "nope"}, DataDir()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata: NOT_FOUND: projection 'nope' is not registered\n");
}

TEST_F(CliTest, UsageErrorsExitTwoWithOneLineAndTheUsage) {
  struct Case {
    std::vector<std::string> args;
    std::string first_line;
  };
  const Case cases[] = {
      {{}, "strata: the operator's tool for a Strata event store."},
      {{"nope"}, "strata: unknown command 'nope'"},
      {{"projections"}, "strata projections: missing command"},
      {{"projections", "drop"}, "strata projections: unknown command 'drop'"},
      {{"log", "read", "--bogus"}, "strata log read: unknown flag '--bogus'"},
      {{"log", "read", "--max"}, "strata log read: --max needs a value (N)"},
      {{"log", "read", "--max", "ten"},
       "strata log read: --max: 'ten' is not a non-negative integer"},
      {{"streams", "read"},
       "strata streams read: missing argument: strata streams read STREAM [--from-version V] "
       "[--backwards] [--max N] [--as-of P] [--json]"},
      {{"streams", "read", "a", "b"}, "strata streams read: unexpected argument 'b'"},
      {{"links", "analytics", "promo", "--to", "2024-03-10"},
       "strata links analytics: --from DATE is required"},
      {{"links", "analytics", "promo", "--from", "2024-02-30", "--to", "2024-03-10"},
       "strata links analytics: --from: '2024-02-30' is not a date like 2024-03-10 (YYYY-MM-DD)"},
      {{"verify"}, "strata verify: --data_dir DIR is required"},
      {{"import", "f.ndjson"},
       "strata import: --data_dir DIR is required (import writes to a stopped server's data "
       "directory)"},
      {{"log", "read", "--server", "x:1", "--data_dir", "/tmp"},
       "strata log read: --server and --data_dir exclude each other: talk to a running server or "
       "open a stopped one's data directory"},
      {{"log", "read", "--json", "--json"}, "strata log read: --json given more than once"},
  };
  for (const Case& c : cases) {
    CliResult r = RunCli(c.args);
    EXPECT_EQ(r.code, 2) << Describe(r);
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), c.first_line) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("Usage: strata")) << Describe(r);
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (std::vector<std::string> command : {std::vector<std::string>{"projections", "list"},
                                           {"projections", "status"},
                                           {"projections", "rebuild"},
                                           {"streams", "read"},
                                           {"streams", "delete"},
                                           {"log", "read"},
                                           {"log", "tail"},
                                           {"links", "get"},
                                           {"links", "analytics"},
                                           {"verify"},
                                           {"export"},
                                           {"import"},
                                           {"demo"}}) {
    const std::string path = absl::StrJoin(command, " ");
    command.push_back("--help");
    CliResult r = RunCli(command);
    EXPECT_EQ(r.code, 0) << Describe(r);
    EXPECT_THAT(r.out, StartsWith("Usage: strata " + path)) << Describe(r);
    EXPECT_THAT(r.out,
                HasSubstr("Exit codes: 0 ok; 1 findings or a failed request; 2 usage error"));
  }
  CliResult r = RunCli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("  links analytics  "));
  r = RunCli({"log", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("  log tail  "));
}

TEST_F(CliTest, FailedRequestsExitOneWithOneLine) {
  CliResult r = RunCli(With({"links", "get", "ghost"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata: NOT_FOUND: link 'ghost' does not exist at position 12\n");
  r = RunCli(With({"log", "read", "--as-of", "99"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata: OUT_OF_RANGE: as_of_position 99 is beyond the head (12)\n");
  EXPECT_EQ(r.out, "");
  // The server still runs: a read-only offline read works beside it and sees
  // the same log, while a command that opens the store in process refuses.
  r = RunCli(With({"log", "read"}, DataDir()));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, RunCli(With({"log", "read"}, Server())).out);
  EXPECT_EQ(r.err, "");
  r = RunCli(With({"links", "get", "ghost"}, DataDir()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata: NOT_FOUND: link 'ghost' does not exist at position 12\n");
  r = RunCli(With({"projections", "rebuild", "link_clicks"}, DataDir()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, absl::StrCat("strata: data directory ", dir_.path(),
                                " is in use (is stratad running?)\n"));
  r = RunCli({"projections", "list", "--data_dir", dir_.Sub("missing")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            absl::StrCat("strata: data directory ", dir_.Sub("missing"), " does not exist\n"));
  StopServer();
  r = RunCli(With({"projections", "list"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, StartsWith("strata: UNAVAILABLE: "));
  EXPECT_THAT(r.err, HasSubstr("(server " + address_ + ": is stratad running?)\n"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = RunCli(With({"links", "get", "ghost"}, DataDir()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata: NOT_FOUND: link 'ghost' does not exist at position 12\n");
}

TEST_F(CliTest, StreamsDeleteSoftThenForGood) {
  // orders-1 is at version 2 (positions 1, 2 and 5).
  CliResult r = RunCli(With({"streams", "delete", "orders-1", "--expected", "1"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "strata: ABORTED: delete stream 'orders-1': expected version 1, stream is at 2\n");
  r = RunCli(With({"streams", "delete", "orders-1", "--expected", "later"}, Server()));
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("strata streams delete: --expected: 'later' is none of any, "
                                "no-stream, exists or a version\n"));
  r = RunCli(With({"streams", "delete", "orders-1", "--expected", "2", "--json"}, Server()));
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, "{\"stream\":\"orders-1\",\"deleted\":true,\"position\":13}\n");
  r = RunCli(With({"streams", "read", "orders-1"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "strata: NOT_FOUND: stream 'orders-1' is deleted (its versions up to 2 are truncated "
            "by $tb 3)\n");
  r = RunCli(With({"streams", "delete", "orders-1", "--tombstone"}, Server()));
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, "tombstoned stream orders-1 at position 14\n");
  r = RunCli(With({"streams", "read", "orders-1"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "strata: FAILED_PRECONDITION: stream 'orders-1' is deleted (tombstoned at position "
            "14)\n");
  // The log keeps everything: the events and both deletions.
  r = RunCli(With({"log", "read", "--stream-prefix", "$$orders-1", "--json"}, Server()));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << Describe(r);
}

class DemoTest : public CliFixture {
 protected:
  void SetUp() override { StartServer(/*fixed_clock=*/false); }
};

TEST_F(DemoTest, FillsAServerAndARerunCountsNothingTwice) {
  const std::vector<std::string> demo = {"demo", "--links", "5", "--clicks", "300", "--json"};
  CliResult r = RunCli(With(demo, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"("top_link_clicks":(\d+))"))) << r.out;
  const std::string top_clicks = m[1];
  const std::string expected = absl::StrCat(
      R"({"links":5,"links_created":5,"clicks":300,"clicks_recorded":300,"already_recorded":0,)",
      R"("top_link":"spring-sale","top_link_clicks":)", top_clicks,
      R"(,"from":"D","to":"D","position":305})", "\n");
  EXPECT_EQ(Normalize(r.out, R"(\d{4}-\d\d-\d\d)", "D"), expected);
  EXPECT_GT(std::stoi(top_clicks), 60);  // the most popular of 5 links gets far more than 1/5

  // A rerun sends the same commands, which the server recognises: nothing new.
  r = RunCli(With(demo, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(R"("top_link_clicks":)", top_clicks, ",")));
  EXPECT_THAT(r.out, HasSubstr(R"("position":305})"));

  // Human output ends with commands to try.
  r = RunCli(With({"demo", "--links", "2", "--clicks", "10", "--seed", "9"}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Try next:\n  strata links analytics spring-sale --from "));
  EXPECT_THAT(r.out, HasSubstr("strata projections list --server " + address_));
  EXPECT_THAT(r.err, HasSubstr("demo clicks: 100% (10/10 clicks)"));

  // Offline it fills the stopped server's data directory through an
  // in-process server.
  StopServer();
  r = RunCli(With({"demo", "--links", "2", "--clicks", "20", "--seed", "3", "--json"}, DataDir()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(R"("clicks":20,"clicks_recorded":20,)")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(R"("position":335})")) << Describe(r);
}

}  // namespace
}  // namespace strata::cli_test
