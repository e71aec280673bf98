// ReadAhead: a long forward scan of the log on its own thread, a few chunks
// ahead of the one consuming it. A worker replaying a read model spends about
// a third of its time reading and decoding the log; with the reading on
// another core, the fold runs without waiting for it.
//
// Memory is bounded: at most kChunksAhead chunks of about kChunkBytes (or
// kChunkEvents events) each are read and not yet consumed.
//
// Thread-safety: one consumer thread calls Next; the destructor stops the
// reader (which may be blocked on a full queue) and joins it.
#ifndef STRATA_PROJECTIONS_RUNTIME_READ_AHEAD_H_
#define STRATA_PROJECTIONS_RUNTIME_READ_AHEAD_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "engine/event.h"
#include "engine/event_log.h"

namespace strata::projections_internal {

class ReadAhead {
 public:
  static constexpr size_t kChunkEvents = 4096;
  static constexpr size_t kChunkBytes = 1 << 20;
  static constexpr size_t kChunksAhead = 2;

  // Starts reading the positions [from, to] of `log`, which must outlive this.
  ReadAhead(const EventLog* log, GlobalPosition from, GlobalPosition to);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next events in position order, at least one; empty once every
  // position up to `to` was returned; the log's error (DataLoss for a gap or
  // a damaged record) after the events before it. The views stay valid until
  // the next call.
  absl::StatusOr<absl::Span<const EventView>> Next();

 private:
  // Events whose fields point into `blocks`, which never move.
  struct Chunk {
    std::vector<EventView> events;
    std::vector<std::unique_ptr<char[]>> blocks;
    size_t block_used = 0;
    size_t block_size = 0;
    size_t bytes = 0;
    absl::string_view Copy(absl::string_view s);
  };

  void Read(GlobalPosition from, GlobalPosition to);
  // Hands `chunk` to the consumer, waiting while kChunksAhead are queued;
  // false once the consumer is gone.
  bool Push(std::unique_ptr<Chunk> chunk);

  absl::Mutex mu_;
  std::deque<std::unique_ptr<Chunk>> ready_ ABSL_GUARDED_BY(mu_);
  bool reader_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status reader_status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<Chunk> current_;  // the consumer's, valid until the next Next
  const EventLog* log_;
  std::thread reader_;
};

}  // namespace strata::projections_internal

#endif  // STRATA_PROJECTIONS_RUNTIME_READ_AHEAD_H_
