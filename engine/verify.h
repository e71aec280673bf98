// Offline access to a closed event log store (engine/FORMAT.md) for operator
// tools: a read-only scan and a full integrity check.
//
// ReadOnlyLog opens the store's RocksDB read-only and holds the store's LOCK
// file while open, so a server cannot start on it meanwhile (and a running
// server makes Open fail with Unavailable). It never writes to the store.
//
// Thread-safety: a ReadOnlyLog may be used from any thread; methods are const.
#ifndef STRATA_ENGINE_VERIFY_H_
#define STRATA_ENGINE_VERIFY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/event_log.h"

namespace strata {

struct LogVerifyOptions {
  // Most findings listed; the rest are only counted. Default: 1,000.
  size_t findings_max = 1000;
};

struct LogVerifyReport {
  GlobalPosition head = 0;      // the last key of `events` (0: empty)
  uint64_t events = 0;          // records in `events`
  uint64_t streams = 0;         // distinct streams in the `streams` index
  uint64_t stream_entries = 0;  // entries of the `streams` index
  uint64_t event_ids = 0;       // entries of the `event_ids` index
  uint64_t index_entries = 0;   // entries of the index streams ($ce-, $et-)
  // One line per problem, naming what is wrong and where, in the order found:
  // RocksDB checksums, then `events`, `streams`, `event_ids`, `indexes`.
  std::vector<std::string> findings;
  uint64_t findings_omitted = 0;  // beyond findings_max
  bool ok() const { return findings.empty() && findings_omitted == 0; }
};

class ReadOnlyLog {
 public:
  // Opens the store in `log_dir` read-only. NotFound when there is no store;
  // Unavailable when another process (a running server) holds it; DataLoss
  // when RocksDB cannot open it (with RocksDB's message).
  static absl::StatusOr<std::unique_ptr<ReadOnlyLog>> Open(const std::string& log_dir);
  ~ReadOnlyLog();

  ReadOnlyLog(const ReadOnlyLog&) = delete;
  ReadOnlyLog& operator=(const ReadOnlyLog&) = delete;

  // The last position stored (0 when empty, or when it cannot be read: see
  // HeadStatus).
  GlobalPosition Head() const;
  // Why the head could not be read (a damaged table file), or OK.
  const absl::Status& HeadStatus() const;

  // Calls `visit` for positions from..to (inclusive, clamped to the head) in
  // order until it returns false. DataLoss naming the position for a gap or a
  // damaged record.
  absl::Status Scan(GlobalPosition from, GlobalPosition to, const EventVisitor& visit) const;

  // Checks the whole store: RocksDB's checksums of every file; positions
  // dense from 1; every record decodes and its CRC and position match; every
  // event has its `streams` and `event_ids` entries pointing back at it; every
  // index entry points at an event with that stream and version (or id);
  // stream versions dense from 0; each index stream ($ce-, $et-) holds
  // exactly the entries its events imply (compared by digest, the differing
  // index named; a log not yet indexed is not checked there). Problems are findings, not errors; an
  // error is returned only when the check itself cannot run. One sequential pass over each column
  // family compares order-independent digests of the index entries the events imply with those the
  // indexes hold; only an index whose digest differs is joined with the events by point lookups, to
  // name each difference.
  LogVerifyReport Verify(const LogVerifyOptions& options = {}) const;

  class Impl;

 private:
  explicit ReadOnlyLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens `log_dir` read-only and verifies it (see ReadOnlyLog::Verify). Errors
// as ReadOnlyLog::Open, except that a store RocksDB refuses to open as damaged
// is reported as a finding.
absl::StatusOr<LogVerifyReport> VerifyLogStore(const std::string& log_dir,
                                               const LogVerifyOptions& options = {});

}  // namespace strata

#endif  // STRATA_ENGINE_VERIFY_H_
