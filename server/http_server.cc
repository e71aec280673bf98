#include "server/http_server.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "server/metrics.h"

namespace strata::server {

class HttpServer::Impl {
 public:
  Impl(const Authorizer* authorizer, const prometheus::Collectable* metrics,
       std::shared_ptr<Logger> logger)
      : authorizer_(authorizer), metrics_(metrics), logger_(std::move(logger)) {}
  ~Impl() { Stop(); }

  absl::Status Start(const std::string& listen, const SecurityOptions& security) {
    const size_t colon = listen.rfind(':');
    int port = -1;
    if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("http_listen: '", listen, "' is not HOST:PORT (port 0 picks one)"));
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);  // [::1]
    }
    if (security.tls()) {
      // The files were checked by ServerCredentials; a client CA makes
      // httplib require and verify client certificates.
      auto tls = std::make_unique<httplib::SSLServer>(
          security.tls_cert_file.c_str(), security.tls_key_file.c_str(),
          security.tls_client_ca_file.empty() ? nullptr : security.tls_client_ca_file.c_str());
      if (!tls->is_valid()) {
        return absl::InvalidArgumentError(absl::StrCat("HTTP: cannot serve TLS with --tls_cert '",
                                                       security.tls_cert_file, "' and --tls_key '",
                                                       security.tls_key_file, "'"));
      }
      server_ = std::move(tls);
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (authorizer_ == nullptr) return httplib::Server::HandlerResponse::Unhandled;
      const absl::Status allowed = authorizer_->CheckHeader(
          req.get_header_value("Authorization"), absl::StrCat("HTTP ", req.method, " ", req.path),
          absl::StrCat(req.remote_addr, ":", req.remote_port), Role::kRead);
      if (allowed.ok()) return httplib::Server::HandlerResponse::Unhandled;
      res.status = absl::IsPermissionDenied(allowed) ? 403 : 401;
      if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      res.set_content(absl::StrCat(allowed.message(), "\n"), "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    });
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(MetricsText(*metrics_), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404) {
        res.set_content(absl::StrCat("no page at ", req.path, "; metrics are at /metrics\n"),
                        "text/plain; charset=utf-8");
      }
    });
    server_->set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
          std::string what = "unknown error";
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            what = ex.what();
          } catch (...) {
          }
          logger_->Log(LogLevel::kError, "server",
                       absl::StrCat("HTTP ", req.method, " ", req.path, " failed: ", what));
          res.status = 500;
          res.set_content("internal error; see the server's log\n", "text/plain; charset=utf-8");
        });
    port_ = port == 0 ? server_->bind_to_any_port(host)
                      : (server_->bind_to_port(host, port) ? port : -1);
    if (port_ <= 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on '", listen, "' for HTTP (address in use or invalid; --http_listen= "
          "disables it)"));
    }
    // Idle keep-alive connections (a Prometheus scraper's) hold Stop up to this.
    server_->set_keep_alive_timeout(2);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // httplib's stop() only acts once the listen loop runs: wait for it, so
    // that a Stop right after Start cannot leave the loop running forever.
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return absl::OkStatus();
  }

  void Stop() {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }

 private:
  const Authorizer* authorizer_;
  const prometheus::Collectable* metrics_;
  std::shared_ptr<Logger> logger_;
  std::unique_ptr<httplib::Server> server_;  // an SSLServer with TLS
  std::thread thread_;
  int port_ = 0;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& listen, const SecurityOptions& security, const Authorizer* authorizer,
    const prometheus::Collectable* metrics, std::shared_ptr<Logger> logger) {
  auto impl = std::make_unique<Impl>(authorizer, metrics, std::move(logger));
  if (absl::Status s = impl->Start(listen, security); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
int HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace strata::server
