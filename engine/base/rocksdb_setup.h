// RocksDB settings shared by every Strata store (the log and the projection
// store), following ../shared/RELIABILITY.md. Thread-safe.
#ifndef STRATA_ENGINE_BASE_ROCKSDB_SETUP_H_
#define STRATA_ENGINE_BASE_ROCKSDB_SETUP_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/logger.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace strata::internal {

// DB options every store uses: WAL recovery that refuses a store with a
// damaged WAL middle but accepts a torn tail (kTolerateCorruptedTailRecords);
// RocksDB's info log sent to `logger` (warnings and worse; null: the default
// TextLogger) instead of a file in the data directory, so a full disk fails
// writes cleanly instead of aborting inside the log writer.
rocksdb::DBOptions StrataDbOptions(bool create_if_missing, std::shared_ptr<Logger> logger);

// Refuses to open `dir` when it holds RocksDB files but no CURRENT file:
// RocksDB would otherwise create a fresh, silently empty store over them.
absl::Status CheckNotHeadless(const std::string& dir);

// Creates `dir` (and its parents) when missing and `create` is true.
absl::Status CreateDirIfAllowed(const std::string& dir, bool create);

// A fresh empty directory for a RocksDB secondary instance's own files (its
// info log and OPTIONS copies), under $TMPDIR or /tmp; removed when this is
// destroyed. A secondary instance reads the primary's directory and never
// writes to it, even while a server has the store open.
class SecondaryDir {
 public:
  static absl::StatusOr<std::unique_ptr<SecondaryDir>> Make();
  ~SecondaryDir();
  const std::string& path() const { return path_; }

 private:
  explicit SecondaryDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Opens `dir` read-only as a RocksDB secondary instance with its files in
// `secondary`, caught up with the primary's WAL. Requires a store (CURRENT):
// NotFound otherwise. `options` are adjusted as secondary mode requires.
absl::Status OpenSecondary(rocksdb::DBOptions options, const std::string& dir,
                           const SecondaryDir& secondary,
                           const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs,
                           std::vector<rocksdb::ColumnFamilyHandle*>* handles,
                           std::unique_ptr<rocksdb::DB>* db);

// Writes a RocksDB checkpoint of `db` (a consistent copy of the store at one
// moment, its table files hard-linked when on the same filesystem) to `dir`,
// which must not exist. Flushes the memtables first, so the copy needs no WAL
// replay beyond what was written during the flush.
absl::Status WriteCheckpoint(rocksdb::DB* db, const std::string& dir);

}  // namespace strata::internal

#endif  // STRATA_ENGINE_BASE_ROCKSDB_SETUP_H_
