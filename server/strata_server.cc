// StrataServer::Impl (strata_server.h): opens both stores, registers the link
// projections and the DefinitionRegistry, starts the gRPC services and
// listeners (and the KurrentDB and HTTP ones when asked), and shuts them down
// in order.
#include "server/strata_server.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engine/base/macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "links/links.h"
#include "projections/data_dir.h"
#include "server/admin_service.h"
#include "server/http_server.h"
#include "server/kurrent_service.h"
#include "server/link_service.h"
#include "server/metrics.h"
#include "server/projection_service.h"
#include "server/streams_service.h"

namespace strata::server {
namespace {

// Threads for the methods that may block (BlockingExecutor): queries waiting
// for min_position hold one each until their deadline, so more are started
// when all are busy.
constexpr int kBlockingThreads = 8;
constexpr int kBlockingThreadsMax = 1024;

// Client keepalive pings are accepted every 5 s, with or without calls:
// KurrentDB's clients ping every 10 s, and gRPC's default (one ping per 5
// minutes without data) would end their idle subscriptions with GOAWAY
// ENHANCE_YOUR_CALM, which the clients see as RESOURCE_EXHAUSTED.
constexpr int kPingIntervalMinMs = 5000;

// The streams only the link domain's commands write (both Append paths refuse
// them).
std::vector<std::string> DomainStreamPrefixes() {
  return std::vector<std::string>(std::begin(links::kDomainStreamPrefixes),
                                  std::end(links::kDomainStreamPrefixes));
}

// The services whose calls the metrics count by method.
const std::vector<std::string>& ServedServices() {
  static const auto* const services =
      new std::vector<std::string>{"strata.v1.Streams",
                                   "strata.v1.LinkCommands",
                                   "strata.v1.LinkQueries",
                                   "strata.v1.Projections",
                                   "strata.v1.ProjectionQueries",
                                   "strata.v1.Admin",
                                   "event_store.client.streams.Streams",
                                   "event_store.client.server_features.ServerFeatures",
                                   "grpc.health.v1.Health",
                                   "grpc.reflection.v1alpha.ServerReflection"};
  return *services;
}

void ConfigureBuilder(const ServerOptions& options, GrpcStats* grpc_stats,
                      grpc::ServerBuilder* builder) {
  // gRPC's health service stays open (load balancers probe it without a
  // token), as does reflection, which describes the schema and no data.
  builder->SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (grpc_stats != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(grpc_stats->NewInterceptorFactory());
    builder->experimental().SetInterceptorCreators(std::move(creators));
  }
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              kPingIntervalMinMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
}

}  // namespace

class StrataServer::Impl {
 public:
  explicit Impl(ServerOptions options) : options_(std::move(options)) {
    // One logger for the server and both stores, unless each was given one.
    options_.logger = OrDefault(std::move(options_.logger));
    if (options_.log.logger == nullptr) options_.log.logger = options_.logger;
    if (options_.projections.logger == nullptr) options_.projections.logger = options_.logger;
  }
  ~Impl() { Shutdown(absl::Seconds(5)); }

  absl::Status Start() {
    const absl::Time start = absl::Now();
    // Refused before anything is opened: a server that would be exposed.
    STRATA_RETURN_IF_ERROR(
        CheckExposure(options_.security, {{"--listen", options_.listen},
                                          {"--kurrent_listen", options_.kurrent_listen},
                                          {"--http_listen", options_.http_listen}}));
    STRATA_ASSIGN_OR_RETURN(credentials_, ServerCredentials(options_.security));
    STRATA_ASSIGN_OR_RETURN(authorizer_, Authorizer::Load(options_.security, options_.logger));
    STRATA_ASSIGN_OR_RETURN(log_, EventLog::Open(LogDir(options_.data_dir), options_.log));
    STRATA_ASSIGN_OR_RETURN(runtime_, ProjectionRuntime::Open(ProjectionsDir(options_.data_dir),
                                                              log_.get(), options_.projections));
    defined::RegistryOptions registry_options;
    registry_options.logger = options_.projections.logger;
    // The link domain's FlatBuffers events, readable by definitions as JSON.
    registry_options.json_views = std::make_shared<const defined::JsonViews>(
        defined::JsonViews{{links::kContentType, links::EventJson}});
    for (std::shared_ptr<Projection>& p : links::Projections()) {
      registry_options.built_in_names.push_back(p->name());
      STRATA_RETURN_IF_ERROR(runtime_->Register(std::move(p)));
    }
    STRATA_ASSIGN_OR_RETURN(
        registry_, defined::DefinitionRegistry::Open(log_.get(), runtime_.get(), registry_options));

    hub_ = std::make_unique<SubscriptionHub>();
    std::function<int64_t()> now_us = options_.log.clock_us;
    if (!now_us) now_us = [] { return absl::ToUnixMicros(absl::Now()); };
    commands_ = std::make_unique<LinkCommandsService>(log_.get(), now_us);
    executor_ = std::make_unique<BlockingExecutor>(kBlockingThreads, kBlockingThreadsMax);
    streams_ = std::make_unique<StreamsService>(log_.get(), hub_.get(), executor_.get(),
                                                DomainStreamPrefixes());
    queries_ = std::make_unique<LinkQueriesService>(log_.get(), runtime_.get(),
                                                    options_.default_wait, executor_.get());
    admin_ = std::make_unique<ProjectionsService>(runtime_.get(), registry_.get(),
                                                  executor_.get());
    projection_queries_ = std::make_unique<ProjectionQueriesService>(
        log_.get(), runtime_.get(), registry_.get(), options_.default_wait, executor_.get());
    server_admin_ = std::make_unique<AdminService>(log_.get(), runtime_.get(), options_.data_dir,
                                                   options_.logger, executor_.get());

    for (RpcService* service : std::initializer_list<RpcService*>{
             streams_.get(), commands_.get(), queries_.get(), admin_.get(),
             projection_queries_.get(), server_admin_.get()}) {
      STRATA_RETURN_IF_ERROR(service->CheckComplete());
      service->SetAuthorizer(authorizer_.get());
    }
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    // Counts calls for /metrics and logs the server's own failures.
    grpc_stats_ = std::make_unique<GrpcStats>(ServedServices(), options_.logger);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen, credentials_, &port_);
    ConfigureBuilder(options_, grpc_stats_.get(), &builder);
    builder.RegisterService(streams_.get());
    builder.RegisterService(commands_.get());
    builder.RegisterService(queries_.get());
    builder.RegisterService(admin_.get());
    builder.RegisterService(projection_queries_.get());
    builder.RegisterService(server_admin_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on '", options_.listen,
                                                 "' (address in use or invalid)"));
    }
    // The start line comes last: once it is printed, everything serves.
    if (!options_.kurrent_listen.empty()) STRATA_RETURN_IF_ERROR(StartKurrent());
    if (!options_.http_listen.empty()) {
      metrics_ = std::make_unique<MetricsCollector>(log_.get(), runtime_.get(), grpc_stats_.get(),
                                                    &hub_->stats());
      grpc::ChannelArguments gateway_args;
      gateway_args.SetMaxReceiveMessageSize(64 << 20);  // JsonGateway cuts a read at 16 MiB
      gateway_ = std::make_unique<JsonGateway>(server_->InProcessChannel(gateway_args));
      STRATA_ASSIGN_OR_RETURN(
          http_, HttpServer::Start(options_.http_listen, options_.security, authorizer_.get(),
                                   metrics_.get(), gateway_.get(), options_.logger));
      options_.logger->Log(LogLevel::kInfo, "server",
                           absl::StrCat("HTTP (web UI at /, /metrics) listening on ",
                                        options_.http_listen, " (port ", http_->port(), ")"));
    }
    options_.logger->Log(
        LogLevel::kInfo, "server",
        absl::StrCat("stratad listening on ", options_.listen, " (port ", port_,
                     "), data directory '", options_.data_dir, "', recovered head position ",
                     log_->Head(), ", started in ", absl::FormatDuration(absl::Now() - start), "; ",
                     SecuritySummary()));
    return absl::OkStatus();
  }

  // The KurrentDB protocol on its own listener: the same log and hub.
  absl::Status StartKurrent() {
    kurrent_streams_ = std::make_unique<KurrentStreamsService>(
        log_.get(), hub_.get(), executor_.get(), DomainStreamPrefixes(), options_.log.limits);
    kurrent_streams_->SetAuthorizer(authorizer_.get());
    kurrent_features_ = std::make_unique<KurrentFeaturesService>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.kurrent_listen, credentials_, &kurrent_port_);
    ConfigureBuilder(options_, grpc_stats_.get(), &builder);
    builder.RegisterService(kurrent_streams_.get());
    builder.RegisterService(kurrent_features_.get());
    kurrent_server_ = builder.BuildAndStart();
    if (kurrent_server_ == nullptr || kurrent_port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on '", options_.kurrent_listen,
          "' for the KurrentDB protocol (address in use or invalid; --kurrent_listen= disables "
          "it)"));
    }
    options_.logger->Log(LogLevel::kInfo, "server",
                         absl::StrCat("KurrentDB protocol listening on ", options_.kurrent_listen,
                                      " (port ", kurrent_port_, ")"));
    return absl::OkStatus();
  }

  void Shutdown(absl::Duration grace) {
    absl::MutexLock lock(&shutdown_mu_);
    if (http_ != nullptr) http_->Stop();  // a scrape reads everything below
    gateway_.reset();                     // its channel goes to server_
    if (server_ != nullptr || kurrent_server_ != nullptr) {
      // Stop accepting; in-flight calls (appends waiting for their sync) finish.
      // gRPC waits up to `grace` for in-flight calls (and for idle clients to
      // acknowledge the GOAWAY), then cancels what is left.
      // Subscriptions never end on their own: end the idle ones first.
      hub_->Stop();
      const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
      for (std::unique_ptr<grpc::Server>* s : {&server_, &kurrent_server_}) {
        if (*s != nullptr) (*s)->Shutdown(deadline);
      }
      for (std::unique_ptr<grpc::Server>* s : {&server_, &kurrent_server_}) {
        if (*s != nullptr) (*s)->Wait();
        s->reset();
      }
    }
    if (executor_ != nullptr) executor_->Stop();  // after the calls it serves have ended
    if (hub_ != nullptr) hub_->Stop();
    registry_.reset();
    runtime_.reset();  // stops workers after their current batch
    log_.reset();      // drains queued appends, closes RocksDB
  }

  // "TLS, 3 access tokens" / "plaintext, open": how the listeners are guarded.
  std::string SecuritySummary() const {
    return absl::StrCat(options_.security.tls()
                            ? (options_.security.tls_client_ca_file.empty() ? "TLS" : "mutual TLS")
                            : "plaintext",
                        ", ",
                        authorizer_->open()
                            ? std::string("open to every caller")
                            : absl::StrCat(authorizer_->token_count(), " access token(s)"));
  }

  int port() const { return port_; }
  int kurrent_port() const { return kurrent_port_; }
  int http_port() const { return http_ == nullptr ? 0 : http_->port(); }
  EventLog& log() { return *log_; }
  ProjectionRuntime& runtime() { return *runtime_; }

 private:
  ServerOptions options_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  std::unique_ptr<Authorizer> authorizer_;  // outlives the services that check with it
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<ProjectionRuntime> runtime_;
  std::unique_ptr<defined::DefinitionRegistry> registry_;
  std::unique_ptr<SubscriptionHub> hub_;
  std::unique_ptr<BlockingExecutor> executor_;
  std::unique_ptr<StreamsService> streams_;
  std::unique_ptr<LinkCommandsService> commands_;
  std::unique_ptr<LinkQueriesService> queries_;
  std::unique_ptr<ProjectionsService> admin_;
  std::unique_ptr<ProjectionQueriesService> projection_queries_;
  std::unique_ptr<AdminService> server_admin_;
  std::unique_ptr<KurrentStreamsService> kurrent_streams_;
  std::unique_ptr<KurrentFeaturesService> kurrent_features_;
  std::unique_ptr<GrpcStats> grpc_stats_;  // outlives the servers whose calls it counts
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> kurrent_server_;
  std::unique_ptr<MetricsCollector> metrics_;
  std::unique_ptr<JsonGateway> gateway_;  // outlives http_, which calls it
  std::unique_ptr<HttpServer> http_;
  int port_ = 0;
  int kurrent_port_ = 0;
  absl::Mutex shutdown_mu_;
};

StrataServer::StrataServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StrataServer::~StrataServer() = default;

absl::StatusOr<std::unique_ptr<StrataServer>> StrataServer::Start(ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  STRATA_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<StrataServer>(new StrataServer(std::move(impl)));
}

int StrataServer::port() const { return impl_->port(); }
int StrataServer::kurrent_port() const { return impl_->kurrent_port(); }
int StrataServer::http_port() const { return impl_->http_port(); }
EventLog& StrataServer::log() { return impl_->log(); }
ProjectionRuntime& StrataServer::runtime() { return impl_->runtime(); }
void StrataServer::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace strata::server
