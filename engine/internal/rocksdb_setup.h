// RocksDB settings shared by every Strata store (the log and the projection
// store), following ../shared/RELIABILITY.md. Thread-safe.
#ifndef STRATA_ENGINE_INTERNAL_ROCKSDB_SETUP_H_
#define STRATA_ENGINE_INTERNAL_ROCKSDB_SETUP_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "rocksdb/options.h"

namespace strata::internal {

// DB options every store uses: WAL recovery that refuses a store with a
// damaged WAL middle but accepts a torn tail (kTolerateCorruptedTailRecords);
// RocksDB's info log sent to stderr (warnings and worse) instead of a file in
// the data directory, so a full disk fails writes cleanly instead of aborting
// inside the log writer.
rocksdb::DBOptions StrataDbOptions(bool create_if_missing);

// Refuses to open `dir` when it holds RocksDB files but no CURRENT file:
// RocksDB would otherwise create a fresh, silently empty store over them.
absl::Status CheckNotHeadless(const std::string& dir);

// Creates `dir` (and its parents) when missing and `create` is true.
absl::Status CreateDirIfAllowed(const std::string& dir, bool create);

}  // namespace strata::internal

#endif  // STRATA_ENGINE_INTERNAL_ROCKSDB_SETUP_H_
