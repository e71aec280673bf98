// A fault-injecting RocksDB environment for storage-fault and power-loss tests.
//
// FaultFileSystem wraps RocksDB's default FileSystem (rocksdb::FileSystemWrapper)
// and wraps every writable file it opens. FaultEnv bundles it with an Env made by
// rocksdb::NewCompositeEnv, which is what EventLogOptions::env takes. Modes, each
// switched at any time and combinable:
//
//  (a) lossy: files opened while lossy keep appended-but-unsynced bytes in
//      process memory and write them to the real file only on Sync, Fsync or
//      Close (RangeSync and Flush keep them in memory: neither makes data
//      durable). A kill -9 of the process then loses exactly what a power cut
//      would lose: every byte not yet synced. (Not simulated: the loss of a
//      file or rename whose directory was not fsynced; RocksDB fsyncs its
//      directory after creating files, so a kill leaves the same directory
//      entries a power cut would.)
//  (b) no space: once armed with a budget of N bytes, appends to any file
//      succeed until N bytes in total were appended after arming; an append
//      that does not fit entirely fails with IOStatus::NoSpace and writes
//      nothing.
//  (c) WAL sync error: once armed, Sync and Fsync of WAL files (*.log) return
//      an IO error (after writing any lossy buffer to the file, as the OS would
//      have accepted the bytes before the failed fsync).
//
// Lifetime: a FaultEnv must outlive every DB using it (RocksDB keeps the Env
// pointer and touches it while closing). Thread-safety: all methods may be
// called concurrently with RocksDB's use of the files.
#ifndef STRATA_TESTS_RELIABILITY_FAULT_ENV_H_
#define STRATA_TESTS_RELIABILITY_FAULT_ENV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace strata::testing {

class FaultFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFileSystem(
      std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());

  static const char* kClassName() { return "StrataFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // (a) Lossy mode for files opened from now on (files already open keep the
  // mode they were opened with).
  void SetLossy(bool lossy) { lossy_.store(lossy); }
  bool lossy() const { return lossy_.load(); }

  // (b) Appends fail with NoSpace once `bytes` more bytes have been appended
  // (to all files together) after this call.
  void FailAppendsAfter(uint64_t bytes);
  // Removes the budget: appends succeed again.
  void ClearNoSpace() { no_space_armed_.store(false); }

  // (c) Sync/Fsync of *.log files fail with an IO error while armed.
  void ArmWalSyncError() { wal_sync_error_.store(true); }
  void DisarmWalSyncError() { wal_sync_error_.store(false); }

  // Counters, for reports and for asserting a fault was really hit.
  uint64_t bytes_appended() const { return bytes_appended_.load(); }
  uint64_t no_space_errors() const { return no_space_errors_.load(); }
  uint64_t wal_sync_errors() const { return wal_sync_errors_.load(); }
  uint64_t syncs() const { return syncs_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;

 private:
  friend class FaultWritableFile;

  // Reserves `n` bytes of the no-space budget; false when they do not fit.
  bool ReserveAppend(uint64_t n);
  // Whether a sync of `fname` must fail now (counts the failure).
  bool SyncMustFail(const std::string& fname);
  void CountSync() { syncs_.fetch_add(1); }
  void Wrap(const std::string& fname, std::unique_ptr<rocksdb::FSWritableFile>* result);

  std::atomic<bool> lossy_{false};
  std::atomic<bool> no_space_armed_{false};
  std::atomic<uint64_t> no_space_remaining_{0};
  std::atomic<bool> wal_sync_error_{false};
  std::atomic<uint64_t> bytes_appended_{0};
  std::atomic<uint64_t> no_space_errors_{0};
  std::atomic<uint64_t> wal_sync_errors_{0};
  std::atomic<uint64_t> syncs_{0};
};

// A FaultFileSystem and the Env to hand to EventLogOptions::env (or
// rocksdb::DBOptions::env). Declare it before, so it is destroyed after, the
// log that uses it.
class FaultEnv {
 public:
  FaultEnv();
  FaultEnv(const FaultEnv&) = delete;
  FaultEnv& operator=(const FaultEnv&) = delete;

  rocksdb::Env* env() const { return env_.get(); }
  FaultFileSystem& fs() const { return *fs_; }

 private:
  std::shared_ptr<FaultFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace strata::testing

#endif  // STRATA_TESTS_RELIABILITY_FAULT_ENV_H_
