// Options for opening an EventLog.
#ifndef STRATA_ENGINE_OPTIONS_H_
#define STRATA_ENGINE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "engine/base/logger.h"
#include "engine/limits.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace strata {

enum class Durability {
  // Every acknowledged append has been fsynced (group commit shares one sync
  // among all appends waiting at that moment). The default.
  kSync,
  // UNSAFE: appends are acknowledged after the write reaches the OS, without
  // fsync. A power loss or kernel crash can lose acknowledged appends (a
  // process crash cannot). Only for benchmarks and throw-away data.
  kUnsafeNoSync,
};

struct EventLogOptions {
  // Create the data directory and the store when missing. Default: true.
  bool create_if_missing = true;
  // Open an existing store for reading only (RocksDB's secondary mode): no
  // writer thread, nothing written to the data directory, and it works while
  // a server has the store open (the view is the log as of opening). Appends
  // fail with FailedPrecondition. Default: false.
  bool read_only = false;
  // Default: Durability::kSync.
  Durability durability = Durability::kSync;
  // Default: see engine/limits.h.
  Limits limits;
  // Most append requests waiting for the writer; beyond it Append fails with
  // UNAVAILABLE instead of queueing without bound. Default: 65,536.
  size_t append_queue_max = 65'536;
  // Most events committed in one group (one synced write). Default: 50,000.
  size_t group_events_max = 50'000;
  // Most stream heads cached in memory (the cache is refilled from disk on a
  // miss). Default: 1,000,000.
  size_t stream_head_cache_max = 1'000'000;
  // Block cache shared by the log's column families, bytes. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // Clock for recorded_at, microseconds since the Unix epoch. Default: the
  // system clock.
  std::function<int64_t()> clock_us;
  // Where the log reports what an operator should see (and RocksDB's
  // warnings). Default (null): TextLogger(), lines on stderr.
  std::shared_ptr<Logger> logger;
  // RocksDB environment (file system, clock) for fault-injection tests; must
  // outlive the log. Default: null, RocksDB's default environment.
  rocksdb::Env* env = nullptr;
};

}  // namespace strata

#endif  // STRATA_ENGINE_OPTIONS_H_
