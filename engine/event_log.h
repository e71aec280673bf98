// EventLog: Strata's write model, an append-only log of events grouped into
// streams, stored in RocksDB.
//
// Every event gets a global position (dense from 1, in commit order) and a
// version in its stream (dense from 0). Appends are atomic per call, checked
// against an expected stream version, idempotent by event id, and durable:
// acknowledged only after their write batch is synced. Concurrent appends are
// committed together by one writer thread (group commit) in one synced write.
//
// Thread-safety: every method may be called from any thread concurrently.
#ifndef STRATA_ENGINE_EVENT_LOG_H_
#define STRATA_ENGINE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/event.h"
#include "engine/log_stats.h"
#include "engine/options.h"
#include "engine/stream_metadata.h"

namespace strata {

class LogCursor;
class Follower;
struct CursorOptions;

// What an append expects of its stream before the append.
class ExpectedVersion {
 public:
  enum class Kind { kAny, kNoStream, kStreamExists, kExact };

  static ExpectedVersion Any() { return ExpectedVersion(Kind::kAny, 0); }
  static ExpectedVersion NoStream() { return ExpectedVersion(Kind::kNoStream, 0); }
  static ExpectedVersion StreamExists() { return ExpectedVersion(Kind::kStreamExists, 0); }
  // The stream's last version is exactly `version`.
  static ExpectedVersion Exact(StreamVersion version) {
    return ExpectedVersion(Kind::kExact, version);
  }

  Kind kind() const { return kind_; }
  StreamVersion version() const { return version_; }
  // Whether a stream whose last version is `current` (nullopt: no stream)
  // meets this expectation.
  bool HoldsFor(std::optional<StreamVersion> current) const;
  std::string ToString() const;  // "any", "no_stream", "stream_exists" or "7"

 private:
  ExpectedVersion(Kind kind, StreamVersion version) : kind_(kind), version_(version) {}
  Kind kind_;
  StreamVersion version_;
};

// The Aborted status of a failed expected-version check, carrying the
// version the check found (nullopt: no stream) for CurrentVersionOf.
absl::Status WrongExpectedVersionError(std::string message,
                                       std::optional<StreamVersion> current);
// The version a failed expected-version check found: outer nullopt when
// `status` is not such a failure; inner nullopt when the stream did not exist.
std::optional<std::optional<StreamVersion>> CurrentVersionOf(const absl::Status& status);

struct AppendResult {
  GlobalPosition first_position = 0;
  GlobalPosition last_position = 0;
  StreamVersion last_version = 0;  // the stream's version after the append
  // True when every event was already stored by an earlier identical append,
  // whose result this is; nothing was written.
  bool deduplicated = false;

  friend bool operator==(const AppendResult&, const AppendResult&) = default;
};

enum class ReadDirection { kForward, kBackward };

// Sentinel: read backward from the stream's last version / the log's head.
inline constexpr uint64_t kReadFromEnd = UINT64_MAX;

struct ReadStreamOptions {
  // First version to return. For backward reads, kReadFromEnd is the last.
  StreamVersion from_version = 0;
  ReadDirection direction = ReadDirection::kForward;
  uint64_t max_count = UINT64_MAX;
  // When set, see only events at positions <= as_of_position.
  std::optional<GlobalPosition> as_of_position;
  // False: every stored version, as if the stream had no metadata and was
  // never deleted (for tools that copy or check the log itself).
  bool apply_metadata = true;
};

struct ReadFilter {
  std::string stream_prefix;             // empty: every stream
  std::vector<std::string> event_types;  // empty: every type
  bool Matches(absl::string_view stream, absl::string_view type) const;
  bool IsEmpty() const { return stream_prefix.empty() && event_types.empty(); }
};

struct ReadAllOptions {
  // First position to return (inclusive). For backward reads, kReadFromEnd is
  // the head.
  GlobalPosition from_position = 1;
  ReadDirection direction = ReadDirection::kForward;
  uint64_t max_count = UINT64_MAX;  // counts matching events
  std::optional<GlobalPosition> as_of_position;
  ReadFilter filter;
};

// One stream of a listing (EventLog::ListStreams).
struct StreamSummary {
  std::string stream;
  StreamVersion last_version = 0;
  GlobalPosition last_position = 0;  // of its last event
};

// What a stream is as of a position, for readers (EventLog::GetStreamInfo).
struct StreamInfo {
  // The stream's last version, truncated or not (the one expected versions
  // are checked against); nullopt when nothing was ever appended.
  std::optional<StreamVersion> last_version;
  // The $metadata in force (engine/stream_metadata.h), and its JSON text.
  std::optional<StreamMetadata> metadata;
  std::string metadata_json;
  // Set when the stream is tombstoned: the position of its $streamDeleted.
  std::optional<GlobalPosition> tombstoned_at;
  // Soft-deleted: it has versions, all below the $tb in force.
  bool soft_deleted = false;
  // The first version $tb and $maxCount let stream reads see (0 when none
  // applies; $maxAge is by time and not counted here).
  StreamVersion first_visible_version() const;
  // Whether a stream read finds anything: not deleted and not empty.
  bool readable() const { return last_version.has_value() && !soft_deleted && !tombstoned_at; }
};

// Called once per event of a scan; return false to stop early.
using EventVisitor = std::function<bool(const EventView&)>;
// Completion of an asynchronous append. Runs on the writer thread: keep it short.
using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

class EventLog {
 public:
  // Opens (creating when allowed) the store in `data_dir`. Recovers the head
  // and next position from disk in O(1): no replay. Errors: InvalidArgument for
  // bad options, DataLoss or Internal when the store cannot be opened safely
  // (a damaged WAL, a missing file), with RocksDB's message.
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(const std::string& data_dir,
                                                        EventLogOptions options = {});

  // Waits for queued appends to finish, stops the writer and closes the store.
  ~EventLog();

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends `events` to `stream` atomically, after checking `expected`.
  // Blocks until the write is synced. Rejections (nothing is written):
  //  - InvalidArgument naming the field: a bad stream name, type, duplicate
  //    event id within the call, no events; to a metastream ("$$<stream>"),
  //    anything but valid $metadata events (engine/stream_metadata.h);
  //  - FailedPrecondition: the stream (or the one a metastream describes) is
  //    tombstoned;
  //  - ResourceExhausted naming the field: an event or call over the limits;
  //  - Aborted: the expected version does not hold (a failed test-and-set), e.g.
  //    "append stream 'link-42': expected version 4, stream is at 6";
  //  - AlreadyExists: an event id already stored with other content, in
  //    another stream, or only some of the call's ids already stored;
  //  - Unavailable: the append queue is full, the log is closing, or an
  //    earlier write failed (the log refuses appends until reopened).
  // Unknown: the write itself failed (an I/O error, a full disk): the events
  // may or may not be stored, as after a timeout. Reopen the log and retry
  // with the same event ids: the retry returns the stored result if they were.
  // Repeating an append whose events are all stored already (same ids, same
  // stream, same content, consecutive) returns the original result with
  // deduplicated = true.
  [[nodiscard]] absl::StatusOr<AppendResult> Append(absl::string_view stream,
                                                    ExpectedVersion expected,
                                                    std::vector<NewEvent> events);

  // The same, completing through `done` on the writer thread (or on the
  // calling thread when the request is rejected before queueing).
  void AppendAsync(absl::string_view stream, ExpectedVersion expected,
                   std::vector<NewEvent> events, AppendCallback done);
  // AppendAsync for restoring an exported log (strata import): a metastream
  // also takes its $streamDeleted tombstone, as DeleteStream wrote it.
  void ImportAsync(absl::string_view stream, ExpectedVersion expected,
                   std::vector<NewEvent> events, AppendCallback done);

  // Deletes `stream` (engine/stream_metadata.h) after checking `expected`
  // against its last version: writes a $metadata event with $tb past the last
  // version (kSoft) or a $streamDeleted event (kTombstone) to "$$<stream>".
  // The result is that event's position (first_position == last_position)
  // and version in the metastream. Blocks until synced. Errors as Append,
  // and FailedPrecondition when the stream is tombstoned already.
  [[nodiscard]] absl::StatusOr<AppendResult> DeleteStream(absl::string_view stream,
                                                          ExpectedVersion expected,
                                                          DeleteMode mode);
  // The same, completing through `done` as AppendAsync does.
  void DeleteStreamAsync(absl::string_view stream, ExpectedVersion expected, DeleteMode mode,
                         AppendCallback done);

  // Events of one stream, as its metadata lets readers see them ($tb,
  // $maxCount, $maxAge). A stream that has no events (as of the position,
  // when given) reads as empty; a soft-deleted one answers NotFound and a
  // tombstoned one FailedPrecondition. OutOfRange when as_of_position is
  // beyond the head. DataLoss when a stored record is damaged.
  absl::StatusOr<std::vector<RecordedEvent>> ReadStream(absl::string_view stream,
                                                        const ReadStreamOptions& options) const;

  // Events of the whole log, filtered. Errors as ReadStream.
  absl::StatusOr<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& options) const;

  // The zero-copy form of ReadAll: calls `visit` for each matching event in
  // order until it returns false or max_count events were visited.
  absl::Status ScanAll(const ReadAllOptions& options, const EventVisitor& visit) const;

  // A paged read of the whole log or one stream (log_cursor.h). OutOfRange
  // when as_of_position is beyond the head.
  absl::StatusOr<LogCursor> NewCursor(CursorOptions options) const;

  // The events after `after_position` as the head moves (log_cursor.h),
  // without polling. OutOfRange when after_position is beyond the head.
  absl::StatusOr<std::unique_ptr<Follower>> Follow(GlobalPosition after_position,
                                                   ReadFilter filter = {}) const;

  // The event at `position`: NotFound past the head, DataLoss when damaged.
  absl::StatusOr<RecordedEvent> ReadEvent(GlobalPosition position) const;

  // The stream's last version, metadata and deletion as of `as_of_position`
  // (default: the head). OutOfRange beyond the head.
  absl::StatusOr<StreamInfo> GetStreamInfo(absl::string_view stream,
                                           std::optional<GlobalPosition> as_of_position = {}) const;

  // The stream's last version, or nullopt for a stream with no events.
  absl::StatusOr<std::optional<StreamVersion>> StreamLastVersion(absl::string_view stream) const;
  // Whether the stream has any event: one point lookup of its first version
  // (versions are dense from 0), which a Bloom filter answers for most
  // streams that have none; cheaper than StreamLastVersion's seek. The log is
  // append-only, so once true, true for good.
  absl::StatusOr<bool> StreamExists(absl::string_view stream) const;

  // The streams with events whose names start with `prefix`, in byte order
  // of their names, from the first after `after` (empty: from the first), at
  // most `limit`; metastreams ("$$name") and deleted streams included (a
  // listing shows what the log holds; GetStreamInfo tells deletion). Two
  // seeks a stream.
  absl::StatusOr<std::vector<StreamSummary>> ListStreams(absl::string_view prefix,
                                                         absl::string_view after,
                                                         size_t limit) const;

  // Last committed (durable, readable) position; 0 when the log is empty.
  GlobalPosition Head() const;

  // Blocks until Head() >= position (OK), the deadline passes
  // (DeadlineExceeded) or the log closes (Cancelled).
  absl::Status WaitForHead(GlobalPosition position, absl::Time deadline) const;

  // Registers `listener`, called on the writer thread with the new head after
  // each commit. Returns an id for RemoveHeadListener. Keep listeners short.
  uint64_t AddHeadListener(std::function<void(GlobalPosition)> listener);
  void RemoveHeadListener(uint64_t id);

  // The write path's figures (engine/log_stats.h), readable without a lock.
  const LogStats& stats() const;
  // RocksDB's figures for the store: table and memtable sizes, block cache,
  // write stalls. Cheap (property reads, no I/O).
  absl::StatusOr<StorageStats> GetStorageStats() const;

  // Runs RocksDB's full checksum verification of every stored file.
  absl::Status VerifyChecksums() const;

  // Writes a consistent copy of the log as it is now (a RocksDB checkpoint)
  // to `dir`, which must not exist; appends go on meanwhile. The copy opens
  // as a log whose head is at least the head before the call.
  absl::Status Checkpoint(const std::string& dir) const;

  const std::string& data_dir() const;

  class Impl;

 private:
  explicit EventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata

#endif  // STRATA_ENGINE_EVENT_LOG_H_
