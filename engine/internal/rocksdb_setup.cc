#include "engine/internal/rocksdb_setup.h"

#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/env.h"

namespace strata::internal {
namespace {

// Forwards RocksDB's warnings and errors to stderr; drops the chatter.
class StderrLogger : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof(buf), format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", buf);
  }
};

}  // namespace

rocksdb::DBOptions StrataDbOptions(bool create_if_missing) {
  rocksdb::DBOptions o;
  o.create_if_missing = create_if_missing;
  o.create_missing_column_families = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.paranoid_checks = true;
  o.info_log = std::make_shared<StderrLogger>();
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

}  // namespace strata::internal
