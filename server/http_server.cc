// HttpServer::Impl (http_server.h) on cpp-httplib: the listen address and TLS,
// the Host and token checks before routing, /metrics, the web UI's files, and
// the /api/ calls handed to the JsonGateway.
#include "server/http_server.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/address.h"
#include "engine/base/thread_name.h"
#include "httplib.h"
#include "server/metrics.h"
#include "server/ui_assets.h"

namespace strata::server {
namespace {

// httplib's threads (its default pool: 8 on 2 cores, more on bigger ones)
// that API calls may hold at once.
constexpr int kMaxApiCalls = 4;
// The largest request body: a gRPC message's limit, and JSON's overhead.
constexpr size_t kMaxBody = 16 << 20;

// A request's path or method as it may go into a log line: escaped (a
// decoded "%0a" must not start a forged line) and cut at 200 bytes.
std::string Printable(const std::string& text) {
  constexpr size_t kMax = 200;
  if (text.size() <= kMax) return absl::CEscape(text);
  return absl::StrCat(absl::CEscape(absl::string_view(text).substr(0, kMax)), "...");
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const Authorizer* authorizer, const prometheus::Collectable* metrics,
       const JsonGateway* gateway, std::shared_ptr<Logger> logger)
      : authorizer_(authorizer), metrics_(metrics), gateway_(gateway), logger_(std::move(logger)) {}
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
      // As gRPC's listeners: nothing older than TLS 1.2.
      SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION);
      server_ = std::move(tls);
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    // A request message is at most what the gRPC listener takes, in JSON.
    server_->set_payload_max_length(kMaxBody);
    server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const bool api = absl::StartsWith(req.path, "/api/");
      // Without tokens, a page of any site could reach a loopback server by
      // DNS rebinding (its own name, then 127.0.0.1): the API then answers
      // only requests addressed to an IP literal or localhost.
      if (api && (authorizer_ == nullptr || authorizer_->open()) &&
          !api::IsLoopback(req.get_header_value("Host")) &&
          !api::IsIpLiteral(req.get_header_value("Host"))) {
        res.status = 403;
        res.set_content(JsonGateway::ErrorJson(grpc::StatusCode::PERMISSION_DENIED,
                                               "Host: a server without tokens answers its API "
                                               "only at an IP address or localhost"),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }
      // The UI's files are public (the page asks for a token).
      if (authorizer_ == nullptr || req.path == "/" || absl::StartsWith(req.path, "/ui/")) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      const absl::Status allowed = authorizer_->CheckHeader(
          req.get_header_value("Authorization"),
          absl::StrCat("HTTP ", Printable(req.method), " ", Printable(req.path)),
          absl::StrCat(req.remote_addr, ":", req.remote_port), Role::kRead);
      if (allowed.ok()) return httplib::Server::HandlerResponse::Unhandled;
      res.status = absl::IsPermissionDenied(allowed) ? 403 : 401;
      // Bearer only: a Basic challenge makes browsers prompt for a password
      // on the UI's own fetches (and keep it past the session).
      if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      if (api) {
        res.set_content(JsonGateway::ErrorJson(static_cast<grpc::StatusCode>(allowed.code()),
                                               allowed.message()),
                        "application/json");
      } else {
        res.set_content(absl::StrCat(allowed.message(), "\n"), "text/plain; charset=utf-8");
      }
      return httplib::Server::HandlerResponse::Handled;
    });
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(MetricsText(*metrics_), "text/plain; version=0.0.4; charset=utf-8");
    });
    if (gateway_ != nullptr) ServeUi();
    server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404 && res.body.empty()) {  // not an /api answer's own 404
        res.set_content(absl::StrCat("no page at ", req.path,
                                     "; the web UI is at /, metrics are at /metrics\n"),
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
                       absl::StrCat("HTTP ", Printable(req.method), " ", Printable(req.path),
                                    " failed: ", what));
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
    thread_ = std::thread([this] {
      SetThreadName("strata-http");
      server_->listen_after_bind();
    });
    // httplib's stop() only acts once the listen loop runs: wait for it, so
    // that a Stop right after Start cannot leave the loop running forever.
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return absl::OkStatus();
  }

  // The web UI at / and /ui/<file>, and the JSON API at /api/.
  void ServeUi() {
    const auto page_headers = [](httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                     "frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-cache");
    };
    for (const UiAsset& asset : UiAssets()) {
      const auto serve = [asset, page_headers](const httplib::Request&, httplib::Response& res) {
        page_headers(res);
        res.set_content(asset.bytes.data(), asset.bytes.size(), asset.content_type);
      };
      server_->Get(asset.path, serve);
      if (absl::string_view(asset.path) == "/ui/index.html") server_->Get("/", serve);
    }
    server_->Post(R"(/api/([A-Za-z0-9_.]+/[A-Za-z0-9_]+))", [this](const httplib::Request& req,
                                                                   httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      // A page of another origin cannot send this type without a
      // CORS preflight, which is never granted: no cross-site calls.
      if (!absl::StartsWith(req.get_header_value("Content-Type"), "application/json")) {
        res.status = 415;
        res.set_content(
            JsonGateway::ErrorJson(grpc::StatusCode::INVALID_ARGUMENT,
                                   "Content-Type: send the request as application/json"),
            "application/json");
        return;
      }
      // Calls wait up to their deadline: leave threads for /metrics and the
      // pages.
      if (api_calls_.fetch_add(1) >= kMaxApiCalls) {
        api_calls_.fetch_sub(1);
        res.status = 503;
        res.set_content(JsonGateway::ErrorJson(grpc::StatusCode::UNAVAILABLE,
                                               "too many API calls at once; try again"),
                        "application/json");
        return;
      }
      JsonGateway::Reply reply =
          gateway_->Call(req.matches[1].str(), req.body, req.get_header_value("Authorization"));
      api_calls_.fetch_sub(1);
      res.status = reply.http_status;
      if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      res.set_content(std::move(reply.json), "application/json");
    });
  }

  void Stop() {
    if (server_ != nullptr) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }

 private:
  const Authorizer* authorizer_;
  const prometheus::Collectable* metrics_;
  const JsonGateway* gateway_;  // null: no UI, no /api
  std::atomic<int> api_calls_{0};  // in progress
  std::shared_ptr<Logger> logger_;
  std::unique_ptr<httplib::Server> server_;  // an SSLServer with TLS
  std::thread thread_;
  int port_ = 0;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& listen, const SecurityOptions& security, const Authorizer* authorizer,
    const prometheus::Collectable* metrics, const JsonGateway* gateway,
    std::shared_ptr<Logger> logger) {
  auto impl = std::make_unique<Impl>(authorizer, metrics, gateway, std::move(logger));
  if (absl::Status s = impl->Start(listen, security); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
int HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace strata::server
