// strata_defined_bench: defined projections against the built-in C++ read
// model they replace, in one run on one machine.
//
// The log: the link domain's own events as LinkCommands writes them
// (FlatBuffers): 1,000 links (LinkCreated), then 318,000 clicks with a skewed
// popularity over 90 days, 8 countries (one in 8 unknown) and 5 devices, in
// appends of 100 clicks of one link (Durability::kUnsafeNoSync: the build is
// not measured). A second log holds the same clicks as application/json
// events ({"link_id","country","device","clicked_at_us"}) in streams
// "jclicks-<id>".
//
// Workloads (each replay builds from scratch in a fresh ProjectionRuntime,
// from Open to live at the head, best of 3):
//   built-in   links::LinkClicksProjection over the FlatBuffers log
//   defined    examples/projections/link_clicks.json over the same log (data
//              read through links::EventJson, the JSON view)
//   defined/json  the same definition (stream prefix "jclicks-") over the
//              JSON log: what a gRPC client's own JSON events cost
//   scan       EventLog::ScanAll over the FlatBuffers log (the ceiling)
// Scripts (issue 12), over the JSON log, partitioned by stream (one per link):
//   script counter       on.ClickRecorded(s, e) s.clicks = s.clicks + 1 end
//   declarative counter  the same count as a rule (key: the stream)
//   script orders        a per-order state machine over a third log of 318,000
//                        order events (Placed/Paid/Shipped/Cancelled, 30,000
//                        orders, partitioned by a function of the event)
// with the stored state bytes per partition.
// Then, on the defined projection built with the server's snapshot interval
// (K = 10,000) and with its own (snapshot_interval_events 1,000 and 250):
//   get   2,000 ProjectionQueries-style Gets of a random link's all-time row,
//         as of the head, then 200 as of random past positions
//   scan  2,000 Scans of 30 day rows of a random link (prefix d/<id>), as of
//         the head, then 200 as of random past positions
// Prints events/s, the ratios (built-in / scan: the replay of a real read
// model against the raw log scan) and p50/p99/max latencies with the targets.
//
// Usage: strata_defined_bench [--clicks N] [--source DIR] (DIR: the repository,
// where examples/projections/ is; default: the source tree it was built from)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/bench_common.h"
#include "engine/event_log.h"
#include "google/protobuf/util/json_util.h"
#include "links/links.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/registry.h"
#include "projections/defined/rows.h"
#include "projections/defined/script.h"
#include "projections/runtime/runtime.h"

namespace strata::bench {
namespace {

constexpr int kLinks = 1'000;
constexpr int kClicksPerAppend = 100;
constexpr int kDays = 90;
constexpr double kRatioTarget = 0.5;
constexpr double kEventsPerSecondTarget = 300'000;
// Issue 15: a rebuild of the real link_clicks >= 500,000 events/s and >= 40%
// of the raw log scan.
constexpr double kReplayScanTarget = 0.4;
constexpr double kReplayEventsPerSecondTarget = 500'000;
constexpr double kGetP99MsTarget = 1;
constexpr double kScanP99MsTarget = 2;

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "strata_defined_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(absl::StrCat(what, ": ", v.status().ToString()));
  return *std::move(v);
}

void OrDie(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(absl::StrCat(what, ": ", s.ToString()));
}

struct Click {
  int link;
  const char* country;
  const char* device;
  int64_t at_us;
};

std::vector<Click> MakeClicks(int count) {
  static const char* kCountries[] = {"US", "DE", "FR", "GB", "IN", "BR", "JP", ""};
  static const char* kDevices[] = {"desktop", "mobile", "tablet", "bot", "other"};
  std::mt19937_64 rng(42);
  const int64_t start_us = 1'767'225'600'000'000;  // 2026-01-01
  std::vector<Click> clicks;
  clicks.reserve(count);
  // Skewed popularity: link = floor(kLinks * u^3).
  std::uniform_real_distribution<double> u(0, 1);
  while (static_cast<int>(clicks.size()) < count) {
    const int link = static_cast<int>(kLinks * std::pow(u(rng), 3));
    const int64_t at = start_us + static_cast<int64_t>(u(rng) * kDays * 86'400e6);
    for (int i = 0; i < kClicksPerAppend && static_cast<int>(clicks.size()) < count; ++i) {
      clicks.push_back({link, kCountries[rng() % 8], kDevices[rng() % 5], at + i * 1'000'000});
    }
  }
  return clicks;
}

// Appends `clicks` to `log`, `per_append` to a call (one link's stream each),
// as FlatBuffers link events or, with `json`, as JSON events.
void AppendClicks(EventLog* log, const std::vector<Click>& clicks, bool json, size_t per_append) {
  for (size_t i = 0; i < clicks.size(); i += per_append) {
    const std::string id = absl::StrCat("link", clicks[i].link);
    std::vector<NewEvent> batch;
    for (size_t j = i; j < std::min(clicks.size(), i + per_append); ++j) {
      const Click& c = clicks[j];
      NewEvent e;
      e.type = links::kClickRecordedType;
      if (json) {
        e.content_type = "application/json";
        e.data = absl::StrCat(R"({"link_id":")", id, R"(","country":")", c.country,
                              R"(","device":")", c.device, R"(","clicked_at_us":)", c.at_us, "}");
      } else {
        e.content_type = links::kContentType;
        e.data = links::EncodeClickRecorded(id, c.country, c.device, c.at_us);
      }
      batch.push_back(std::move(e));
    }
    const std::string stream = json ? absl::StrCat("jclicks-", id) : links::ClickStream(id);
    OrDie(log->Append(stream, ExpectedVersion::Any(), std::move(batch)), "append");
  }
}

std::unique_ptr<EventLog> BuildLog(const std::string& dir, const std::vector<Click>& clicks,
                                   bool json) {
  EventLogOptions options;
  options.durability = Durability::kUnsafeNoSync;
  options.logger = NullLogger();
  std::unique_ptr<EventLog> log = OrDie(EventLog::Open(dir, options), "open log");
  if (!json) {
    for (int i = 0; i < kLinks; ++i) {
      const std::string id = absl::StrCat("link", i);
      NewEvent e;
      e.type = links::kLinkCreatedType;
      e.content_type = links::kContentType;
      e.data = links::EncodeLinkCreated(id, absl::StrCat("https://example.com/", id), "bench");
      OrDie(log->Append(links::LinkStream(id), ExpectedVersion::Any(), {std::move(e)}), "append");
    }
  }
  AppendClicks(log.get(), clicks, json, kClicksPerAppend);
  return log;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die(absl::StrCat("cannot read ", path, " (pass --source DIR)"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// examples/projections/link_clicks.json; with `json`, over the JSON log's
// streams instead.
v1::ProjectionDefinition ClicksDefinition(const std::string& source_dir, bool json) {
  v1::ProjectionDefinition proto;
  const std::string text = ReadFile(source_dir + "/examples/projections/link_clicks.json");
  if (!google::protobuf::util::JsonStringToMessage(text, &proto).ok()) Die("link_clicks.json");
  if (json) proto.mutable_source()->set_stream_prefixes(0, "jclicks-");
  return proto;
}

std::shared_ptr<Projection> DefinedClicks(const std::string& source_dir, bool json) {
  defined::Definition def =
      OrDie(defined::Compile(ClicksDefinition(source_dir, json)), "compile link_clicks.json");
  auto events = std::make_shared<defined::JsonEvents>(
      defined::JsonViews{{links::kContentType, links::EventJson}});
  return std::make_shared<defined::DefinedProjection>(std::move(def), 1, events);
}

// Seconds to build `projection` over `log` from nothing (best of 3).
double BestReplaySeconds(EventLog* log, const std::shared_ptr<Projection>& projection) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const std::string dir = FreshDir("replay");
    ProjectionRuntimeOptions options;
    options.logger = NullLogger();
    const Clock::time_point start = Clock::now();
    auto runtime = OrDie(ProjectionRuntime::Open(dir, log, options), "open runtime");
    OrDie(runtime->Register(projection), "register");
    OrDie(runtime->WaitFor(projection->name(), log->Head(), absl::Now() + absl::Minutes(10)),
          "wait");
    best = std::min(best, Seconds(Clock::now() - start));
    runtime.reset();
    RemoveDir(dir);
  }
  return best;
}

double ScanSeconds(EventLog* log) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    uint64_t n = 0;
    const Clock::time_point start = Clock::now();
    OrDie(log->ScanAll(ReadAllOptions(), [&](const EventView&) { return ++n > 0; }), "scan");
    best = std::min(best, Seconds(Clock::now() - start));
  }
  return best;
}

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
};

Latency Percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))]; };
  return {at(0.5), at(0.99), ms.back()};
}

// Times `n` calls of `query(as_of)` with as_of = nullopt (head) or random.
template <typename Query>
Latency Time(int n, bool past, GlobalPosition head, Query query) {
  std::mt19937_64 rng(7);
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    std::optional<GlobalPosition> as_of;
    if (past) as_of = 1 + rng() % head;
    const Clock::time_point start = Clock::now();
    query(as_of, rng());
    ms.push_back(1e3 * Seconds(Clock::now() - start));
  }
  return Percentiles(ms);
}

const char* Verdict(bool met) { return met ? "met" : "MISSED"; }

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  using namespace strata;
  using namespace strata::bench;
  int clicks_count = 318'000;
  std::string source_dir = STRATA_SOURCE_DIR;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--clicks") == 0 && i + 1 < argc) {
      clicks_count = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
      source_dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: strata_defined_bench [--clicks N] [--source DIR]\n");
      return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  InitProgram("strata_defined_bench");
  const std::vector<Click> clicks = MakeClicks(clicks_count);
  std::printf("building logs: %d links, %d clicks over %d days...\n", kLinks, clicks_count, kDays);
  std::fflush(stdout);
  std::unique_ptr<EventLog> fb_log = BuildLog(FreshDir("log-fb"), clicks, false);
  std::unique_ptr<EventLog> json_log = BuildLog(FreshDir("log-json"), clicks, true);
  const double fb_events = static_cast<double>(fb_log->Head());
  const double json_events = static_cast<double>(json_log->Head());

  const double scan_s = ScanSeconds(fb_log.get());
  const double builtin_s =
      BestReplaySeconds(fb_log.get(), std::make_shared<links::LinkClicksProjection>());
  const double defined_s = BestReplaySeconds(fb_log.get(), DefinedClicks(source_dir, false));
  const double defined_json_s =
      BestReplaySeconds(json_log.get(), DefinedClicks(source_dir, true));

  const double scan_rate = fb_events / scan_s;
  const double builtin_rate = fb_events / builtin_s;
  const double defined_rate = fb_events / defined_s;
  const double json_rate = json_events / defined_json_s;
  std::printf("\nreplay from scratch to live (best of 3; %.0f events, %.0f in the JSON log)\n",
              fb_events, json_events);
  std::printf("  %-34s %12s %8s\n", "workload", "events/s", "seconds");
  std::printf("  %-34s %12.0f %8.2f\n", "log scan (ScanAll, the ceiling)", scan_rate, scan_s);
  std::printf("  %-34s %12.0f %8.2f\n", "built-in link_clicks (C++)", builtin_rate, builtin_s);
  std::printf("  %-34s %12.0f %8.2f\n", "defined clicks (FlatBuffers view)", defined_rate,
              defined_s);
  std::printf("  %-34s %12.0f %8.2f\n", "defined clicks (JSON events)", json_rate,
              defined_json_s);
  std::printf(
      "  built-in / scan               %6.2f  (target >= %.2f: %s; %.0f events/s, target >= %.0f: "
      "%s)\n",
      builtin_rate / scan_rate, kReplayScanTarget,
      Verdict(builtin_rate / scan_rate >= kReplayScanTarget), builtin_rate,
      kReplayEventsPerSecondTarget, Verdict(builtin_rate >= kReplayEventsPerSecondTarget));
  std::printf("  defined / built-in            %6.2f  (target >= %.2f: %s)\n",
              defined_rate / builtin_rate, kRatioTarget,
              Verdict(defined_rate / builtin_rate >= kRatioTarget));
  std::printf("  defined (JSON) / built-in     %6.2f  (target >= %.2f: %s)\n",
              json_rate / builtin_rate, kRatioTarget,
              Verdict(json_rate / builtin_rate >= kRatioTarget));
  std::printf("  defined events/s  %.0f view, %.0f JSON  (target >= %.0f: %s, %s)\n",
              defined_rate, json_rate, kEventsPerSecondTarget,
              Verdict(defined_rate >= kEventsPerSecondTarget),
              Verdict(json_rate >= kEventsPerSecondTarget));

  // Scripts against the declarative equivalent.
  auto script = [&](const std::string& name, const std::string& lua, const std::string& by) {
    v1::ProjectionDefinition proto;
    proto.set_name(name);
    proto.mutable_script()->set_lua(lua);
    proto.mutable_script()->set_partition_by(by);
    return defined::MakeProjection(OrDie(defined::Compile(proto), "compile script"), 1, nullptr);
  };
  const std::shared_ptr<Projection> script_counter = script("script_counter", R"lua(
function init() return {clicks = 0} end
on = {}
function on.ClickRecorded(s, e) s.clicks = s.clicks + 1 end
)lua", "stream");
  v1::ProjectionDefinition declarative;
  if (!google::protobuf::util::JsonStringToMessage(R"({"name":"rule_counter","rules":[{
      "event_types":["ClickRecorded"],"keys":[{"parts":[{"event":"stream"}]}],
      "operations":[{"field":"clicks","count":{}}]}]})", &declarative).ok()) {
    Die("declarative counter");
  }
  const std::shared_ptr<Projection> rule_counter = defined::MakeProjection(
      OrDie(defined::Compile(declarative), "compile rule"), 1, nullptr);
  const double script_s = BestReplaySeconds(json_log.get(), script_counter);
  const double rule_s = BestReplaySeconds(json_log.get(), rule_counter);
  // The orders log and its state machine.
  std::unique_ptr<EventLog> orders_log;
  {
    EventLogOptions options;
    options.durability = Durability::kUnsafeNoSync;
    options.logger = NullLogger();
    orders_log = OrDie(EventLog::Open(FreshDir("log-orders"), options), "open log");
    static const char* kTypes[] = {"Placed", "Paid", "Shipped", "Cancelled"};
    std::mt19937_64 rng(9);
    for (int i = 0; i < clicks_count; i += 100) {
      std::vector<NewEvent> batch;
      for (int j = 0; j < 100; ++j) {
        NewEvent e;
        e.type = kTypes[rng() % 4];
        e.content_type = "application/json";
        e.data = absl::StrCat(R"({"order":"o)", rng() % 30'000, R"(","amount":)", rng() % 1000,
                              "}");
        batch.push_back(std::move(e));
      }
      OrDie(orders_log->Append(absl::StrCat("orders-", i % 16), ExpectedVersion::Any(),
                               std::move(batch)),
            "append");
    }
  }
  const std::shared_ptr<Projection> script_orders = script("script_orders", R"lua(
local next_status = {new = {Placed = "placed"}, placed = {Paid = "paid", Cancelled = "cancelled"},
                     paid = {Shipped = "shipped"}}
function init() return {status = "new", total = 0, moves = 0} end
function partition(e) return e.data.order end
local function move(s, e)
  local to = (next_status[s.status] or {})[e.type]
  if to then
    s.status = to
    s.moves = s.moves + 1
    if to == "paid" then s.total = s.total + e.data.amount end
  end
end
on = {Placed = move, Paid = move, Shipped = move, Cancelled = move}
)lua", "function");
  const double orders_s = BestReplaySeconds(orders_log.get(), script_orders);
  // Stored bytes per partition, from one more build kept open.
  auto state_bytes = [&](EventLog* log, const std::shared_ptr<Projection>& p) {
    const std::string dir = FreshDir("state-bytes");
    ProjectionRuntimeOptions options;
    options.logger = NullLogger();
    auto runtime = OrDie(ProjectionRuntime::Open(dir, log, options), "open runtime");
    OrDie(runtime->Register(p), "register");
    OrDie(runtime->WaitFor(p->name(), log->Head(), absl::Now() + absl::Minutes(10)), "wait");
    uint64_t partitions = 0;
    uint64_t bytes = 0;
    OrDie(runtime->Read({p->name()}, std::nullopt,
                        [&](absl::Span<const StateReader* const> r, GlobalPosition) {
                          return r[0]->Scan(defined::EncodeKey({"state"}),
                                            [&](absl::string_view k, absl::string_view v) {
                                              ++partitions;
                                              bytes += k.size() + v.size();
                                              return true;
                                            });
                        }),
          "read");
    runtime.reset();
    RemoveDir(dir);
    return partitions == 0 ? 0.0 : static_cast<double>(bytes) / partitions;
  };
  const double counter_bytes = state_bytes(json_log.get(), script_counter);
  const double orders_bytes = state_bytes(orders_log.get(), script_orders);
  std::printf("\nscripts (Lua 5.4) against the declarative equivalent (best of 3)\n");
  std::printf("  %-34s %12s %8s %16s\n", "workload", "events/s", "seconds", "bytes/partition");
  std::printf("  %-34s %12.0f %8.2f %16s\n", "declarative counter (rule)", json_events / rule_s,
              rule_s, "8 (a counter)");
  std::printf("  %-34s %12.0f %8.2f %16.0f\n", "script counter", json_events / script_s,
              script_s, counter_bytes);
  std::printf("  %-34s %12.0f %8.2f %16.0f\n", "script order state machine",
              static_cast<double>(orders_log->Head()) / orders_s, orders_s, orders_bytes);
  std::printf("  script counter events/s %.0f  (target >= 200000: %s)\n", json_events / script_s,
              Verdict(json_events / script_s >= 200'000));
  std::printf("  script / declarative      %6.2f  (target >= 0.25: %s)\n", rule_s / script_s,
              Verdict(rule_s / script_s >= 0.25));
  std::printf("  (bytes/partition: the stored state row, key and value)\n");
  std::fflush(stdout);
  orders_log.reset();

  // Queries on the defined projection through the registry's query path.
  const std::string dir = FreshDir("queries");
  ProjectionRuntimeOptions options;
  options.logger = NullLogger();
  auto runtime = OrDie(ProjectionRuntime::Open(dir, json_log.get(), options), "open runtime");
  defined::RegistryOptions registry_options;
  registry_options.logger = NullLogger();
  auto registry = OrDie(
      defined::DefinitionRegistry::Open(json_log.get(), runtime.get(), registry_options),
      "open registry");
  const GlobalPosition head = json_log->Head();
  std::printf("\nqueries on the defined projection, ms (build: its replay from scratch)\n");
  std::printf("  %-6s %-28s %8s %8s %8s  %s\n", "K", "query", "p50", "p99", "max", "target");
  // The same definition with the server's snapshot interval (10,000) and two
  // of its own: time travel replays at most K events after a snapshot.
  for (uint64_t k : {uint64_t{0}, uint64_t{1'000}, uint64_t{250}}) {
    v1::ProjectionDefinition proto = ClicksDefinition(source_dir, /*json=*/true);
    const std::string name = k == 0 ? "clicks" : absl::StrCat("clicks_k", k);
    proto.set_name(name);
    proto.set_snapshot_interval_events(k);
    const Clock::time_point build_start = Clock::now();
    OrDie(registry->Define(proto), "define");
    OrDie(runtime->WaitFor(name, head, absl::Now() + absl::Minutes(10)), "wait");
    const double build_s = Seconds(Clock::now() - build_start);
    auto get = [&](std::optional<GlobalPosition> as_of, uint64_t r) {
      const std::string id = absl::StrCat("link", r % kLinks);
      OrDie(registry->Get(name, {"t", id}, as_of), "get");
    };
    auto scan = [&](std::optional<GlobalPosition> as_of, uint64_t r) {
      defined::ScanRequest request;
      request.prefix = {"d", absl::StrCat("link", r % 50)};  // popular links: 90 day rows each
      request.limit = 30;
      request.as_of = as_of;
      OrDie(registry->Scan(name, request).status(), "scan");
    };
    const Latency get_head = Time(2000, false, head, get);
    const Latency get_past = Time(200, true, head, get);
    const Latency scan_head = Time(2000, false, head, scan);
    const Latency scan_past = Time(200, true, head, scan);
    const std::string label = k == 0 ? "10000" : absl::StrCat(k);
    auto row = [&](const char* query, const Latency& l, const std::string& target) {
      std::printf("  %-6s %-28s %8.3f %8.3f %8.3f  %s\n", label.c_str(), query, l.p50, l.p99,
                  l.max, target.c_str());
    };
    auto verdict = [](const Latency& l, double target) {
      return absl::StrCat("p99 <= ", target, ": ", Verdict(l.p99 <= target));
    };
    std::printf("  %-6s %-28s %8.0f events/s (%.2f s)\n", label.c_str(), "build",
                static_cast<double>(head) / build_s, build_s);
    row("get, as of the head", get_head, verdict(get_head, kGetP99MsTarget));
    row("get, as of a past position", get_past, verdict(get_past, kGetP99MsTarget));
    row("scan 30 rows, as of the head", scan_head, verdict(scan_head, kScanP99MsTarget));
    row("scan 30 rows, as of the past", scan_past, verdict(scan_past, kScanP99MsTarget));
  }
  registry.reset();
  runtime.reset();

  // Live: three defined projections following the same new events, through
  // one JsonEvents (as the server's registry has them) or each parsing alone.
  const int live_clicks = std::max(1, clicks_count / 6);
  std::printf("\nlive: 3 defined clicks projections following %d new JSON clicks (10 per append)\n",
              live_clicks);
  std::printf("  %-34s %12s %8s %18s\n", "parsing", "events/s", "seconds", "parses per event");
  double live_rate[2] = {0, 0};
  for (const bool shared : {true, false}) {
    const std::string live_dir = FreshDir("live");
    auto live_runtime =
        OrDie(ProjectionRuntime::Open(live_dir, json_log.get(), options), "open runtime");
    auto events = std::make_shared<defined::JsonEvents>(
        defined::JsonViews{}, shared ? defined::JsonEvents::kSlotsDefault : 0);
    std::vector<std::string> names;
    for (const char* name : {"live_a", "live_b", "live_c"}) {
      v1::ProjectionDefinition proto = ClicksDefinition(source_dir, /*json=*/true);
      proto.set_name(name);
      OrDie(live_runtime->Register(defined::MakeProjection(
                OrDie(defined::Compile(proto), "compile"), 1, shared ? events : nullptr)),
            "register");
      names.push_back(name);
    }
    auto wait_all = [&] {
      for (const std::string& name : names) {
        OrDie(live_runtime->WaitFor(name, json_log->Head(), absl::Now() + absl::Minutes(10)),
              "wait");
      }
    };
    wait_all();
    const uint64_t misses_before = events->misses();
    const Clock::time_point start = Clock::now();
    AppendClicks(json_log.get(), MakeClicks(live_clicks), /*json=*/true, 10);
    wait_all();
    const double live_s = Seconds(Clock::now() - start);
    live_rate[shared ? 0 : 1] = live_clicks / live_s;
    const std::string parses =
        shared ? absl::StrFormat(
                     "%.2f", static_cast<double>(events->misses() - misses_before) / live_clicks)
               : "3 (by design)";
    std::printf("  %-34s %12.0f %8.2f %18s\n",
                shared ? "one JsonEvents for all three" : "each projection its own",
                live_clicks / live_s, live_s, parses.c_str());
    live_runtime.reset();
    RemoveDir(live_dir);
  }
  std::printf("  shared / own                  %6.2f\n", live_rate[0] / live_rate[1]);
  fb_log.reset();
  json_log.reset();
  RemoveDir(RootDir());
  return 0;
}
