// stratad's HTTP listener (--http_listen): GET /metrics in the Prometheus
// text format (metrics.h), behind a token with the read role when the
// security options give tokens (security.h; Prometheus sends it with
// `authorization: {credentials: ...}`); the admin web UI at / (server/ui/,
// compiled in; its files are public, its calls are not) and its JSON API at
// POST /api/strata.v1.<Service>/<Method> (json_gateway.h). Over TLS when the
// security options give a certificate. Built on cpp-httplib, with threads of
// its own. Thread-safe.
#ifndef STRATA_SERVER_HTTP_SERVER_H_
#define STRATA_SERVER_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/base/logger.h"
#include "prometheus/collectable.h"
#include "server/json_gateway.h"
#include "server/security.h"

namespace strata::server {

class HttpServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks a free one) and serves
  // `metrics`, and with a `gateway` the UI and /api. `authorizer` (null:
  // open), `metrics` and `gateway` must outlive the server. Unavailable when the address cannot be
  // bound, InvalidArgument when it is malformed or the TLS files do not load.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                           const SecurityOptions& security,
                                                           const Authorizer* authorizer,
                                                           const prometheus::Collectable* metrics,
                                                           const JsonGateway* gateway,
                                                           std::shared_ptr<Logger> logger);
  ~HttpServer();  // Stop()

  int port() const;
  // Stops accepting and waits for the requests being served.
  void Stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_HTTP_SERVER_H_
