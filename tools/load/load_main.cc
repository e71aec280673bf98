// strata_load: a load generator for stratad. Keeps exactly --concurrency calls
// in flight on gRPC's callback API, runs the no-op yardstick (the standard
// gRPC health Check) first, then each mode, and prints calls/s, events/s,
// latency percentiles, errors by code, client and server CPU, and each
// mode's ratio to the yardstick.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/client_channel.h"
#include "engine/base/cli_flags.h"
#include "tools/load/workloads.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "stratad's gRPC address (host:port).");
ABSL_FLAG(std::string, token, "",
          "Access token sent with every call (default: $STRATA_TOKEN); needs the write role.");
ABSL_FLAG(std::string, tls_ca, "",
          "Use TLS, trusting this PEM CA certificate (both --server and --kurrent_server).");
ABSL_FLAG(std::string, kurrent_server, "127.0.0.1:2113",
          "stratad's KurrentDB protocol address, for the kurrent-* modes.");
ABSL_FLAG(std::string, modes, "click,append",
          "Comma-separated modes, run in order after the noop yardstick: noop, click, "
          "create-link, update-destination, append, analytics, mixed, readall, subscribe, "
          "kurrent-append (Append through the KurrentDB protocol), kurrent-readall (its Read "
          "of $all).");
ABSL_FLAG(int, concurrency, 64, "Calls in flight (unary modes).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "How long each unary mode runs.");
ABSL_FLAG(uint64_t, calls, 0, "Stop each unary mode after this many calls instead of --duration.");
ABSL_FLAG(uint64_t, read_events, 0, "readall: events to read (0: the whole log).");
ABSL_FLAG(int, events_per_call, 1, "append: events per Append call (1..10000).");
ABSL_FLAG(int, links, 100,
          "click, update-destination, analytics: links used (created first when missing).");
ABSL_FLAG(std::string, link_prefix, "load-link-", "Link ids are <prefix><0..links-1>.");
ABSL_FLAG(int, spread_days, 90, "click: clicked_at falls uniformly on the last N days.");
ABSL_FLAG(int, data_bytes, 100, "append: bytes of JSON data per event.");
ABSL_FLAG(std::string, mix, "click=90,analytics=10",
          "mixed: mode=weight pairs, e.g. click=90,analytics=10.");
ABSL_FLAG(int, subscribers, 0,
          "Live Subscribe calls from the head held open during each unary mode; the "
          "first samples delivery delay (server recorded_at to receipt).");
ABSL_FLAG(int, server_pid, 0,
          "stratad's pid for server CPU and RSS (default: the one process named stratad, "
          "if there is exactly one).");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "A noop warm-up before measuring (0 to skip).");
ABSL_FLAG(bool, json, false, "Print one JSON object instead of the table.");

namespace strata::load {
namespace {

constexpr char kUsage[] =
    "strata_load: drive a running stratad and measure it.\n"
    "Usage: strata_load [--server host:port] [--modes click,append] [--concurrency 64]\n"
    "                   [--duration 10s] [--json] ...\n"
    "Example: strata_load --modes noop,click,append,analytics --events_per_call 100\n"
    "Each mode's ratio is to the no-op yardstick (grpc.health.v1.Health/Check) run\n"
    "first in the same invocation. Streaming modes (readall, subscribe) read the whole\n"
    "log with one client and report events/s. The kurrent-* modes drive the KurrentDB\n"
    "client protocol (--kurrent_server), to compare with append and readall.";

absl::StatusOr<std::vector<std::pair<std::string, int>>> ParseMix(const std::string& text) {
  std::vector<std::pair<std::string, int>> mix;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    int weight = 0;
    if (kv.first.empty() || !absl::SimpleAtoi(kv.second, &weight) || weight <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mix: '", part, "' is not mode=weight with a positive weight"));
    }
    mix.emplace_back(kv.first, weight);
  }
  return mix;
}

absl::Status Validate(const LoadOptions& o) {
  if (o.concurrency < 1 || o.concurrency > 10'000) {
    return absl::InvalidArgumentError("--concurrency: must be 1..10000");
  }
  if (o.events_per_call < 1 || o.events_per_call > 10'000) {
    return absl::InvalidArgumentError("--events_per_call: must be 1..10000");
  }
  if (o.links < 1 || o.links > 1'000'000) {
    return absl::InvalidArgumentError("--links: must be 1..1000000");
  }
  if (o.spread_days < 1 || o.spread_days > 3650) {
    return absl::InvalidArgumentError("--spread_days: must be 1..3650");
  }
  if (o.duration <= absl::ZeroDuration() && o.max_calls == 0) {
    return absl::InvalidArgumentError("--duration: must be positive (or set --calls)");
  }
  if (o.data_bytes < 0 || o.data_bytes > (1 << 20)) {
    return absl::InvalidArgumentError("--data_bytes: must be 0..1048576");
  }
  return absl::OkStatus();
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "strata_load: %s\n", std::string(s.message()).c_str());
  return 1;
}

// Runs one mode and measures it, with the subscribers and lag probe around it.
ModeReport Measure(const std::string& mode, Target* target, std::optional<pid_t> server) {
  ModeReport r;
  r.mode = mode;
  const bool streaming = IsStreamingMode(mode);
  r.concurrency = streaming ? 1 : target->options().concurrency;
  if (mode == "append") r.mode = absl::StrCat("append x", target->options().events_per_call);
  std::unique_ptr<LiveSubscribers> subscribers;
  const int n_subscribers = absl::GetFlag(FLAGS_subscribers);
  if (!streaming && n_subscribers > 0) {
    absl::StatusOr<uint64_t> head = Head(target);
    if (head.ok()) subscribers = std::make_unique<LiveSubscribers>(target, n_subscribers, *head);
  }
  std::unique_ptr<LagProbe> probe;
  if (mode == "click" || mode == "mixed") probe = std::make_unique<LagProbe>(target);
  const double self_cpu = SelfCpuSeconds();
  const std::optional<double> server_cpu =
      server.has_value() ? ProcessCpuSeconds(*server) : std::nullopt;
  if (streaming) {
    RunStreamRead(mode, target, &r);
  } else {
    RunClosedLoop(mode, target, &r);
  }
  const double self_used = SelfCpuSeconds() - self_cpu;
  const std::optional<double> server_after =
      server.has_value() ? ProcessCpuSeconds(*server) : std::nullopt;
  if (r.seconds > 0) {
    r.client_cpu = self_used / r.seconds;
    if (server_cpu.has_value() && server_after.has_value()) {
      r.server_cpu = (*server_after - *server_cpu) / r.seconds;
    }
  }
  if (server.has_value()) r.server_rss = ProcessRssBytes(*server);
  if (probe != nullptr) probe->Stop(&r);
  if (subscribers != nullptr) subscribers->Stop(&r);
  return r;
}

int Main(int argc, char** argv) {
  ParseFlags(argc, argv, kUsage);
  LoadOptions o;
  o.concurrency = absl::GetFlag(FLAGS_concurrency);
  o.duration = absl::GetFlag(FLAGS_duration);
  o.max_calls = absl::GetFlag(FLAGS_calls);
  o.read_events = absl::GetFlag(FLAGS_read_events);
  o.events_per_call = absl::GetFlag(FLAGS_events_per_call);
  o.links = absl::GetFlag(FLAGS_links);
  o.link_prefix = absl::GetFlag(FLAGS_link_prefix);
  o.spread_days = absl::GetFlag(FLAGS_spread_days);
  o.data_bytes = absl::GetFlag(FLAGS_data_bytes);
  absl::StatusOr<std::vector<std::pair<std::string, int>>> mix = ParseMix(absl::GetFlag(FLAGS_mix));
  if (!mix.ok()) return Fail(mix.status());
  o.mix = *mix;
  if (absl::Status s = Validate(o); !s.ok()) return Fail(s);

  std::vector<std::string> modes = {"noop"};
  for (absl::string_view m : absl::StrSplit(absl::GetFlag(FLAGS_modes), ',', absl::SkipEmpty())) {
    if (m != "noop") modes.emplace_back(m);
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  api::ClientSecurity security;
  security.token = absl::GetFlag(FLAGS_token);
  if (const char* env = std::getenv("STRATA_TOKEN"); security.token.empty() && env != nullptr) {
    security.token = env;
  }
  security.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel_or =
      api::NewChannel(absl::GetFlag(FLAGS_server), security, args);
  if (!channel_or.ok()) return Fail(channel_or.status());
  std::shared_ptr<grpc::Channel> channel = *channel_or;
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    return Fail(absl::UnavailableError(
        absl::StrCat("cannot connect to ", absl::GetFlag(FLAGS_server),
                     " within 5 s (is stratad running? ./scripts/run.sh starts one)")));
  }
  // The KurrentDB protocol's channel, when a mode (or a mixed one) uses it.
  std::vector<std::string> used = modes;
  for (const auto& [m, weight] : o.mix) used.push_back(m);
  std::shared_ptr<grpc::Channel> kurrent;
  for (const std::string& m : used) {
    if (!absl::StartsWith(m, "kurrent-") || kurrent != nullptr) continue;
    channel_or = api::NewChannel(absl::GetFlag(FLAGS_kurrent_server), security, args);
    if (!channel_or.ok()) return Fail(channel_or.status());
    kurrent = *channel_or;
    if (!kurrent->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      return Fail(absl::UnavailableError(
          absl::StrCat("cannot connect to the KurrentDB protocol at ",
                       absl::GetFlag(FLAGS_kurrent_server),
                       " within 5 s (stratad --kurrent_listen; --kurrent_server says where)")));
    }
  }
  Target target(channel, o, absl::StrCat(getpid(), "-", absl::ToUnixSeconds(absl::Now())),
                kurrent);

  // Unknown modes fail before any load runs.
  for (const std::string& m : modes) {
    if (IsStreamingMode(m)) continue;
    absl::StatusOr<std::unique_ptr<Call>> call = NewCall(m, &target, 0);
    if (!call.ok()) return Fail(call.status());
  }
  for (const std::string& m : modes) {
    const bool uses_links =
        m == "click" || m == "update-destination" || m == "analytics" || m == "mixed";
    if (uses_links) {
      if (absl::Status s = CreateLinks(&target); !s.ok()) return Fail(s);
      break;
    }
  }

  std::optional<pid_t> server;
  if (absl::GetFlag(FLAGS_server_pid) > 0) {
    server = absl::GetFlag(FLAGS_server_pid);
  } else {
    server = FindStratad();
  }
  const bool json = absl::GetFlag(FLAGS_json);
  if (!json && !server.has_value()) {
    std::fprintf(stderr,
                 "strata_load: server CPU not measured (no single local stratad; "
                 "--server_pid says which)\n");
  }
  if (absl::GetFlag(FLAGS_warmup) > absl::ZeroDuration()) {
    LoadOptions warm = o;
    warm.duration = absl::GetFlag(FLAGS_warmup);
    warm.max_calls = 0;
    Target warm_target(channel, warm, target.nonce());
    ModeReport ignored;
    RunClosedLoop("noop", &warm_target, &ignored);
  }

  std::vector<ModeReport> reports;
  for (const std::string& m : modes) {
    if (!json) std::fprintf(stderr, "strata_load: running %s...\n", m.c_str());
    reports.push_back(Measure(m, &target, server));
  }
  const ModeReport* yardstick = &reports.front();
  std::cout << (json ? FormatJson(reports, yardstick) : FormatTable(reports, yardstick));
  for (const ModeReport& r : reports) {
    if (r.calls == 0) return 1;  // a mode that never succeeded
  }
  return 0;
}

}  // namespace
}  // namespace strata::load

int main(int argc, char** argv) { return strata::load::Main(argc, argv); }
