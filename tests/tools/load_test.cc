// strata_load against a real server on 127.0.0.1:0: what it reports matches
// what the server stored, and bad flags or an absent server get clear errors.
#include <regex>

#include "tests/tools/cli_test_util.h"

namespace strata::cli_test {
namespace {

// The JSON object of `mode` in strata_load's --json output, required to have
// no errors; "" when absent.
std::string ModeObject(const std::string& json, const std::string& mode) {
  std::smatch m;
  const std::regex re("\\{\"mode\":\"" + mode + "\",[^{}]*\"errors\":\\{\\}\\}");
  return std::regex_search(json, m, re) ? m.str() : "";
}

uint64_t Field(const std::string& object, const std::string& name) {
  std::smatch m;
  const std::regex re("\"" + name + "\":([0-9]+)");
  return std::regex_search(object, m, re) ? std::stoull(m[1]) : UINT64_MAX;
}

class LoadTest : public CliFixture {};

TEST_F(LoadTest, CountsWhatTheServerStored) {
  StartServer(/*fixed_clock=*/false);
  const CliResult r =
      RunCli(With({"--modes", "click,append,readall,subscribe", "--calls", "120", "--concurrency",
                   "8", "--events_per_call", "10", "--links", "3", "--warmup", "0", "--json"},
                  Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  const std::string noop = ModeObject(r.out, "noop");
  const std::string click = ModeObject(r.out, "click");
  const std::string append = ModeObject(r.out, "append x10");
  const std::string readall = ModeObject(r.out, "readall");
  const std::string subscribe = ModeObject(r.out, "subscribe");
  ASSERT_NE(noop, "") << r.out;
  ASSERT_NE(click, "") << r.out;
  ASSERT_NE(append, "") << r.out;
  ASSERT_NE(readall, "") << r.out;
  ASSERT_NE(subscribe, "") << r.out;
  EXPECT_EQ(Field(noop, "calls"), 120u);
  EXPECT_EQ(Field(click, "calls"), 120u);
  EXPECT_EQ(Field(click, "events"), 120u);
  EXPECT_EQ(Field(append, "calls"), 120u);
  EXPECT_EQ(Field(append, "events"), 1200u);
  // 3 links created, 120 clicks, 120 appends of 10 events: all of it read back.
  const uint64_t head = 3 + 120 + 1200;
  EXPECT_EQ(server_->log().Head(), head);
  EXPECT_EQ(Field(readall, "events"), head);
  EXPECT_EQ(Field(subscribe, "events"), head);
  EXPECT_NE(r.out.find("\"ratio_to_noop\":"), std::string::npos) << r.out;

  // The KurrentDB protocol's modes: appends with fresh ids (all written),
  // and a read of $all that sees every event.
  const CliResult kurrent = RunCli(With(
      {"--modes", "kurrent-append,kurrent-readall", "--kurrent_server", kurrent_address_,
       "--calls", "50", "--concurrency", "4", "--events_per_call", "3", "--warmup", "0", "--json"},
      Server()));
  ASSERT_EQ(kurrent.code, 0) << Describe(kurrent);
  const std::string kappend = ModeObject(kurrent.out, "kurrent-append");
  const std::string kread = ModeObject(kurrent.out, "kurrent-readall");
  ASSERT_NE(kappend, "") << kurrent.out;
  ASSERT_NE(kread, "") << kurrent.out;
  EXPECT_EQ(Field(kappend, "calls"), 50u);
  EXPECT_EQ(Field(kappend, "events"), 150u);
  EXPECT_EQ(server_->log().Head(), head + 150);
  EXPECT_EQ(Field(kread, "events"), head + 150);

  // A rerun creates no link twice: only its clicks are written.
  const CliResult again = RunCli(With(
      {"--modes", "click", "--calls", "5", "--links", "3", "--warmup", "0", "--json"}, Server()));
  ASSERT_EQ(again.code, 0) << Describe(again);
  EXPECT_EQ(server_->log().Head(), head + 150 + 5);
}

TEST_F(LoadTest, BadFlagsAndAnAbsentServerAreClearErrors) {
  StartServer(/*fixed_clock=*/false);
  CliResult r = RunCli(With({"--concurrency", "0"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata_load: --concurrency: must be 1..10000\n");
  r = RunCli(With({"--modes", "click,bogus", "--warmup", "0"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown mode 'bogus'"), std::string::npos) << r.err;
  r = RunCli(With({"--modes", "mixed", "--mix", "click=x"}, Server()));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "strata_load: --mix: 'click=x' is not mode=weight with a positive weight\n");
  EXPECT_EQ(server_->log().Head(), 0u);  // nothing ran
  const std::string address = address_;
  StopServer();
  r = RunCli({"--server", address, "--modes", "click"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot connect to " + address), std::string::npos) << r.err;
}

}  // namespace
}  // namespace strata::cli_test
