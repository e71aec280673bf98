#include "tests/reliability/fault_env.h"

#include <mutex>
#include <string>
#include <utility>

namespace strata::testing {

// A writable file that can hold unsynced bytes in memory (lossy), fail
// appends beyond the no-space budget, and fail WAL syncs. Owns the real file.
class FaultWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::string fname, bool lossy,
                    std::unique_ptr<rocksdb::FSWritableFile> target)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        fname_(std::move(fname)),
        lossy_(lossy) {}

  // A file destroyed without Close (only on an orderly shutdown path that
  // skipped it) behaves as closed: its bytes reach the OS. A killed process
  // runs no destructor, so its unsynced bytes are lost.
  ~FaultWritableFile() override {
    std::lock_guard<std::mutex> lock(mu_);
    WritePendingLocked(rocksdb::IOOptions()).PermitUncheckedError();
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (!fs_->ReserveAppend(data.size())) return NoSpace();
    if (lossy_) {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.append(data.data(), data.size());
      return rocksdb::IOStatus::OK();
    }
    return target()->Append(data, options, dbg);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& verification_info,
                           rocksdb::IODebugContext* dbg) override {
    if (lossy_) return Append(data, options, dbg);
    if (!fs_->ReserveAppend(data.size())) return NoSpace();
    return target()->Append(data, options, verification_info, dbg);
  }

  // Positioned appends (direct I/O only) write through: pending bytes first.
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (!fs_->ReserveAppend(data.size())) return NoSpace();
    std::lock_guard<std::mutex> lock(mu_);
    rocksdb::IOStatus s = WritePendingLocked(options);
    if (!s.ok()) return s;
    return target()->PositionedAppend(data, offset, options, dbg);
  }

  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& /*verification_info*/,
                                     rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }

  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    rocksdb::IOStatus s = WritePendingLocked(options);
    if (!s.ok()) return s;
    return target()->Truncate(size, options, dbg);
  }

  rocksdb::IOStatus Close(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      s = WritePendingLocked(options);
    }
    rocksdb::IOStatus c = target()->Close(options, dbg);
    return s.ok() ? c : s;
  }

  // Flush hands bytes to the OS; in lossy mode they stay in memory, which is
  // what a power cut makes of bytes in the page cache.
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (lossy_) return rocksdb::IOStatus::OK();
    return target()->Flush(options, dbg);
  }

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return SyncImpl(options, dbg, /*fsync=*/false);
  }

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return SyncImpl(options, dbg, /*fsync=*/true);
  }

  // sync_file_range does not make data durable; in lossy mode it is a no-op.
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (lossy_) return rocksdb::IOStatus::OK();
    return target()->RangeSync(offset, nbytes, options, dbg);
  }

  uint64_t GetFileSize(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    return target()->GetFileSize(options, dbg) + pending_.size();
  }

  // Every method takes mu_ around the pending buffer.
  bool IsSyncThreadSafe() const override { return target()->IsSyncThreadSafe(); }

 private:
  rocksdb::IOStatus NoSpace() const {
    return rocksdb::IOStatus::NoSpace("injected by FaultFileSystem: no space left", fname_);
  }

  rocksdb::IOStatus SyncImpl(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg,
                             bool fsync) {
    fs_->CountSync();
    {
      std::lock_guard<std::mutex> lock(mu_);
      rocksdb::IOStatus s = WritePendingLocked(options);
      if (!s.ok()) return s;
    }
    if (fs_->SyncMustFail(fname_)) {
      return rocksdb::IOStatus::IOError("injected by FaultFileSystem: WAL sync failed", fname_);
    }
    return fsync ? target()->Fsync(options, dbg) : target()->Sync(options, dbg);
  }

  // Writes the in-memory bytes to the real file (not synced by itself).
  rocksdb::IOStatus WritePendingLocked(const rocksdb::IOOptions& options) {
    if (pending_.empty()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->Append(pending_, options, nullptr);
    if (s.ok()) {
      pending_.clear();
    }
    return s;
  }

  FaultFileSystem* const fs_;
  const std::string fname_;
  const bool lossy_;
  std::mutex mu_;
  std::string pending_;  // appended, not yet handed to the real file
};

FaultFileSystem::FaultFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
    : rocksdb::FileSystemWrapper(base) {}

void FaultFileSystem::FailAppendsAfter(uint64_t bytes) {
  no_space_remaining_.store(bytes);
  no_space_armed_.store(true);
}

bool FaultFileSystem::ReserveAppend(uint64_t n) {
  if (no_space_armed_.load()) {
    uint64_t remaining = no_space_remaining_.load();
    do {
      if (n > remaining) {
        no_space_errors_.fetch_add(1);
        return false;
      }
    } while (!no_space_remaining_.compare_exchange_weak(remaining, remaining - n));
  }
  bytes_appended_.fetch_add(n);
  return true;
}

bool FaultFileSystem::SyncMustFail(const std::string& fname) {
  if (!wal_sync_error_.load()) return false;
  constexpr char kSuffix[] = ".log";
  constexpr size_t kSuffixLen = sizeof(kSuffix) - 1;
  if (fname.size() < kSuffixLen ||
      fname.compare(fname.size() - kSuffixLen, kSuffixLen, kSuffix) != 0) {
    return false;
  }
  wal_sync_errors_.fetch_add(1);
  return true;
}

void FaultFileSystem::Wrap(const std::string& fname,
                           std::unique_ptr<rocksdb::FSWritableFile>* result) {
  *result = std::make_unique<FaultWritableFile>(this, fname, lossy_.load(), std::move(*result));
}

rocksdb::IOStatus FaultFileSystem::NewWritableFile(const std::string& fname,
                                                   const rocksdb::FileOptions& opts,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, result, dbg);
  if (s.ok()) Wrap(fname, result);
  return s;
}

rocksdb::IOStatus FaultFileSystem::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->ReopenWritableFile(fname, opts, result, dbg);
  if (s.ok()) Wrap(fname, result);
  return s;
}

rocksdb::IOStatus FaultFileSystem::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->ReuseWritableFile(fname, old_fname, opts, result, dbg);
  if (s.ok()) Wrap(fname, result);
  return s;
}

FaultEnv::FaultEnv()
    : fs_(std::make_shared<FaultFileSystem>()), env_(rocksdb::NewCompositeEnv(fs_)) {}

}  // namespace strata::testing
