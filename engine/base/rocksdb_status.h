// The one place where rocksdb::Status becomes absl::Status. Thread-safe.
#ifndef STRATA_ENGINE_BASE_ROCKSDB_STATUS_H_
#define STRATA_ENGINE_BASE_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace strata::internal {

// Maps RocksDB's status to the closest canonical code, prefixing `context`:
// corruption -> DataLoss, no space -> ResourceExhausted, busy/timeout ->
// Unavailable, not found -> NotFound, other I/O errors -> Internal.
inline absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(message);
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsAborted()) return absl::AbortedError(message);
  return absl::InternalError(message);
}

}  // namespace strata::internal

#endif  // STRATA_ENGINE_BASE_ROCKSDB_STATUS_H_
