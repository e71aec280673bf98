// The RocksDB setup of rocksdb_setup.h: StrataDbOptions (with a rocksdb::Logger
// that forwards warnings and errors to Strata's Logger), the data directory
// checks, secondary instances and checkpoints.
#include "engine/base/rocksdb_setup.h"

#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/rocksdb_status.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/checkpoint.h"

namespace strata::internal {
namespace {

// Forwards RocksDB's warnings and errors to Strata's logger (component
// "rocksdb"); drops the chatter.
class ForwardingLogger : public rocksdb::Logger {
 public:
  explicit ForwardingLogger(std::shared_ptr<strata::Logger> logger)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), logger_(std::move(logger)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, ap);
    // RocksDB's checkpoint nests its own disabling of file deletions and
    // warns about that nesting on every backup (seen with Debian's 7.8):
    // not the operator's concern.
    if (level < rocksdb::InfoLogLevel::ERROR_LEVEL &&
        (std::strstr(buf, "File Deletions Disabled, but already disabled") != nullptr ||
         std::strstr(buf, "File Deletions Enable, but not really enabled") != nullptr)) {
      return;
    }
    logger_->Log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? LogLevel::kError
                                                              : LogLevel::kWarning,
                 "rocksdb", buf);
  }

 private:
  const std::shared_ptr<strata::Logger> logger_;
};

}  // namespace

rocksdb::DBOptions StrataDbOptions(bool create_if_missing, std::shared_ptr<Logger> logger) {
  rocksdb::DBOptions o;
  o.create_if_missing = create_if_missing;
  o.create_missing_column_families = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.paranoid_checks = true;
  o.info_log = std::make_shared<ForwardingLogger>(OrDefault(std::move(logger)));
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.keep_log_file_num = 2;
  return o;
}

absl::Status CheckNotHeadless(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return absl::OkStatus();
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "MANIFEST-") || absl::EndsWith(name, ".sst") ||
        absl::EndsWith(name, ".log") || name == "IDENTITY") {
      return absl::DataLossError(absl::StrCat(
          "store '", dir, "' has RocksDB files (", name,
          ") but no CURRENT file: refusing to open it as an empty store; restore CURRENT "
          "from a backup or move the directory aside"));
    }
  }
  return absl::OkStatus();
}

absl::Status CreateDirIfAllowed(const std::string& dir, bool create) {
  if (!create) return absl::OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("create data directory '", dir, "': ", ec.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SecondaryDir>> SecondaryDir::Make() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                  "/strata-read-only.XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("make a temporary directory ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<SecondaryDir>(new SecondaryDir(std::move(path)));
}

SecondaryDir::~SecondaryDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

absl::Status OpenSecondary(rocksdb::DBOptions options, const std::string& dir,
                           const SecondaryDir& secondary,
                           const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs,
                           std::vector<rocksdb::ColumnFamilyHandle*>* handles,
                           std::unique_ptr<rocksdb::DB>* db) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat("no store in '", dir, "' (no CURRENT file)"));
  }
  options.create_if_missing = false;
  options.create_missing_column_families = false;
  options.max_open_files = -1;  // secondary mode keeps every table file open
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(options, dir, secondary.path(), cfs, handles,
                                                   &raw);
  if (!s.ok()) return FromRocksDb(s, absl::StrCat("open '", dir, "' read-only"));
  db->reset(raw);
  return absl::OkStatus();
}

absl::Status WriteCheckpoint(rocksdb::DB* db, const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: always flush, so the copy holds table files.
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  return FromRocksDb(s, absl::StrCat("checkpoint to '", dir, "'"));
}

}  // namespace strata::internal
