// StratadMain (stratad_main.h): stratad's flags, its logger (with protobuf's
// and gRPC's log lines sent to it), the StrataServer it runs, and the clean
// shutdown on SIGINT or SIGTERM.
#include "server/stratad_main.h"

#include <pthread.h>

#include <csignal>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/cli_flags.h"
#include "engine/base/logger.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"
#include "server/strata_server.h"

ABSL_FLAG(std::string, data_dir, "./data", "Data directory (created when missing).");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "Address to serve gRPC on (host:port).");
ABSL_FLAG(std::string, kurrent_listen, "127.0.0.1:2113",
          "Address to serve the KurrentDB (EventStoreDB) client protocol on, for the "
          "official KurrentDB clients (kurrentdb://HOST:PORT?tls=false, or tls=true with "
          "--tls_cert); empty disables it.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:2114",
          "Address to serve HTTP on: /metrics in the Prometheus text format; empty disables it.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) for TLS on every listener (gRPC, KurrentDB, HTTP); with "
          "--tls_key.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate: clients must present a certificate it signed (mutual TLS).");
ABSL_FLAG(std::string, tokens_file, "",
          "Access tokens, one a line: 'sha256:<hex> NAME ROLE' (role read, write or admin); "
          "`strata tokens new NAME ROLE` makes one. Without it every caller is allowed, so the "
          "server listens on loopback only.");
ABSL_FLAG(bool, insecure, false,
          "Allow listening on a non-loopback address without TLS or without --tokens_file.");
ABSL_FLAG(uint64_t, snapshot_interval, 10'000,
          "Projection snapshot interval K in events: a time-travel read replays at most K "
          "events on top of the nearest snapshot.");
ABSL_FLAG(std::string, log_format, "text",
          "Log lines on stderr: 'text' (strata: ...) or 'json' (one JSON object a line: ts, "
          "level, component, msg).");
ABSL_FLAG(bool, unsafe_no_sync, false,
          "UNSAFE: acknowledge appends without fsync. A power loss can lose acknowledged "
          "appends. For benchmarks and throw-away data only.");

namespace strata::server {
namespace {

// The process's logger, for protobuf's log handler (a plain function).
std::shared_ptr<Logger>& ProcessLogger() {
  static auto* logger = new std::shared_ptr<Logger>(TextLogger());
  return *logger;
}

// Protobuf's own log lines, minus one: a request with invalid UTF-8 in a
// string field is answered INVALID_ARGUMENT naming the field
// (server/rpc_service.h), so protobuf's line about it would only let any
// client write to the server's log at will.
void ProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                 const std::string& message) {
  if (absl::StrContains(message, "invalid UTF-8 data when parsing")) return;
  const LogLevel ours = level == google::protobuf::LOGLEVEL_INFO      ? LogLevel::kInfo
                        : level == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarning
                                                                      : LogLevel::kError;
  ProcessLogger()->Log(ours, "protobuf", absl::StrCat(filename, ":", line, ": ", message));
}

// gRPC's own log lines (by default "E1204 04:41:33.123 ..." on stderr) in
// the server's format, so every line of stratad's has one shape.
void GrpcLog(gpr_log_func_args* args) {
  const LogLevel ours = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
                        : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                                  : LogLevel::kWarning;
  ProcessLogger()->Log(ours, "grpc",
                       absl::StrCat(args->file, ":", args->line, ": ",
                                    args->message == nullptr ? "" : args->message));
}

}  // namespace

int StratadMain(int argc, char** argv, rocksdb::Env* env) {
  strata::ParseFlags(argc, argv,
                     "stratad: the Strata event store server (gRPC package strata.v1).\n"
                     "Usage: stratad [--data_dir DIR] [--listen HOST:PORT] [--kurrent_listen "
                     "HOST:PORT] [--http_listen HOST:PORT] [--tls_cert F --tls_key F "
                     "[--tls_client_ca F]] [--tokens_file F]\n"
                     "SIGINT or SIGTERM stops it cleanly: it stops accepting calls, finishes "
                     "in-flight appends, flushes and exits 0.");
  const std::string log_format = absl::GetFlag(FLAGS_log_format);
  if (log_format != "text" && log_format != "json") {
    std::fprintf(stderr, "stratad: --log_format: '%s' is neither text nor json\n",
                 log_format.c_str());
    return 2;
  }
  std::shared_ptr<Logger> logger = log_format == "json" ? JsonLogger() : TextLogger();
  ProcessLogger() = logger;
  google::protobuf::SetLogHandler(&ProtobufLog);
  gpr_set_log_function(&GrpcLog);
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  strata::server::ServerOptions options;
  options.logger = logger;
  options.log.env = env;
  options.projections.env = env;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.kurrent_listen = absl::GetFlag(FLAGS_kurrent_listen);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.security.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.security.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.security.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.security.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  options.security.insecure = absl::GetFlag(FLAGS_insecure);
  options.projections.snapshot_interval_events = absl::GetFlag(FLAGS_snapshot_interval);
  if (absl::GetFlag(FLAGS_unsafe_no_sync)) {
    options.log.durability = strata::Durability::kUnsafeNoSync;
    logger->Log(LogLevel::kWarning, "server",
                "--unsafe_no_sync: appends are acknowledged without fsync; a power loss can lose "
                "acknowledged appends");
  }
  auto server = strata::server::StrataServer::Start(options);
  if (!server.ok()) {
    logger->Log(LogLevel::kError, "server", server.status().ToString());
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  logger->Log(LogLevel::kInfo, "server",
              absl::StrCat(strsignal(signal), " received: shutting down"));
  const absl::Time stop_start = absl::Now();
  // In-flight appends finish within milliseconds (one group commit); the
  // grace period mostly bounds how long idle client connections may linger.
  (*server)->Shutdown(absl::Seconds(2));
  server->reset();
  logger->Log(LogLevel::kInfo, "server",
              absl::StrCat("shutdown took ", absl::FormatDuration(absl::Now() - stop_start)));
  logger->Log(LogLevel::kInfo, "server", "stopped cleanly");
  return 0;
}

}  // namespace strata::server
