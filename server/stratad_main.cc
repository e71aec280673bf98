#include <csignal>
#include <cstdio>
#include <pthread.h>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "server/stratad_main.h"
#include "server/strata_server.h"
#include "engine/base/cli_flags.h"

ABSL_FLAG(std::string, data_dir, "./data", "Data directory (created when missing).");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "Address to serve gRPC on (host:port).");
ABSL_FLAG(uint64_t, snapshot_interval, 10'000,
          "Projection snapshot interval K in events: a time-travel read replays at most K "
          "events on top of the nearest snapshot.");
ABSL_FLAG(bool, unsafe_no_sync, false,
          "UNSAFE: acknowledge appends without fsync. A power loss can lose acknowledged "
          "appends. For benchmarks and throw-away data only.");

namespace strata::server {
namespace {

// Protobuf's own log lines, minus one: a request with invalid UTF-8 in a
// string field is answered INVALID_ARGUMENT naming the field
// (server/rpc_service.h), so protobuf's line about it would only let any
// client write to the server's log at will.
void ProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                 const std::string& message) {
  if (absl::StrContains(message, "invalid UTF-8 data when parsing")) return;
  static constexpr const char* kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  const int index = static_cast<int>(level);
  std::fprintf(stderr, "strata: protobuf %s %s:%d: %s\n",
               index >= 0 && index < 4 ? kLevels[index] : "?", filename, line, message.c_str());
}

}  // namespace

int StratadMain(int argc, char** argv, rocksdb::Env* env) {
  strata::ParseFlags(argc, argv,
                     "stratad: the Strata event store server (gRPC package strata.v1).\n"
                     "Usage: stratad [--data_dir DIR] [--listen HOST:PORT]\n"
                     "SIGINT or SIGTERM stops it cleanly: it stops accepting calls, finishes "
                     "in-flight appends, flushes and exits 0.");
  google::protobuf::SetLogHandler(&ProtobufLog);
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  strata::server::ServerOptions options;
  options.log.env = env;
  options.projections.env = env;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.projections.snapshot_interval_events = absl::GetFlag(FLAGS_snapshot_interval);
  if (absl::GetFlag(FLAGS_unsafe_no_sync)) {
    options.log.durability = strata::Durability::kUnsafeNoSync;
    std::fprintf(stderr, "strata: WARNING: --unsafe_no_sync: appends are acknowledged without "
                         "fsync; a power loss can lose acknowledged appends\n");
  }
  auto server = strata::server::StrataServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "stratad: %s\n", server.status().ToString().c_str());
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "strata: %s received: shutting down\n", strsignal(signal));
  const absl::Time stop_start = absl::Now();
  // In-flight appends finish within milliseconds (one group commit); the
  // grace period mostly bounds how long idle client connections may linger.
  (*server)->Shutdown(absl::Seconds(2));
  server->reset();
  std::fprintf(stderr, "strata: shutdown took %s\n",
               absl::FormatDuration(absl::Now() - stop_start).c_str());
  std::fprintf(stderr, "strata: stopped cleanly\n");
  return 0;
}

}  // namespace strata::server
