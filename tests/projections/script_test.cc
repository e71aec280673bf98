// Scripted projections without a server: handlers against an independent
// fold (a per-stream counter with emitted rows, a per-order state machine
// partitioned by a function), determinism (two folds, byte-identical state),
// and the sandbox: io/os/require/debug/load, a runaway loop, a memory bomb and
// a new global each become a bad event naming the position and the line.
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "engine/base/macros.h"
#include "gtest/gtest.h"
#include "projections/defined/definition.h"
#include "projections/defined/rows.h"
#include "projections/defined/script.h"
#include "tests/projections/counter_projection.h"
#include "tests/projections/defined_fixtures.h"
#include "tests/testutil/temp_dir.h"

namespace strata::defined {
namespace {

using ::strata::testing::MapWriter;
using ::testing::HasSubstr;

absl::StatusOr<Definition> CompileScript(const std::string& lua, const std::string& partition_by,
                                         const std::string& policy = "fail") {
  v1::ProjectionDefinition proto;
  proto.set_name("s");
  proto.set_on_bad_event(policy);
  proto.mutable_script()->set_lua(lua);
  proto.mutable_script()->set_partition_by(partition_by);
  return Compile(proto);
}

struct TestEvent {
  std::string stream;
  std::string type;
  std::string data;
};

absl::Status ApplyAll(Projection& p, const std::vector<TestEvent>& events, MapWriter& w,
                      GlobalPosition first = 1) {
  std::map<std::string, StreamVersion> versions;
  for (size_t i = 0; i < events.size(); ++i) {
    EventView v;
    v.position = first + i;
    v.stream = events[i].stream;
    v.stream_version = versions[events[i].stream]++;
    v.type = events[i].type;
    v.content_type = "application/json";
    v.data = events[i].data;
    v.recorded_at_us = 1'000'000 * static_cast<int64_t>(i);
    STRATA_RETURN_IF_ERROR(p.Apply(v, w));
  }
  return absl::OkStatus();
}

std::string StateOf(const MapWriter& w, const std::vector<std::string>& key,
                    const std::string& field = "state") {
  absl::StatusOr<std::optional<Row>> row = GetRow(w, key);
  if (!row.ok() || !row->has_value()) return "<none>";
  auto it = (*row)->values.find(field);
  return it == (*row)->values.end() ? "<no field>" : ToJson(it->second);
}

constexpr char kCounter[] = R"lua(
function init() return {n = 0, amount = 0} end
on = {}
function on.Click(state, event)
  state.n = state.n + 1
  state.amount = state.amount + (event.data.amount or 0)
  emit({"by_stream_n", event.stream}, state.n)
end
)lua";

TEST(ScriptTest, CounterStateAndEmittedRowsEqualAnIndependentFold) {
  absl::StatusOr<Definition> def = CompileScript(kCounter, "");
  ASSERT_TRUE(def.ok()) << def.status();
  ScriptProjection p(*def, 1);
  std::vector<TestEvent> events;
  std::map<std::string, std::pair<int, int>> expected;  // stream -> n, amount
  for (int i = 0; i < 500; ++i) {
    const std::string stream = absl::StrCat("s-", i % 7);
    const int amount = i % 13;
    events.push_back({stream, i % 5 == 0 ? "Other" : "Click",
                      absl::StrCat(R"({"amount":)", amount, "}")});
    if (i % 5 != 0) {
      expected[stream].first += 1;
      expected[stream].second += amount;
    }
  }
  MapWriter w;
  STRATA_ASSERT_OK(ApplyAll(p, events, w));
  for (const auto& [stream, counts] : expected) {
    EXPECT_EQ(StateOf(w, {"state", stream}),
              absl::StrCat(R"({"amount":)", counts.second, R"(,"n":)", counts.first, "}"));
    EXPECT_EQ(StateOf(w, {"by_stream_n", stream}, "value"), absl::StrCat(counts.first));
  }
  // Determinism: a second fold in another instance gives the same bytes.
  ScriptProjection again(*def, 1);
  MapWriter w2;
  STRATA_ASSERT_OK(ApplyAll(again, events, w2));
  EXPECT_EQ(w.state, w2.state);
}

constexpr char kOrders[] = R"lua(
local next_status = {
  placed = {paid = true, cancelled = true},
  paid = {shipped = true, refunded = true},
  shipped = {delivered = true},
}
function init() return {status = "new", history = {}} end
function partition(event) return event.data.order end
on = {}
local function move(state, event, to)
  local allowed = state.status == "new" and to == "placed" or
                  (next_status[state.status] or {})[to]
  if not allowed then
    state.rejected = (state.rejected or 0) + 1
    return state
  end
  state.status = to
  state.history[#state.history + 1] = to
  -- pairs() is sorted, so this is deterministic too.
  local keys = {}
  for k in pairs(state) do keys[#keys + 1] = k end
  state.keys = table.concat(keys, ",")
  return state
end
on.Placed = function(s, e) return move(s, e, "placed") end
on.Paid = function(s, e) return move(s, e, "paid") end
on.Shipped = function(s, e) return move(s, e, "shipped") end
on.Cancelled = function(s, e) return move(s, e, "cancelled") end
)lua";

TEST(ScriptTest, OrderStateMachinePartitionedByAFunctionEqualsAnIndependentFold) {
  absl::StatusOr<Definition> def = CompileScript(kOrders, "function");
  ASSERT_TRUE(def.ok()) << def.status();
  ScriptProjection p(*def, 1);
  const std::vector<std::string> types = {"Placed", "Paid", "Shipped", "Cancelled"};
  struct Order {
    std::string status = "new";
    std::vector<std::string> history;
    int rejected = 0;
  };
  std::map<std::string, Order> expected;
  std::vector<TestEvent> events;
  uint32_t r = 1;
  for (int i = 0; i < 400; ++i) {
    r = r * 1103515245 + 12345;
    const std::string order = absl::StrCat("o", (r >> 8) % 9);
    const std::string type = types[(r >> 16) % types.size()];
    events.push_back({absl::StrCat("orders-", (r >> 4) % 3), type,
                      absl::StrCat(R"({"order":")", order, R"("})")});
    Order& o = expected[order];
    std::string to = type == "Placed" ? "placed" : type == "Paid" ? "paid"
                     : type == "Shipped" ? "shipped" : "cancelled";
    const bool allowed = (o.status == "new" && to == "placed") ||
                         (o.status == "placed" && (to == "paid" || to == "cancelled")) ||
                         (o.status == "paid" && to == "shipped");
    if (!allowed) {
      ++o.rejected;
    } else {
      o.status = to;
      o.history.push_back(to);
    }
  }
  MapWriter w;
  STRATA_ASSERT_OK(ApplyAll(p, events, w));
  for (const auto& [order, o] : expected) {
    std::string history;
    for (const std::string& h : o.history) {
      absl::StrAppend(&history, history.empty() ? "" : ",", "\"", h, "\"");
    }
    // Keys are listed when a move succeeds (before "keys" itself exists the
    // first time); rejected is present once something was rejected.
    const std::string state = StateOf(w, {"state", order});
    EXPECT_THAT(state, HasSubstr(absl::StrCat(R"("status":")", o.status, "\""))) << order;
    if (!o.history.empty()) {
      EXPECT_THAT(state, HasSubstr(absl::StrCat(R"("history":[)", history, "]"))) << order;
    } else {
      EXPECT_THAT(state, HasSubstr(R"("history":{})")) << order;  // an empty table
    }
    if (o.rejected > 0) {
      EXPECT_THAT(state, HasSubstr(absl::StrCat(R"("rejected":)", o.rejected))) << order;
    }
  }
}

TEST(ScriptTest, RefusedScriptsNameTheirField) {
  struct Case {
    std::string lua;
    std::string partition_by;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"on = {}\nfunction on.A(s, e) return s end x", "", "script.lua: s.lua:2: "},
           {"x = 1", "", "script.lua: defines no handler"},
           {"on = {A = function() end}", "function", "script.partition_by: \"function\" needs"},
           {"on = {A = function() end}", "shard", "script.partition_by: unknown partitioning"},
           {"os.exit(1)", "", "script.lua: s.lua:1: attempt to index a nil value (global 'os')"},
           {"while true do end", "", "CPU budget exceeded"},
           {"\x1bLua", "", "attempt to load a binary chunk"},
           {"", "", "script.lua: required"},
       }) {
    absl::StatusOr<Definition> def = CompileScript(c.lua, c.partition_by);
    ASSERT_FALSE(def.ok()) << c.lua;
    EXPECT_EQ(def.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(def.status().message()), HasSubstr(c.message)) << c.lua;
  }
}

TEST(ScriptTest, SandboxViolationsAreBadEventsWithThePositionAndTheLine) {
  struct Case {
    std::string body;  // of on.A(state, event)
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"io.write('x')", "s.lua:3: attempt to index a nil value (global 'io')"},
           {"os.time()", "s.lua:3: attempt to index a nil value (global 'os')"},
           {"require('socket')", "s.lua:3: attempt to call a nil value (global 'require')"},
           {"debug.traceback()", "s.lua:3: attempt to index a nil value (global 'debug')"},
           {"load('return 1')()", "s.lua:3: attempt to call a nil value (global 'load')"},
           {"math.random()", "s.lua:3: attempt to call a nil value (field 'random')"},
           {"while true do end", "CPU budget exceeded"},
           {"local s = string.rep('x', 200 * 1024 * 1024)", "memory cap exceeded"},
           {"counter = 1", "s.lua:3: assignment to global 'counter'"},
           {"error('boom')", "s.lua:3: boom"},
           {"pcall(function() end)", "s.lua:3: attempt to call a nil value (global 'pcall')"},
           {"setmetatable({}, {__gc = function() end})", "__gc finalizers are not allowed"},
           {"local t = {} for i = 1, 40 do t = {t, t} end state.x = t",
            "encodes to more than the limit"},
           {"state.t = {10, nil, 30, x = 'a'}", "keys other than strings (or 1..n) is not JSON"},
           {"rawset(_G, 'x', 1)", "attempt to call a nil value (global 'rawset')"},
           {"emit('k\\255', 1)", "emit: the key is not valid UTF-8"},
       }) {
    const std::string lua =
        absl::StrCat("on = {}\nfunction on.A(state, event)\n  ", c.body, "\nend\n");
    absl::StatusOr<Definition> def = CompileScript(lua, "");
    ASSERT_TRUE(def.ok()) << def.status();
    ScriptProjection p(*def, 1);
    MapWriter w;
    absl::Status s = ApplyAll(p, {{"x-1", "B", "{}"}, {"x-1", "A", "{}"}}, w, 41);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("bad event at position 42 (stream 'x-1' version 1, type 'A')"));
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message)) << c.body;
    EXPECT_TRUE(w.state.empty()) << "a bad event writes nothing: " << c.body;
    // The projection's Lua state is still usable afterwards.
    absl::Status again = ApplyAll(p, {{"x-1", "B", "{}"}}, w);
    EXPECT_TRUE(again.ok()) << again;
  }
  // JSON nested deeper than the Lua stack takes is a bad event, not a crash.
  {
    absl::StatusOr<Definition> deep = CompileScript("on = {}\nfunction on.A(s, e) end\n", "");
    ASSERT_TRUE(deep.ok());
    ScriptProjection p(*deep, 1);
    MapWriter w;
    const std::string data = std::string(200, '[') + std::string(200, ']');
    absl::Status s = ApplyAll(p, {{"x-1", "A", data}}, w);
    EXPECT_THAT(std::string(s.message()), HasSubstr("data: JSON nests more than 64 deep"));
  }
  // Under "skip" the event is counted and the fold goes on.
  absl::StatusOr<Definition> def = CompileScript(
      "on = {}\nfunction on.A(s, e)\n  if e.data.bad then error('bad') end\n"
      "  s.n = (s.n or 0) + 1\nend\n",
      "", "skip");
  ASSERT_TRUE(def.ok());
  ScriptProjection p(*def, 1);
  MapWriter w;
  STRATA_ASSERT_OK(ApplyAll(p, {{"x-1", "A", "{}"}, {"x-1", "A", R"({"bad":true})"},
                                {"x-1", "A", "{}"}},
                            w));
  EXPECT_EQ(StateOf(w, {"state", "x-1"}), R"({"n":2})");
  absl::StatusOr<SkipInfo> skipped = ReadSkipInfo(w);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->skipped, 1u);
  EXPECT_EQ(skipped->first, 2u);
}

}  // namespace
}  // namespace strata::defined

namespace strata::defined {
namespace {

// The README's worked example, examples/projections/link_leaderboard.lua.
TEST(ScriptTest, ShippedLeaderboardRanksEachDaysTopTenLinks) {
  std::ifstream in(std::string(STRATA_SOURCE_DIR) + "/examples/projections/link_leaderboard.lua");
  std::stringstream lua;
  lua << in.rdbuf();
  absl::StatusOr<Definition> def = CompileScript(lua.str(), "function");
  ASSERT_TRUE(def.ok()) << def.status();
  ScriptProjection p(*def, 1);
  std::vector<TestEvent> events;
  std::map<std::string, std::map<std::string, int>> per_day;  // day -> link -> clicks
  uint32_t r = 7;
  for (int i = 0; i < 2000; ++i) {
    r = r * 1103515245 + 12345;
    const std::string link = absl::StrCat("l", ((r >> 8) % 25) * ((r >> 20) % 3 + 1) % 40);
    const int day = static_cast<int>((r >> 12) % 3);  // 2026-01-01 .. 03
    const int64_t at = 1'767'225'600'000'000 + day * 86'400'000'000LL + (r >> 4) % 86'400'000'000LL;
    events.push_back({absl::StrCat("clicks-", link), "ClickRecorded",
                      absl::StrCat(R"({"link_id":")", link, R"(","country":"DE","device":"bot",)",
                                   R"("clicked_at_us":)", at, "}")});
    ++per_day[absl::StrCat("2026-01-0", day + 1)][link];
  }
  MapWriter w;
  STRATA_ASSERT_OK(ApplyAll(p, events, w));
  ASSERT_EQ(per_day.size(), 3u);
  for (const auto& [day, counts] : per_day) {
    std::vector<std::pair<int, std::string>> ranked;
    for (const auto& [link, n] : counts) ranked.emplace_back(-n, link);
    std::sort(ranked.begin(), ranked.end());
    std::string expected = "[";
    for (size_t i = 0; i < std::min<size_t>(10, ranked.size()); ++i) {
      absl::StrAppend(&expected, i ? "," : "", R"({"clicks":)", -ranked[i].first,
                      R"(,"link":")", ranked[i].second, R"("})");
    }
    expected += "]";
    EXPECT_EQ(StateOf(w, {"top", day}, "value"), expected) << day;
  }
}

}  // namespace
}  // namespace strata::defined
