// AdminService::Backup (admin_service.h): checks the target directory
// (absolute, new, outside the data directory), checkpoints the projection
// store and then the log into it, and reopens the log's copy for its head.
#include "server/admin_service.h"

#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/grpc_status.h"
#include "projections/data_dir.h"

namespace strata::server {
namespace {

namespace fs = std::filesystem;

grpc::Status Invalid(grpc::StatusCode code, const std::string& message) {
  return grpc::Status(code, absl::StrCat("dir: ", message));
}

// The bytes of the regular files under `dir`.
uint64_t SizeOf(const fs::path& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) bytes += e.file_size(ec);
  }
  return bytes;
}

// The log position the copy in `log_dir` holds, opening it read-only: this
// also proves the copy opens.
absl::StatusOr<GlobalPosition> HeadOf(const std::string& log_dir) {
  EventLogOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  options.logger = NullLogger();
  absl::StatusOr<std::unique_ptr<EventLog>> copy = EventLog::Open(log_dir, options);
  if (!copy.ok()) return copy.status();
  return (*copy)->Head();
}

}  // namespace

AdminService::AdminService(EventLog* log, ProjectionRuntime* runtime, std::string data_dir,
                           std::shared_ptr<Logger> logger, BlockingExecutor* executor)
    : RpcService("Admin"),
      log_(log),
      runtime_(runtime),
      data_dir_(std::move(data_dir)),
      logger_(OrDefault(std::move(logger))) {
  AddBlockingUnary("Backup", Role::kAdmin, executor, &AdminService::Backup);
}

// FAILED_PRECONDITION when either path cannot be resolved, INVALID_ARGUMENT
// when `dir` (links resolved) is the data directory or inside it.
grpc::Status AdminService::CheckOutside(const fs::path& dir) const {
  std::error_code ec;
  const fs::path live = fs::weakly_canonical(fs::absolute(data_dir_), ec);
  if (ec) {
    return Invalid(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("cannot resolve the data directory '", data_dir_, "': ", ec.message()));
  }
  const fs::path target = fs::weakly_canonical(dir, ec);
  if (ec) {
    return Invalid(grpc::StatusCode::FAILED_PRECONDITION,
                   absl::StrCat("cannot resolve '", dir.string(), "': ", ec.message()));
  }
  if (absl::StartsWith(target.string() + "/", live.string() + "/")) {
    return Invalid(grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("'", dir.string(), "' is inside the server's data directory '",
                                data_dir_, "'"));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::Backup(grpc::CallbackServerContext* /*context*/,
                                  const strata::v1::BackupRequest* request,
                                  strata::v1::BackupResponse* response) {
  const absl::Time start = absl::Now();
  if (request->dir().empty()) {
    return Invalid(grpc::StatusCode::INVALID_ARGUMENT,
                   "required: a new directory's absolute path on the server's machine");
  }
  fs::path dir(request->dir());
  if (!dir.is_absolute()) {
    return Invalid(grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("'", request->dir(),
                                "' is not an absolute path (the backup is written on the "
                                "server's machine)"));
  }
  dir = dir.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/backups/b1/" -> "/backups/b1"
  if (grpc::Status inside = CheckOutside(dir); !inside.ok()) return inside;
  std::error_code ec;
  if (!fs::is_directory(dir.parent_path(), ec)) {
    return Invalid(grpc::StatusCode::FAILED_PRECONDITION,
                   absl::StrCat("the parent directory '", dir.parent_path().string(),
                                "' does not exist on the server's machine"));
  }
  // Creating it is the check that nothing is there (two backups to one
  // directory: the second is refused).
  if (!fs::create_directory(dir, ec)) {
    if (ec) {
      return Invalid(grpc::StatusCode::FAILED_PRECONDITION,
                     absl::StrCat("cannot create '", dir.string(), "': ", ec.message()));
    }
    return Invalid(
        grpc::StatusCode::ALREADY_EXISTS,
        absl::StrCat("'", dir.string(), "' already exists; a backup goes to a new directory"));
  }
  // Again now that it exists: a parent swapped for a link meanwhile.
  if (grpc::Status inside = CheckOutside(dir); !inside.ok()) {
    fs::remove(dir, ec);
    return inside;
  }
  // The projection store first: every event its states applied is then in
  // the log's copy, taken after.
  absl::Status s = runtime_->Checkpoint(ProjectionsDir(dir.string()));
  if (s.ok()) s = log_->Checkpoint(LogDir(dir.string()));
  absl::StatusOr<GlobalPosition> head = s.ok() ? HeadOf(LogDir(dir.string())) : s;
  if (!head.ok()) {
    fs::remove_all(dir, ec);  // no partial backup is left behind
    logger_->Log(LogLevel::kError, "server",
                 absl::StrCat("backup to '", dir.string(), "' failed: ", head.status().ToString()));
    return api::ToGrpc(head.status());
  }
  response->set_dir(dir.string());
  response->set_log_position(*head);
  response->set_bytes(SizeOf(dir));
  response->set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  logger_->Log(
      LogLevel::kInfo, "server",
      absl::StrCat("backup written to '", dir.string(), "': the log up to position ", *head, ", ",
                   response->bytes(), " bytes, in ", absl::FormatDuration(absl::Now() - start)));
  return grpc::Status::OK;
}

}  // namespace strata::server
