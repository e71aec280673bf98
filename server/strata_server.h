// StrataServer: the event log, the projection runtime with the link analytics
// read models, and the gRPC services (Streams, LinkCommands, LinkQueries,
// Projections, health, reflection) in one object. Thread-safe.
#ifndef STRATA_SERVER_STRATA_SERVER_H_
#define STRATA_SERVER_STRATA_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "engine/options.h"
#include "projections/runtime/runtime.h"
#include "server/security.h"

namespace strata::server {

struct ServerOptions {
  // Data directory: the log in <data_dir>/log, read models in
  // <data_dir>/projections. Default: ./data.
  std::string data_dir = "./data";
  // Address to listen on; port 0 picks a free port (see StrataServer::port()).
  // Default: 127.0.0.1:50051.
  std::string listen = "127.0.0.1:50051";
  // Address to serve the KurrentDB client protocol on (kurrent_service.h);
  // port 0 picks a free port (kurrent_port()). Default: empty, not served
  // (stratad's --kurrent_listen defaults to 127.0.0.1:2113).
  std::string kurrent_listen;
  // Address of the HTTP listener serving /metrics (http_server.h); port 0
  // picks a free port (http_port()). Default: empty, not served (stratad's
  // --http_listen defaults to 127.0.0.1:2114).
  std::string http_listen;
  // TLS, access tokens and the loopback rule for every listener (security.h).
  // Default: plaintext and open, which Start refuses on a non-loopback address.
  SecurityOptions security;
  // Event log options (durability, limits). Default: synced appends.
  EventLogOptions log;
  // Projection options (snapshot interval K, batch size). Default: see runtime.h.
  ProjectionRuntimeOptions projections;
  // Longest wait for min_position when the call has no deadline. Default: 10 s.
  absl::Duration default_wait = absl::Seconds(10);
  // Where the server (and, unless their options say otherwise, the log and the
  // projection runtime) report events. Default (null): TextLogger().
  std::shared_ptr<Logger> logger;
  // Largest request message, bytes. Default: 16 MiB.
  int max_receive_message_bytes = 16 << 20;
};

class StrataServer {
 public:
  // Opens the stores, registers the link read models and starts serving.
  static absl::StatusOr<std::unique_ptr<StrataServer>> Start(ServerOptions options);
  // Shuts down (see Shutdown) if still running.
  ~StrataServer();

  // The port actually bound.
  int port() const;
  // The KurrentDB protocol's port; 0 when not served.
  int kurrent_port() const;
  // The HTTP listener's port; 0 when not served.
  int http_port() const;
  EventLog& log();
  ProjectionRuntime& runtime();

  // Stops accepting calls, lets in-flight calls finish (up to `grace`), ends
  // subscriptions, stops the projection workers and closes the stores.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  class Impl;

 private:
  explicit StrataServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_STRATA_SERVER_H_
