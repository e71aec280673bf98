// Prometheus metrics of a running server, in the text exposition format
// (served on /metrics by http_server.h). Everything is read at scrape time
// from figures kept lock-free where the work happens: the log's write path
// (engine/log_stats.h), RocksDB's properties, the projection runtime's status,
// and gRPC calls counted by an interceptor (GrpcStats). A scrape never takes
// a lock on the write path.
//
// prometheus-cpp gives the data model and the text serializer; its Registry
// and Histogram are not used on hot paths because Histogram::Observe takes a
// mutex that a scrape also takes.
// Thread-safe.
#ifndef STRATA_SERVER_METRICS_H_
#define STRATA_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "engine/base/logger.h"
#include "engine/event_log.h"
#include "engine/log_stats.h"
#include "grpcpp/support/server_interceptor.h"
#include "projections/runtime/runtime.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/subscription_hub.h"

namespace strata::server {

// gRPC calls by method and status code, with their latency. The method table
// is built once from the services' descriptors, so counting takes no lock.
// Calls that end INTERNAL or DATA_LOSS are also logged, with their method.
class GrpcStats {
 public:
  // `services`: full names of the services served (e.g. "strata.v1.Streams"),
  // looked up in the generated descriptor pool. Calls to other methods count
  // as service "other", method "other".
  GrpcStats(const std::vector<std::string>& services, std::shared_ptr<Logger> logger);

  // A factory for ServerBuilder::experimental().SetInterceptorCreators; the
  // interceptors count into this object, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  struct Method {
    Method(std::string service, std::string method);
    std::string service;
    std::string method;
    std::array<std::atomic<uint64_t>, 17> calls{};  // by grpc::StatusCode
    AtomicHistogram seconds;                        // call start to status sent
  };
  // The method for a full name ("/strata.v1.Streams/Append"); never null.
  Method* Find(absl::string_view full_name);
  void AppendFamilies(std::vector<prometheus::MetricFamily>* out) const;
  Logger& logger() const { return *logger_; }

 private:
  std::shared_ptr<Logger> logger_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_;  // immutable
  std::unique_ptr<Method> other_;
};

class MetricsCollector : public prometheus::Collectable {
 public:
  // Every pointer must outlive the collector; `grpc` and `streaming` may be null.
  MetricsCollector(const EventLog* log, const ProjectionRuntime* runtime, const GrpcStats* grpc,
                   const StreamingStats* streaming);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const EventLog* log_;
  const ProjectionRuntime* runtime_;
  const GrpcStats* grpc_;
  const StreamingStats* streaming_;
};

// The text exposition format of what `collectable` collects.
std::string MetricsText(const prometheus::Collectable& collectable);

}  // namespace strata::server

#endif  // STRATA_SERVER_METRICS_H_
