// ReadAhead (read_ahead.h): the reader thread copies each event of its
// ScanAll into the current chunk and queues full chunks; Next takes them.
#include "projections/runtime/read_ahead.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/base/thread_name.h"

namespace strata::projections_internal {
namespace {

constexpr size_t kBlockBytes = 256 << 10;

}  // namespace

absl::string_view ReadAhead::Chunk::Copy(absl::string_view s) {
  if (s.empty()) return absl::string_view();
  if (block_size - block_used < s.size()) {
    block_size = std::max(kBlockBytes, s.size());
    blocks.push_back(std::make_unique<char[]>(block_size));
    block_used = 0;
  }
  char* at = blocks.back().get() + block_used;
  std::memcpy(at, s.data(), s.size());
  block_used += s.size();
  bytes += s.size();
  return absl::string_view(at, s.size());
}

ReadAhead::ReadAhead(const EventLog* log, GlobalPosition from, GlobalPosition to) : log_(log) {
  reader_ = std::thread([this, from, to] {
    SetThreadName("read-ahead");
    Read(from, to);
  });
}

ReadAhead::~ReadAhead() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  reader_.join();
}

void ReadAhead::Read(GlobalPosition from, GlobalPosition to) {
  auto chunk = std::make_unique<Chunk>();
  bool stopped = false;
  ReadAllOptions read;
  read.from_position = from;
  read.max_count = to - from + 1;
  absl::Status status = log_->ScanAll(read, [&](const EventView& e) {
    EventView copy = e;
    copy.stream = chunk->Copy(e.stream);
    copy.type = chunk->Copy(e.type);
    copy.content_type = chunk->Copy(e.content_type);
    copy.data = chunk->Copy(e.data);
    copy.metadata = chunk->Copy(e.metadata);
    chunk->events.push_back(copy);
    if (chunk->events.size() < kChunkEvents && chunk->bytes < kChunkBytes) return true;
    if (!Push(std::move(chunk))) {
      stopped = true;
      return false;
    }
    chunk = std::make_unique<Chunk>();
    return true;
  });
  if (stopped) return;
  // The events before an error are folded, as with a direct scan.
  if (!chunk->events.empty() && !Push(std::move(chunk))) return;
  absl::MutexLock lock(&mu_);
  reader_done_ = true;
  reader_status_ = std::move(status);
}

bool ReadAhead::Push(std::unique_ptr<Chunk> chunk) {
  absl::MutexLock lock(&mu_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || ready_.size() < kChunksAhead;
  };
  mu_.Await(absl::Condition(&room));
  if (stopping_) return false;
  ready_.push_back(std::move(chunk));
  return true;
}

absl::StatusOr<absl::Span<const EventView>> ReadAhead::Next() {
  current_.reset();  // before waiting: the reader may reuse the memory
  absl::MutexLock lock(&mu_);
  auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !ready_.empty() || reader_done_;
  };
  mu_.Await(absl::Condition(&available));
  if (ready_.empty()) {
    if (!reader_status_.ok()) return reader_status_;
    return absl::Span<const EventView>();
  }
  current_ = std::move(ready_.front());
  ready_.pop_front();
  return absl::Span<const EventView>(current_->events);
}

}  // namespace strata::projections_internal
