// The Prometheus metrics of metrics.h: GrpcStats and its call-counting
// interceptor, MetricsCollector's families (the log, RocksDB, projections,
// gRPC calls, subscriptions) built at scrape time, and MetricsText.
#include "server/metrics.h"

#include <chrono>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_split.h"
#include "api/grpc_status.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/text_serializer.h"

namespace strata::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Seconds, 50 us to 10 s.
std::vector<double> CallBounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric Value(MetricType type, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// A family with one unlabelled value.
MetricFamily Single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = Family(std::move(name), std::move(help), type);
  f.metric.push_back(Value(type, value));
  return f;
}

ClientMetric Histogram(const AtomicHistogram& h, std::vector<ClientMetric::Label> labels = {}) {
  const AtomicHistogram::Snapshot s = h.Read();
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < s.counts.size(); ++i) {
    cumulative += s.counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < s.bounds.size() ? s.bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = s.sum;
  return m;
}

// Counts one call: its method from the start, its code when the status goes.
class CallCounter : public grpc::experimental::Interceptor {
 public:
  CallCounter(GrpcStats::Method* method, const char* full_name, Logger* logger)
      : method_(method),
        full_name_(full_name),
        logger_(logger),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const int code = static_cast<int>(status.error_code());
      method_->calls[code >= 0 && code < 17 ? code : 2].fetch_add(1, std::memory_order_relaxed);
      method_->seconds.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      // The server's own failures (not the caller's) reach the log.
      if (status.error_code() == grpc::StatusCode::INTERNAL ||
          status.error_code() == grpc::StatusCode::DATA_LOSS) {
        logger_->Log(
            LogLevel::kError, "server",
            absl::StrCat("gRPC ", full_name_, " failed: ", api::CodeName(status.error_code()), ": ",
                         status.error_message()));
      }
    }
    methods->Proceed();
  }

 private:
  GrpcStats::Method* method_;
  const char* full_name_;  // gRPC's, alive for the call
  Logger* logger_;
  std::chrono::steady_clock::time_point start_;
};

class CallCounterFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallCounterFactory(GrpcStats* stats) : stats_(stats) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallCounter(stats_->Find(info->method()), info->method(), &stats_->logger());
  }

 private:
  GrpcStats* stats_;
};

}  // namespace

GrpcStats::Method::Method(std::string service, std::string method)
    : service(std::move(service)), method(std::move(method)), seconds(CallBounds()) {}

GrpcStats::GrpcStats(const std::vector<std::string>& services, std::shared_ptr<Logger> logger)
    : logger_(std::move(logger)), other_(std::make_unique<Method>("other", "other")) {
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  // gRPC's own services, built without libprotobuf descriptors (upb).
  static const auto* const kBuiltIn = new std::map<std::string, std::vector<std::string>>{
      {"grpc.health.v1.Health", {"Check", "Watch"}},
      {"grpc.reflection.v1alpha.ServerReflection", {"ServerReflectionInfo"}}};
  for (const std::string& name : services) {
    std::vector<std::string> methods;
    if (const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name)) {
      for (int i = 0; i < service->method_count(); ++i) methods.push_back(service->method(i)->name());
    } else if (auto it = kBuiltIn->find(name); it != kBuiltIn->end()) {
      methods = it->second;
    } else {
      logger_->Log(LogLevel::kWarning, "server",
                   absl::StrCat("metrics: service ", name, " has no descriptor; its calls count "
                                "as service 'other'"));
    }
    for (const std::string& method : methods) {
      methods_.emplace(absl::StrCat("/", name, "/", method), std::make_unique<Method>(name, method));
    }
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcStats::NewInterceptorFactory() {
  return std::make_unique<CallCounterFactory>(this);
}

GrpcStats::Method* GrpcStats::Find(absl::string_view full_name) {
  auto it = methods_.find(full_name);
  return it == methods_.end() ? other_.get() : it->second.get();
}

void GrpcStats::AppendFamilies(std::vector<MetricFamily>* out) const {
  MetricFamily calls = Family("strata_grpc_calls_total",
                              "gRPC calls finished, by service, method and status code",
                              MetricType::Counter);
  MetricFamily latency =
      Family("strata_grpc_call_latency_seconds",
             "gRPC call time from its start to its status, by service and method",
             MetricType::Histogram);
  auto add = [&](const Method& m) {
    uint64_t total = 0;
    for (size_t code = 0; code < m.calls.size(); ++code) {
      const uint64_t n = m.calls[code].load(std::memory_order_relaxed);
      total += n;
      if (n == 0) continue;
      calls.metric.push_back(Value(MetricType::Counter, static_cast<double>(n),
                                   {{"service", m.service},
                                    {"method", m.method},
                                    {"code", api::CodeName(static_cast<grpc::StatusCode>(code))}}));
    }
    if (total > 0) {
      latency.metric.push_back(Histogram(m.seconds, {{"service", m.service}, {"method", m.method}}));
    }
  };
  // In name order, so that a scrape reads the same way each time.
  std::vector<const Method*> sorted;
  for (const auto& [name, m] : methods_) sorted.push_back(m.get());
  std::sort(sorted.begin(), sorted.end(), [](const Method* a, const Method* b) {
    return std::tie(a->service, a->method) < std::tie(b->service, b->method);
  });
  for (const Method* m : sorted) add(*m);
  add(*other_);
  out->push_back(std::move(calls));
  out->push_back(std::move(latency));
}

MetricsCollector::MetricsCollector(const EventLog* log, const ProjectionRuntime* runtime,
                                   const GrpcStats* grpc, const StreamingStats* streaming)
    : log_(log), runtime_(runtime), grpc_(grpc), streaming_(streaming) {}

std::vector<MetricFamily> MetricsCollector::Collect() const {
  std::vector<MetricFamily> out;
  const LogStats& stats = log_->stats();

  // ---- the log ----
  MetricFamily appends = Family("strata_appends_total",
                                "Appends (and stream deletions) finished, by outcome",
                                MetricType::Counter);
  for (size_t i = 0; i < kAppendOutcomes; ++i) {
    const auto outcome = static_cast<AppendOutcome>(i);
    appends.metric.push_back(Value(MetricType::Counter,
                                   static_cast<double>(stats.Appends(outcome)),
                                   {{"outcome", AppendOutcomeName(outcome)}}));
  }
  out.push_back(std::move(appends));
  out.push_back(Single("strata_events_appended_total",
                       "Events written by acknowledged appends", MetricType::Counter,
                       static_cast<double>(stats.events_appended.load())));
  MetricFamily append_latency =
      Family("strata_append_latency_seconds",
             "Time from an append's call to its acknowledgement (after the sync)",
             MetricType::Histogram);
  append_latency.metric.push_back(Histogram(stats.append_seconds));
  out.push_back(std::move(append_latency));
  MetricFamily group = Family("strata_group_commit_events",
                              "Events written per group commit (one synced write)",
                              MetricType::Histogram);
  group.metric.push_back(Histogram(stats.group_events));
  out.push_back(std::move(group));
  MetricFamily fsync = Family("strata_fsync_latency_seconds",
                              "Time of one group commit's synced write", MetricType::Histogram);
  fsync.metric.push_back(Histogram(stats.sync_seconds));
  out.push_back(std::move(fsync));

  const GlobalPosition head = log_->Head();
  out.push_back(Single("strata_log_head_position", "The log's last committed position",
                       MetricType::Gauge, static_cast<double>(head)));
  out.push_back(Single("strata_log_events", "Events stored (positions are dense from 1)",
                       MetricType::Gauge, static_cast<double>(head)));
  if (absl::StatusOr<StorageStats> storage = log_->GetStorageStats(); storage.ok()) {
    out.push_back(Single("strata_log_stored_bytes",
                         "Bytes the log's store holds: table files and memtables",
                         MetricType::Gauge,
                         static_cast<double>(storage->live_sst_bytes + storage->memtable_bytes)));
    out.push_back(Single("strata_rocksdb_memtable_bytes", "The log's RocksDB memtables, bytes",
                         MetricType::Gauge, static_cast<double>(storage->memtable_bytes)));
    out.push_back(Single("strata_rocksdb_block_cache_bytes",
                         "The log's RocksDB block cache in use, bytes", MetricType::Gauge,
                         static_cast<double>(storage->block_cache_bytes)));
    out.push_back(Single("strata_rocksdb_pending_compaction_bytes",
                         "Bytes RocksDB estimates compaction has to rewrite", MetricType::Gauge,
                         static_cast<double>(storage->pending_compaction_bytes)));
    out.push_back(Single("strata_rocksdb_write_stopped",
                         "1 while RocksDB stops writes (a write stall), else 0",
                         MetricType::Gauge, storage->writes_stopped ? 1 : 0));
    out.push_back(Single("strata_rocksdb_delayed_write_rate_bytes_per_second",
                         "The rate RocksDB slows writes to during a stall; 0 when not slowed",
                         MetricType::Gauge, static_cast<double>(storage->delayed_write_rate)));
  }

  // ---- projections ----
  MetricFamily checkpoint = Family("strata_projection_checkpoint_position",
                                   "Last log position a projection generation has applied",
                                   MetricType::Gauge);
  MetricFamily lag = Family("strata_projection_lag_events",
                            "Log positions a projection generation has still to apply",
                            MetricType::Gauge);
  MetricFamily lag_seconds =
      Family("strata_projection_lag_seconds",
             "Commit time of the log's head minus that of the newest applied event; 0 when "
             "caught up",
             MetricType::Gauge);
  MetricFamily applied = Family("strata_projection_events_applied_total",
                                "Log positions a projection generation applied since start",
                                MetricType::Counter);
  MetricFamily state = Family("strata_projection_state",
                              "1 for a projection generation's state (building, live, failed)",
                              MetricType::Gauge);
  MetricFamily progress = Family("strata_projection_progress_ratio",
                                 "Checkpoint / head: 1 when caught up, rebuild progress while "
                                 "building",
                                 MetricType::Gauge);
  std::optional<int64_t> head_time;
  if (head > 0) {
    if (absl::StatusOr<RecordedEvent> e = log_->ReadEvent(head); e.ok()) {
      head_time = e->recorded_at_us;
    }
  }
  for (const ProjectionStatus& p : runtime_->Status()) {
    // The generation too: during a rebuild two generations of one version
    // (say, live and building, or two failed) are listed.
    const std::vector<ClientMetric::Label> labels = {
        {"projection", p.name},
        {"projection_version", absl::StrCat(p.projection_version)},
        {"generation", absl::StrCat(p.generation)},
        {"generation_state", GenerationStateName(p.state)}};
    checkpoint.metric.push_back(
        Value(MetricType::Gauge, static_cast<double>(p.checkpoint), labels));
    lag.metric.push_back(Value(MetricType::Gauge, static_cast<double>(p.lag), labels));
    double seconds = 0;
    if (p.lag > 0 && head_time.has_value()) {
      absl::StatusOr<RecordedEvent> applied_event =
          p.checkpoint > 0 ? log_->ReadEvent(p.checkpoint)
                           : absl::StatusOr<RecordedEvent>(absl::NotFoundError("none"));
      // Nothing applied yet: as old as the log's first event.
      if (!applied_event.ok() && head > 0) applied_event = log_->ReadEvent(1);
      if (applied_event.ok()) {
        seconds = std::max<double>(0, (*head_time - applied_event->recorded_at_us) / 1e6);
      }
    }
    lag_seconds.metric.push_back(Value(MetricType::Gauge, seconds, labels));
    applied.metric.push_back(
        Value(MetricType::Counter, static_cast<double>(p.events_applied), labels));
    progress.metric.push_back(Value(MetricType::Gauge, p.progress, labels));
    for (GenerationState s :
         {GenerationState::kBuilding, GenerationState::kLive, GenerationState::kFailed}) {
      std::vector<ClientMetric::Label> state_labels = labels;
      state_labels.back() = {"state", GenerationStateName(s)};
      state.metric.push_back(Value(MetricType::Gauge, p.state == s ? 1 : 0, state_labels));
    }
  }
  for (MetricFamily* f : {&checkpoint, &lag, &lag_seconds, &applied, &state, &progress}) {
    out.push_back(std::move(*f));
  }

  // ---- serving ----
  if (grpc_ != nullptr) grpc_->AppendFamilies(&out);
  if (streaming_ != nullptr) {
    out.push_back(Single("strata_subscriptions_open",
                         "Open streamed reads and subscriptions (both protocols)",
                         MetricType::Gauge,
                         static_cast<double>(streaming_->open_subscriptions.load())));
    out.push_back(Single("strata_subscription_queued_bytes",
                         "Event payload bytes read for streamed calls and not yet sent",
                         MetricType::Gauge, static_cast<double>(streaming_->queued_bytes.load())));
  }
  return out;
}

std::string MetricsText(const prometheus::Collectable& collectable) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collectable.Collect());
  return out.str();
}

}  // namespace strata::server
