// Storage faults under the event log, each its own test (after a self-test
// of the fault-injecting Env, FaultEnvModesBehaveAsSpecified):
//  - DiskFullFailsCleanly: a FaultEnv (fault_env.h) returns NoSpace after N
//    bytes; the failing append gets UNKNOWN (it may be stored), later ones
//    UNAVAILABLE until reopened; the process goes on, the log
//    refuses appends until reopened, and a reopened log holds every
//    acknowledged event and nothing of a failed append.
//  - DiskFullOnRealTmpfs: the same on a real 4 MiB tmpfs (root only; skipped
//    otherwise), unmounted at the end whatever happens.
//  - WalSyncErrorIsNeverAcknowledged: a failed WAL fsync is never an OK reply,
//    the log refuses further appends without a reopen, and the reopened log is
//    consistent: the failed append is there whole or not at all, and a retry
//    with the same ids resolves which. (With RocksDB 7.8.3 it is there: the
//    batch reached the WAL before the sync failed. EventLog::Append's comment
//    says nothing is written on any error; for write errors the outcome is
//    in fact unknown.)
//  - FlippedByteInWalMiddleRefusesToStart / TornWalTailStartsWithEvery-
//    AcknowledgedEvent: damage to the WAL of a closed store (all events still
//    in the WAL: small data, never flushed).
//  - FlippedSstBytesNeverGiveWrongData / MissingSstFileIsAClearError: damage to
//    the SST files of a closed store (written by RocksDB's recovery flush on
//    reopen, so with the engine's own table options).
// A missing CURRENT file is covered by DamagedStoreTest.MissingCurrentFileRefusesToOpen
// in tests/engine/damaged_store_test.cc (DATA_LOSS, "no CURRENT file"), so it
// is not repeated here.
//
// Every test prints what RocksDB and the engine reported, so a run documents
// the behaviour as well as checking it.

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/options.h"
#include "gtest/gtest.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/table_properties.h"
#include "tests/engine/crash_payload.h"
#include "tests/reliability/fault_env.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

namespace fs = std::filesystem;
using ::strata::testing::FaultEnv;
using ::strata::testing::TempDir;

constexpr char kEventType[] = "FaultTestEvent";

// The data of event `id`: `bytes` bytes derived from the id, so any stored
// event can be checked whole.
std::string DataFor(const EventId& id, size_t bytes) {
  const std::string seed = crashtest::PayloadFor(id);
  std::string data;
  data.reserve(bytes);
  while (data.size() < bytes) data.append(seed, 0, std::min(seed.size(), bytes - data.size()));
  return data;
}

// One acknowledged event.
struct Acked {
  GlobalPosition position = 0;
  std::string stream;
  StreamVersion version = 0;
  EventId id;
  std::string data;
};

// Appends and remembers: what was acknowledged, and the content of every
// event ever attempted (acknowledged or not), by id.
class Writer {
 public:
  // Appends `count` events of `bytes` bytes each to `stream`. On OK records
  // them as acknowledged. *ids (optional) receives the attempted ids.
  absl::Status Append(EventLog& log, const std::string& stream, int count, size_t bytes,
                      std::vector<EventId>* ids = nullptr) {
    std::vector<NewEvent> events(count);
    std::vector<EventId> attempted;
    for (NewEvent& e : events) {
      const EventId id = EventId::Random();
      e.event_id = id;
      e.type = kEventType;
      e.data = DataFor(id, bytes);
      attempted_[id] = Attempt{stream, e.data};
      attempted.push_back(id);
    }
    if (ids != nullptr) *ids = attempted;
    absl::StatusOr<AppendResult> r = log.Append(stream, ExpectedVersion::Any(), std::move(events));
    if (!r.ok()) return r.status();
    if (r->last_position - r->first_position + 1 != static_cast<uint64_t>(count)) {
      return absl::InternalError("append result spans the wrong number of positions");
    }
    for (int i = 0; i < count; ++i) {
      const EventId& id = attempted[i];
      acked_.push_back(Acked{r->first_position + i, stream, r->last_version + 1 - count + i, id,
                             attempted_[id].data});
    }
    return absl::OkStatus();
  }

  // Repeats an earlier attempt exactly: the same ids, stream and content.
  absl::StatusOr<AppendResult> Retry(EventLog& log, const std::vector<EventId>& ids) {
    std::vector<NewEvent> events;
    std::string stream;
    for (const EventId& id : ids) {
      const Attempt& attempt = attempted_.at(id);
      stream = attempt.stream;
      NewEvent e;
      e.event_id = id;
      e.type = kEventType;
      e.data = attempt.data;
      events.push_back(std::move(e));
    }
    return log.Append(stream, ExpectedVersion::Any(), std::move(events));
  }

  const std::vector<Acked>& acked() const { return acked_; }
  // Forgets the last acknowledged append of `count` events (for a test that
  // destroys it on purpose).
  std::vector<Acked> AckedWithoutLast(int count) const {
    return std::vector<Acked>(acked_.begin(), acked_.end() - count);
  }

  struct Attempt {
    std::string stream;
    std::string data;
  };
  const absl::flat_hash_map<EventId, Attempt>& attempted() const { return attempted_; }

 private:
  std::vector<Acked> acked_;
  absl::flat_hash_map<EventId, Attempt> attempted_;
};

// Checks the whole log: positions dense 1..Head(), each stream's versions
// dense from 0 (also through ReadStream), each id once, every stored event an
// attempted one with exactly its content, and every event of `acked` at its
// position. Returns the position of every stored id in *stored (optional).
void CheckStore(const EventLog& log, const std::vector<Acked>& acked, const Writer& writer,
                absl::flat_hash_map<EventId, GlobalPosition>* stored = nullptr) {
  const GlobalPosition head = log.Head();
  absl::StatusOr<std::vector<RecordedEvent>> all = log.ReadAll(ReadAllOptions{});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), head);
  std::map<std::string, StreamVersion> next_version;
  absl::flat_hash_map<EventId, GlobalPosition> position_of;
  for (size_t i = 0; i < all->size(); ++i) {
    const RecordedEvent& e = (*all)[i];
    ASSERT_EQ(e.position, i + 1);
    ASSERT_EQ(e.stream_version, next_version[e.stream]++) << "stream " << e.stream;
    const auto [it, inserted] = position_of.emplace(e.event_id, e.position);
    ASSERT_TRUE(inserted) << "event id " << e.event_id.ToString() << " at positions " << it->second
                          << " and " << e.position;
    auto attempt = writer.attempted().find(e.event_id);
    ASSERT_NE(attempt, writer.attempted().end())
        << "position " << e.position << " holds an event never appended";
    ASSERT_EQ(e.stream, attempt->second.stream) << "position " << e.position;
    ASSERT_EQ(e.type, kEventType) << "position " << e.position;
    ASSERT_EQ(e.data, attempt->second.data) << "position " << e.position;
  }
  for (const auto& [stream, next] : next_version) {
    absl::StatusOr<std::vector<RecordedEvent>> events = log.ReadStream(stream, ReadStreamOptions{});
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), next) << stream;
    for (size_t v = 0; v < events->size(); ++v) {
      ASSERT_EQ((*events)[v], (*all)[(*events)[v].position - 1]) << stream;
    }
  }
  for (const Acked& a : acked) {
    ASSERT_LE(a.position, head) << "acknowledged event " << a.id.ToString() << " at position "
                                << a.position << " lost; the head is " << head;
    const RecordedEvent& e = (*all)[a.position - 1];
    ASSERT_EQ(e.event_id, a.id) << "position " << a.position;
    ASSERT_EQ(e.stream, a.stream) << "position " << a.position;
    ASSERT_EQ(e.stream_version, a.version) << "position " << a.position;
    ASSERT_EQ(e.data, a.data) << "position " << a.position;
  }
  if (stored != nullptr) *stored = std::move(position_of);
}

std::string StreamName(int i) { return absl::StrCat("s-", i % 4); }

EventLogOptions WithEnv(rocksdb::Env* env) {
  EventLogOptions options;
  options.env = env;
  return options;
}

std::vector<fs::path> FilesEndingWith(const std::string& dir, absl::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && absl::EndsWith(entry.path().filename().string(), suffix)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The largest *.log file of `dir` (the WAL holding the appends).
fs::path LargestWal(const std::string& dir) {
  fs::path best;
  uintmax_t best_size = 0;
  for (const fs::path& p : FilesEndingWith(dir, ".log")) {
    if (fs::file_size(p) >= best_size) {
      best = p;
      best_size = fs::file_size(p);
    }
  }
  return best;
}

// Each of `ids` (events of `what`, e.g. "a refused append") is not stored.
void ExpectAbsent(const absl::flat_hash_map<EventId, GlobalPosition>& stored,
                  const std::vector<EventId>& ids, const char* what) {
  for (const EventId& id : ids) {
    auto it = stored.find(id);
    EXPECT_TRUE(it == stored.end()) << "event " << id.ToString() << " of " << what
                                    << " is stored at position " << it->second;
  }
}

// After a failed write: three more appends are each refused with
// UNAVAILABLE and change nothing; their ids go to *refused_ids.
void ExpectRefusedUntilReopened(EventLog& log, Writer* writer, const char* label,
                                std::vector<EventId>* refused_ids) {
  for (int i = 0; i < 3; ++i) {
    std::vector<EventId> ids;
    const absl::Status again = writer->Append(log, StreamName(i), 1, 100, &ids);
    EXPECT_FALSE(again.ok()) << label << ": an append after a failed write was accepted";
    EXPECT_EQ(again.code(), absl::StatusCode::kUnavailable) << again;
    if (i == 0) std::printf("%s: next append: %s\n", label, again.ToString().c_str());
    refused_ids->insert(refused_ids->end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(log.Head(), writer->acked().size());
}

void FlipByte(const fs::path& file, uint64_t offset, uint8_t mask) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open()) << file;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  ASSERT_TRUE(f.get(c)) << file << " offset " << offset;
  c = static_cast<char>(static_cast<uint8_t>(c) ^ mask);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(c);
  f.flush();
  ASSERT_TRUE(f.good()) << file << " offset " << offset;
}

void CopyStore(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::copy(from, to, fs::copy_options::recursive, ec);
  ASSERT_FALSE(ec) << "copy " << from << " to " << to << ": " << ec.message();
}

// Creates a store in `dir` as a crash leaves it, with every event in the WAL
// (small data, nothing flushed): `appends` single-event appends of `bytes`
// bytes, then the files copied while the log is still open (a clean close
// would flush the memtables into SST files).
void BuildWalOnlyStore(const std::string& dir, int appends, size_t bytes, Writer* writer) {
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < appends; ++i) {
    const absl::Status s = writer->Append(**log, StreamName(i), 1, bytes);
    ASSERT_TRUE(s.ok()) << s;
  }
  const std::string image = dir + ".crash-image";
  ASSERT_NO_FATAL_FAILURE(CopyStore(dir, image));
  log->reset();
  ASSERT_NO_FATAL_FAILURE(CopyStore(image, dir));
  fs::remove_all(image);
  ASSERT_TRUE(FilesEndingWith(dir, ".sst").empty()) << "the store flushed; the WAL tests need "
                                                       "every event in the WAL";
}

// An SST file of the store and the column family it belongs to.
struct SstFile {
  fs::path path;
  std::string column_family;
  uint64_t data_size = 0;  // bytes of data blocks, which come first in the file
};

// Reopens the closed store once, so RocksDB's recovery flushes the WAL into
// SST files written with the engine's own table options, and lists them.
void FlushToSsts(const std::string& dir, std::vector<SstFile>* files) {
  {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
  }
  for (const fs::path& p : FilesEndingWith(dir, ".sst")) {
    rocksdb::Options options;
    rocksdb::SstFileReader reader(options);
    rocksdb::Status s = reader.Open(p.string());
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::shared_ptr<const rocksdb::TableProperties> props = reader.GetTableProperties();
    files->push_back(SstFile{p, props->column_family_name, props->data_size});
  }
}

// Creates a closed store in `dir` with `appends` single-event appends of
// `bytes` bytes, all in SST files. *events_sst: the events column family's
// SST; *all_ssts: every SST.
void BuildSstStore(const std::string& dir, int appends, size_t bytes, Writer* writer,
                   SstFile* events_sst, std::vector<SstFile>* all_ssts) {
  ASSERT_NO_FATAL_FAILURE(BuildWalOnlyStore(dir, appends, bytes, writer));
  ASSERT_NO_FATAL_FAILURE(FlushToSsts(dir, all_ssts));
  int events_files = 0;
  for (const SstFile& f : *all_ssts) {
    if (f.column_family == "events") {
      *events_sst = f;
      ++events_files;
    }
  }
  ASSERT_EQ(events_files, 1) << "expected one SST for the events column family";
}

// ---------------------------------------------------------------------------

// The Env itself, on plain files: what the tests below rely on.
TEST(StorageFaultsTest, FaultEnvModesBehaveAsSpecified) {
  TempDir tmp;
  FaultEnv fault;
  rocksdb::FileSystem& fs = fault.fs();
  const rocksdb::IOOptions io;
  auto open = [&](const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = fs.NewWritableFile(tmp.Sub(name), rocksdb::FileOptions(), &file, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return file;
  };

  // (a) Lossy: appended bytes reach the real file only on Sync and Close.
  fault.fs().SetLossy(true);
  std::unique_ptr<rocksdb::FSWritableFile> lossy = open("lossy.log");
  ASSERT_TRUE(lossy->Append("0123456789", io, nullptr).ok());
  ASSERT_TRUE(lossy->Flush(io, nullptr).ok());
  ASSERT_TRUE(lossy->RangeSync(0, 10, io, nullptr).ok());
  EXPECT_EQ(fs::file_size(tmp.Sub("lossy.log")), 0u) << "unsynced bytes reached the file";
  EXPECT_EQ(lossy->GetFileSize(io, nullptr), 10u);
  ASSERT_TRUE(lossy->Sync(io, nullptr).ok());
  EXPECT_EQ(fs::file_size(tmp.Sub("lossy.log")), 10u);
  ASSERT_TRUE(lossy->Append("abc", io, nullptr).ok());
  EXPECT_EQ(fs::file_size(tmp.Sub("lossy.log")), 10u);
  ASSERT_TRUE(lossy->Close(io, nullptr).ok());
  EXPECT_EQ(fs::file_size(tmp.Sub("lossy.log")), 13u);
  fault.fs().SetLossy(false);

  // (b) No space: the budget counts every file; an append that does not fit
  // fails whole with NoSpace and writes nothing.
  std::unique_ptr<rocksdb::FSWritableFile> a = open("a.sst");
  std::unique_ptr<rocksdb::FSWritableFile> b = open("b.log");
  fault.fs().FailAppendsAfter(8);
  EXPECT_TRUE(a->Append("12345", io, nullptr).ok());
  rocksdb::IOStatus full = b->Append("6789", io, nullptr);
  EXPECT_TRUE(full.IsNoSpace()) << full.ToString();
  EXPECT_TRUE(b->Append("678", io, nullptr).ok());
  EXPECT_TRUE(a->Append("x", io, nullptr).IsNoSpace());
  EXPECT_EQ(fault.fs().no_space_errors(), 2u);
  fault.fs().ClearNoSpace();
  EXPECT_TRUE(a->Append("x", io, nullptr).ok());
  ASSERT_TRUE(a->Close(io, nullptr).ok());
  EXPECT_EQ(fs::file_size(tmp.Sub("a.sst")), 6u);

  // (c) WAL sync errors: only *.log files, only while armed.
  fault.fs().ArmWalSyncError();
  EXPECT_TRUE(b->Sync(io, nullptr).IsIOError());
  EXPECT_TRUE(b->Fsync(io, nullptr).IsIOError());
  std::unique_ptr<rocksdb::FSWritableFile> manifest = open("MANIFEST-000001");
  EXPECT_TRUE(manifest->Sync(io, nullptr).ok());
  fault.fs().DisarmWalSyncError();
  EXPECT_TRUE(b->Sync(io, nullptr).ok());
  EXPECT_EQ(fault.fs().wal_sync_errors(), 2u);
  ASSERT_TRUE(b->Close(io, nullptr).ok());
  ASSERT_TRUE(manifest->Close(io, nullptr).ok());
}

TEST(StorageFaultsTest, DiskFullFailsCleanly) {
  constexpr uint64_t kBudget = 256 << 10;  // bytes appended after arming
  constexpr size_t kEventBytes = 2000;
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  FaultEnv fault;  // outlives the log
  Writer writer;
  absl::Status failure;
  std::vector<EventId> failed_ids;
  std::vector<EventId> refused_ids;
  {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir, WithEnv(fault.env()));
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 10; ++i) STRATA_ASSERT_OK(writer.Append(**log, StreamName(i), 1, 100));

    fault.fs().FailAppendsAfter(kBudget);
    for (int i = 0; i < 10'000 && failure.ok(); ++i) {
      failure = writer.Append(**log, StreamName(i), 1 + i % 3, kEventBytes, &failed_ids);
    }
    ASSERT_FALSE(failure.ok()) << "no append failed after the " << kBudget << "-byte budget";
    std::printf("DiskFull (injected): %zu events acknowledged, then: %s\n", writer.acked().size(),
                failure.ToString().c_str());
    EXPECT_EQ(failure.code(), absl::StatusCode::kUnknown) << failure;
    EXPECT_GE(fault.fs().no_space_errors(), 1u);
    EXPECT_EQ((**log).Head(), writer.acked().size());

    // Space comes back, yet the log keeps refusing appends until reopened.
    fault.fs().ClearNoSpace();
    ExpectRefusedUntilReopened(**log, &writer, "DiskFull (injected)", &refused_ids);
    // The open log still serves every acknowledged event.
    ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer));
  }

  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::flat_hash_map<EventId, GlobalPosition> stored;
  ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer, &stored));
  ExpectAbsent(stored, failed_ids, "the failed append");
  ExpectAbsent(stored, refused_ids, "a refused append");
  EXPECT_EQ((**log).Head(), writer.acked().size());
  // Reopened, the store takes appends again.
  STRATA_EXPECT_OK(writer.Append(**log, "after-reopen", 1, 100));
  std::printf("DiskFull (injected): after reopen head %llu, %zu failed-append events absent\n",
              static_cast<unsigned long long>((**log).Head()),
              failed_ids.size() + refused_ids.size());
}

// Unmounts a mount point on destruction, whatever the test did.
class Unmounter {
 public:
  explicit Unmounter(std::string dir) : dir_(std::move(dir)) {}
  ~Unmounter() {
    if (::umount2(dir_.c_str(), 0) != 0) {
      std::fprintf(stderr, "umount %s: %s; detaching\n", dir_.c_str(), std::strerror(errno));
      if (::umount2(dir_.c_str(), MNT_DETACH) != 0) {
        ADD_FAILURE() << "could not unmount " << dir_ << ": " << std::strerror(errno);
      }
    }
  }
  Unmounter(const Unmounter&) = delete;
  Unmounter& operator=(const Unmounter&) = delete;

 private:
  std::string dir_;
};

TEST(StorageFaultsTest, DiskFullOnRealTmpfs) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root (euid " << ::geteuid() << ")";
  TempDir tmp;  // destroyed last, after the unmount
  const std::string mnt = tmp.Sub("tmpfs");
  fs::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "mount -t tmpfs -o size=4m tmpfs " << mnt
                 << " failed: " << std::strerror(errno);
  }
  Unmounter unmount(mnt);
  const std::string dir = mnt + "/db";
  Writer writer;
  absl::Status failure;
  std::vector<EventId> failed_ids;
  {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 100'000 && failure.ok(); ++i) {
      failure = writer.Append(**log, StreamName(i), 4, 4096, &failed_ids);
    }
    ASSERT_FALSE(failure.ok()) << "a 4 MiB tmpfs never filled up";
    std::printf("DiskFull (tmpfs): %zu events acknowledged (%zu KiB of data), then: %s\n",
                writer.acked().size(), writer.acked().size() * 4, failure.ToString().c_str());
    EXPECT_EQ(failure.code(), absl::StatusCode::kUnknown) << failure;
    EXPECT_TRUE(absl::StrContains(failure.message(), "No space left on device")) << failure;
    const absl::Status again = writer.Append(**log, "after-failure", 1, 10);
    EXPECT_FALSE(again.ok());
    std::printf("DiskFull (tmpfs): next append: %s\n", again.ToString().c_str());
    EXPECT_EQ((**log).Head(), writer.acked().size());
  }
  {
    // A restart on the still-full disk fails cleanly or opens; it never aborts.
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
    std::printf("DiskFull (tmpfs): reopen on the full tmpfs: %s\n",
                log.ok() ? "OK" : log.status().ToString().c_str());
    if (log.ok()) {
      ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer));
    }
  }
  // Free space (as an operator would), then everything acknowledged is there.
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0)
      << "remount: " << std::strerror(errno);
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::flat_hash_map<EventId, GlobalPosition> stored;
  ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer, &stored));
  ExpectAbsent(stored, failed_ids, "the failed append");
  EXPECT_EQ((**log).Head(), writer.acked().size());
  STRATA_EXPECT_OK(writer.Append(**log, "after-remount", 1, 100));
}

TEST(StorageFaultsTest, WalSyncErrorIsNeverAcknowledged) {
  constexpr int kFailedEvents = 3;
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  FaultEnv fault;  // outlives the log
  Writer writer;
  std::vector<EventId> failed_ids;
  std::vector<EventId> refused_ids;
  {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir, WithEnv(fault.env()));
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 20; ++i) STRATA_ASSERT_OK(writer.Append(**log, StreamName(i), 1, 200));

    fault.fs().ArmWalSyncError();
    const absl::Status failed = writer.Append(**log, "sync-fails", kFailedEvents, 200, &failed_ids);
    ASSERT_FALSE(failed.ok()) << "an append whose WAL sync failed was acknowledged";
    EXPECT_EQ(failed.code(), absl::StatusCode::kUnknown) << failed;  // may be stored
    std::printf("WalSyncError: the append: %s\n", failed.ToString().c_str());
    EXPECT_GE(fault.fs().wal_sync_errors(), 1u);
    EXPECT_EQ((**log).Head(), writer.acked().size());

    // The disk recovers; the log still refuses appends until reopened.
    fault.fs().DisarmWalSyncError();
    ExpectRefusedUntilReopened(**log, &writer, "WalSyncError", &refused_ids);
    ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer));
  }

  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::flat_hash_map<EventId, GlobalPosition> stored;
  ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer, &stored));
  // The failed append: all of it right after the acknowledged events, or none.
  int present = 0;
  for (int i = 0; i < kFailedEvents; ++i) {
    auto it = stored.find(failed_ids[i]);
    if (it == stored.end()) continue;
    ++present;
    EXPECT_EQ(it->second, writer.acked().size() + 1 + i) << "failed append event " << i;
  }
  EXPECT_TRUE(present == 0 || present == kFailedEvents)
      << present << " of the failed append's " << kFailedEvents << " events are stored";
  ExpectAbsent(stored, refused_ids, "a refused append");
  EXPECT_EQ((**log).Head(), writer.acked().size() + static_cast<uint64_t>(present));
  std::printf(
      "WalSyncError: after reopen head %llu: %zu acknowledged events present; the failed "
      "append (%d events) is %s; %zu refused-append events absent\n",
      static_cast<unsigned long long>((**log).Head()), writer.acked().size(), kFailedEvents,
      present == 0 ? "absent" : "present whole (written to the WAL before the failed sync)",
      refused_ids.size());
  RecordProperty("failed_append_present_after_reopen", present);

  // The way out of the ambiguity: retry with the same ids. Present, the retry
  // is deduplicated to the stored positions; absent, it is appended now.
  absl::StatusOr<AppendResult> retry = writer.Retry(**log, failed_ids);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->deduplicated, present == kFailedEvents);
  EXPECT_EQ(retry->first_position, writer.acked().size() + 1);
  EXPECT_EQ(retry->last_position, writer.acked().size() + kFailedEvents);
  std::printf("WalSyncError: retry with the same ids: positions %llu..%llu, deduplicated=%d\n",
              static_cast<unsigned long long>(retry->first_position),
              static_cast<unsigned long long>(retry->last_position), retry->deduplicated);
}

TEST(StorageFaultsTest, FlippedByteInWalMiddleRefusesToStart) {
  TempDir tmp;
  const std::string pristine = tmp.Sub("pristine");
  Writer writer;
  ASSERT_NO_FATAL_FAILURE(BuildWalOnlyStore(pristine, 400, 300, &writer));
  const fs::path wal = LargestWal(pristine);
  ASSERT_FALSE(wal.empty());
  const uint64_t size = fs::file_size(wal);
  ASSERT_GT(size, 100u << 10) << wal;
  std::printf("FlippedWalByte: WAL %s, %llu bytes, %zu events\n", wal.filename().c_str(),
              static_cast<unsigned long long>(size), writer.acked().size());

  for (const uint64_t offset : {size / 3, size / 2, size / 2 + 777, (size * 2) / 3}) {
    SCOPED_TRACE(absl::StrCat("byte ", offset, " of ", size));
    const std::string trial = tmp.Sub(absl::StrCat("flip-", offset));
    ASSERT_NO_FATAL_FAILURE(CopyStore(pristine, trial));
    ASSERT_NO_FATAL_FAILURE(FlipByte(fs::path(trial) / wal.filename(), offset, 0x10));
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(trial);
    if (log.ok()) {
      ADD_FAILURE() << "a store with a flipped WAL byte opened, head " << (**log).Head() << " of "
                    << writer.acked().size() << " acknowledged events";
      continue;
    }
    std::printf("FlippedWalByte: offset %llu: %s\n", static_cast<unsigned long long>(offset),
                log.status().ToString().c_str());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << log.status();
    EXPECT_TRUE(absl::StrContains(log.status().message(), "Corruption")) << log.status();
  }
  // The undamaged store opens with everything: the refusals were the flip's doing.
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(pristine);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer));
  EXPECT_EQ((**log).Head(), writer.acked().size());
}

TEST(StorageFaultsTest, TornWalTailStartsWithEveryAcknowledgedEvent) {
  constexpr size_t kEventBytes = 300;  // the last WAL record is longer than any cut
  TempDir tmp;
  const std::string pristine = tmp.Sub("pristine");
  Writer writer;
  ASSERT_NO_FATAL_FAILURE(BuildWalOnlyStore(pristine, 100, kEventBytes, &writer));
  const fs::path wal = LargestWal(pristine);
  ASSERT_FALSE(wal.empty());
  const uint64_t size = fs::file_size(wal);
  const std::vector<Acked> all_but_last = writer.AckedWithoutLast(1);

  for (const uint64_t cut : {1, 3, 7, 64, 200}) {
    SCOPED_TRACE(absl::StrCat("WAL cut by ", cut, " of ", size, " bytes"));
    const std::string trial = tmp.Sub(absl::StrCat("cut-", cut));
    ASSERT_NO_FATAL_FAILURE(CopyStore(pristine, trial));
    fs::resize_file(fs::path(trial) / wal.filename(), size - cut);
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(trial);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_NO_FATAL_FAILURE(CheckStore(**log, all_but_last, writer));
    const GlobalPosition head = (**log).Head();
    EXPECT_TRUE(head == writer.acked().size() || head == writer.acked().size() - 1) << head;
    std::printf("TornWalTail: cut %llu bytes: opened, head %llu of %zu (last append %s)\n",
                static_cast<unsigned long long>(cut), static_cast<unsigned long long>(head),
                writer.acked().size(), head == writer.acked().size() ? "kept" : "dropped");
  }
}

// The outcome of reading a damaged store.
struct DamagedReads {
  absl::Status open;
  absl::Status verify;
  int reads_ok = 0;
  int reads_failed = 0;
  std::string first_error;
};

// Opens `dir` and reads everything every way, requiring each read to return
// exactly `expected` (the undamaged log) or an error; counts the outcomes.
void ReadDamaged(const std::string& dir, const std::vector<RecordedEvent>& expected,
                 DamagedReads* out) {
  absl::StatusOr<std::unique_ptr<EventLog>> opened = EventLog::Open(dir);
  out->open = opened.status();
  if (!opened.ok()) return;
  const EventLog& log = **opened;
  auto count = [out](const absl::Status& s) {
    if (s.ok()) {
      ++out->reads_ok;
    } else {
      ++out->reads_failed;
      if (out->first_error.empty()) out->first_error = s.ToString();
    }
  };
  EXPECT_EQ(log.Head(), expected.size()) << "the head changed";
  for (GlobalPosition p = 1; p <= expected.size(); ++p) {
    absl::StatusOr<RecordedEvent> e = log.ReadEvent(p);
    count(e.status());
    if (e.ok()) {
      ASSERT_EQ(*e, expected[p - 1]) << "ReadEvent(" << p << ") returned wrong data";
    } else {
      EXPECT_TRUE(e.status().code() == absl::StatusCode::kDataLoss ||
                  e.status().code() == absl::StatusCode::kInternal)
          << e.status();
    }
  }
  absl::StatusOr<std::vector<RecordedEvent>> all = log.ReadAll(ReadAllOptions{});
  count(all.status());
  if (all.ok()) {
    ASSERT_EQ(*all, expected) << "ReadAll returned wrong data";
  } else {
    EXPECT_TRUE(all.status().code() == absl::StatusCode::kDataLoss ||
                all.status().code() == absl::StatusCode::kInternal)
        << all.status();
  }
  for (int s = 0; s < 4; ++s) {
    const std::string stream = StreamName(s);
    absl::StatusOr<std::vector<RecordedEvent>> events = log.ReadStream(stream, ReadStreamOptions{});
    count(events.status());
    if (!events.ok()) continue;
    std::vector<RecordedEvent> want;
    for (const RecordedEvent& e : expected) {
      if (e.stream == stream) want.push_back(e);
    }
    ASSERT_EQ(*events, want) << "ReadStream(" << stream << ") returned wrong data";
  }
  out->verify = log.VerifyChecksums();
}

TEST(StorageFaultsTest, FlippedSstBytesNeverGiveWrongData) {
  TempDir tmp;
  const std::string pristine = tmp.Sub("pristine");
  Writer writer;
  SstFile events_sst;
  std::vector<SstFile> ssts;
  ASSERT_NO_FATAL_FAILURE(BuildSstStore(pristine, 400, 400, &writer, &events_sst, &ssts));
  const fs::path sst = events_sst.path;
  std::vector<RecordedEvent> expected;
  {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(pristine);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_NO_FATAL_FAILURE(CheckStore(**log, writer.acked(), writer));
    absl::StatusOr<std::vector<RecordedEvent>> all = (**log).ReadAll(ReadAllOptions{});
    ASSERT_TRUE(all.ok()) << all.status();
    expected = *std::move(all);
  }
  ASSERT_EQ(FilesEndingWith(pristine, ".sst").size(), ssts.size()) << "the store changed";

  // Data blocks come first, then meta blocks (index, properties, metaindex),
  // then the 53-byte footer.
  const uint64_t data_size = events_sst.data_size;
  const uint64_t size = fs::file_size(sst);
  constexpr uint64_t kFooter = 53;
  ASSERT_GT(data_size, 0u);
  ASSERT_LT(data_size, size - kFooter);
  std::printf("FlippedSst: %s, %llu bytes, data blocks %llu bytes, %zu events\n",
              sst.filename().c_str(), static_cast<unsigned long long>(size),
              static_cast<unsigned long long>(data_size), expected.size());

  struct Trial {
    std::string where;
    std::vector<uint64_t> offsets;
    bool must_detect;  // every byte there is under a block checksum
  };
  std::vector<Trial> trials;
  for (int k = 1; k <= 8; ++k) trials.push_back({"data", {data_size * k / 9}, true});
  const uint64_t meta = size - kFooter - data_size;
  for (int k = 1; k <= 3; ++k) trials.push_back({"meta", {data_size + meta * k / 4}, true});
  trials.push_back({"footer-magic", {size - 4}, true});
  trials.push_back({"footer-handles", {size - kFooter + 2}, false});
  {
    Trial many{"data+meta, 6 bytes at once", {}, true};
    for (int k = 1; k <= 6; ++k) many.offsets.push_back((size - kFooter) * k / 7 + 13);
    trials.push_back(many);
  }

  for (const Trial& trial : trials) {
    const std::string where = absl::StrCat(trial.where, " offset ", trial.offsets.front(),
                                           trial.offsets.size() > 1 ? "..." : "");
    SCOPED_TRACE(where);
    const std::string dir = tmp.Sub(absl::StrCat("trial-", &trial - trials.data()));
    ASSERT_NO_FATAL_FAILURE(CopyStore(pristine, dir));
    for (uint64_t offset : trial.offsets) {
      ASSERT_NO_FATAL_FAILURE(FlipByte(fs::path(dir) / sst.filename(), offset, 0x04));
    }
    DamagedReads reads;
    ASSERT_NO_FATAL_FAILURE(ReadDamaged(dir, expected, &reads));
    if (!reads.open.ok()) {
      std::printf("FlippedSst: %s: open failed: %s\n", where.c_str(),
                  reads.open.ToString().c_str());
      EXPECT_TRUE(reads.open.code() == absl::StatusCode::kDataLoss ||
                  reads.open.code() == absl::StatusCode::kInternal)
          << reads.open;
      continue;
    }
    std::printf("FlippedSst: %s: opened; %d reads exact, %d failed%s%s; VerifyChecksums: %s\n",
                where.c_str(), reads.reads_ok, reads.reads_failed,
                reads.first_error.empty() ? "" : ", e.g. ", reads.first_error.c_str(),
                reads.verify.ToString().c_str());
    if (trial.must_detect) {
      EXPECT_FALSE(reads.verify.ok()) << "VerifyChecksums missed a flipped byte at " << where;
    }
  }
}

TEST(StorageFaultsTest, MissingSstFileIsAClearError) {
  TempDir tmp;
  const std::string pristine = tmp.Sub("pristine");
  Writer writer;
  SstFile events_sst;
  std::vector<SstFile> ssts;
  ASSERT_NO_FATAL_FAILURE(BuildSstStore(pristine, 200, 200, &writer, &events_sst, &ssts));
  ASSERT_GE(ssts.size(), 3u);

  for (size_t i = 0; i < ssts.size(); ++i) {
    const SstFile& f = ssts[i];
    const std::string name = f.path.filename().string();
    // RocksDB names the file by number: it looks for 000014.sst, then for the
    // legacy 000014.ldb, and reports the last name it tried.
    const std::string number = fs::path(name).stem().string();
    SCOPED_TRACE(absl::StrCat(name, " (", f.column_family, ")"));
    const std::string dir = tmp.Sub(absl::StrCat("trial-", i));  // holds no file number
    ASSERT_NO_FATAL_FAILURE(CopyStore(pristine, dir));
    ASSERT_TRUE(fs::remove(fs::path(dir) / name));
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir);
    if (!log.ok()) {
      std::printf("MissingSst: %s (%s) deleted: open failed: %s\n", name.c_str(),
                  f.column_family.c_str(), log.status().ToString().c_str());
      EXPECT_TRUE(absl::StrContains(log.status().message(), number)) << log.status();
      EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << log.status();
      continue;
    }
    // Opened (RocksDB did not look at the file yet): reads must fail naming it.
    const GlobalPosition head = (**log).Head();
    absl::StatusOr<std::vector<RecordedEvent>> all = (**log).ReadAll(ReadAllOptions{});
    std::printf("MissingSst: %s (%s) deleted: opened with head %llu; ReadAll: %s\n", name.c_str(),
                f.column_family.c_str(), static_cast<unsigned long long>(head),
                all.ok() ? "OK" : all.status().ToString().c_str());
    EXPECT_NE(head, 0u) << "a store missing an SST opened as an empty store";
    ASSERT_FALSE(all.ok()) << "a store missing " << name << " read " << all->size() << " events";
    EXPECT_TRUE(absl::StrContains(all.status().message(), number)) << all.status();
  }
}

}  // namespace
}  // namespace strata
