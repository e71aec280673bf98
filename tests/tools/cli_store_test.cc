// The strata CLI on data directories: export (from the server and offline),
// import into an empty store and export again gives the identical file;
// importing twice changes nothing; a bad line is reported by number with
// nothing written. verify passes on a healthy store and finds each planted
// fault: a deleted index entry, a damaged record, RocksDB-level damage, a
// projection checkpoint beyond the head, and (with --deep) a read model that
// disagrees with the log. Faults are planted with plain RocksDB on the closed
// stores.
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_join.h"
#include "engine/internal/codec.h"
#include "projections/projection.h"
#include "projections/runtime/state.h"
#include "rocksdb/db.h"
#include "tests/testutil/plain_store.h"
#include "tests/tools/cli_test_util.h"

namespace strata::cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A closed store opened with plain RocksDB and all its column families, with
// the projection counters' merge operator (which recovery may need).
class PlainStore : public strata::testing::PlainStore {
 public:
  explicit PlainStore(const std::string& dir)
      : strata::testing::PlainStore(dir, [] {
          rocksdb::ColumnFamilyOptions options;
          options.merge_operator = projections_internal::NewCounterMergeOperator();
          return options;
        }()) {}
};

class CliStoreTest : public CliFixture {
 protected:
  void SetUp() override {
    StartServer();
    Populate();
  }

  CliResult Verify(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"verify", "--data_dir", dir_.path(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }

  // The healthy store's verify output with `findings`, the link_clicks
  // checkpoint and the event_ids and index entries counts as given.
  static std::string VerifyJson(const std::vector<std::string>& findings,
                                uint64_t clicks_checkpoint, uint64_t event_ids,
                                const std::string& deep = "null", uint64_t index_entries = 24) {
    std::string list;
    for (const std::string& f : findings) {
      absl::StrAppend(&list, list.empty() ? "" : ",", "\"", f, "\"");
    }
    return absl::StrCat(
        R"({"ok":)", findings.empty() ? "true" : "false",
        R"(,"log":{"head":12,"events":12,"streams":5,"event_ids":)", event_ids,
        R"(,"index_entries":)", index_entries, "},",
        R"("projections":[{"name":"link_details","version":1,"generation":1,"state":"live","checkpoint":12,"snapshots":3,"deep":)",
        deep, "},",
        R"({"name":"link_clicks","version":1,"generation":2,"state":"live","checkpoint":)",
        clicks_checkpoint, R"(,"snapshots":3,"deep":)", deep, "}],", R"("findings":[)", list,
        R"(],"findings_omitted":0,"notes":[]})", "\n");
  }

  std::string LogDir() const { return dir_.Sub("log"); }
  std::string ProjectionsDir() const { return dir_.Sub("projections"); }
};

TEST_F(CliStoreTest, ExportImportExportIsIdenticalAndImportTwiceChangesNothing) {
  const std::string first = dir_.Sub("first.ndjson");
  CliResult r = RunCli(With({"export", "--out", first, "--json"}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, absl::StrCat(R"({"file":")", first,
                                R"(","events":12,"first_position":1,"last_position":12})", "\n"));
  const std::string exported = ReadFile(first);
  EXPECT_EQ(std::count(exported.begin(), exported.end(), '\n'), 12);
  // A position range is a slice of the same lines.
  r = RunCli(With({"export", "--from", "6", "--to", "7"}, Server()));
  std::vector<std::string> lines = absl::StrSplit(exported, '\n');
  EXPECT_EQ(r.out, absl::StrCat(lines[5], "\n", lines[6], "\n")) << Describe(r);

  StopServer();
  r = RunCli(With({"export"}, DataDir()));
  EXPECT_EQ(r.out, exported) << Describe(r);

  testing::TempDir empty;
  const std::string target = empty.Sub("data");
  r = RunCli({"import", first, "--data_dir", target, "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out,
            absl::StrCat(R"({"file":")", first,
                         R"(","events":12,"appended":12,"already_present":0,"head":12})", "\n"));
  r = RunCli({"import", first, "--data_dir", target, "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out,
            absl::StrCat(R"({"file":")", first,
                         R"(","events":12,"appended":0,"already_present":12,"head":12})", "\n"));
  const std::string second = empty.Sub("second.ndjson");
  r = RunCli({"export", "--data_dir", target, "--out", second});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, absl::StrCat("exported 12 events (positions 1..12) to ", second, "\n"));
  EXPECT_EQ(ReadFile(second), exported);

  // The imported store serves the same dashboard, built from the imported log.
  r = RunCli({"links", "analytics", "promo", "--from", "2024-03-08", "--to", "2024-03-08",
              "--data_dir", target, "--json"});
  EXPECT_THAT(r.out, HasSubstr(R"("position":12,"total_clicks":2,"all_time_clicks":5)"))
      << Describe(r);
  r = RunCli({"verify", "--data_dir", target, "--deep"});
  EXPECT_EQ(r.code, 0) << Describe(r);
}

// Deleted and truncated streams survive export and import: the metastreams'
// events (a soft delete's $metadata, a tombstone) are imported like any other,
// a re-run counts them as present, and the imported store answers the same.
TEST_F(CliStoreTest, ExportImportKeepsDeletedStreamsDeleted) {
  auto remove = [&](const std::string& stream, bool tombstone) {
    v1::DeleteStreamRequest req;
    req.set_stream(stream);
    req.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
    req.set_tombstone(tombstone);
    v1::DeleteStreamResponse resp;
    grpc::Status s = streams_->DeleteStream(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  };
  ASSERT_NO_FATAL_FAILURE(remove("orders-1", /*tombstone=*/false));  // position 13
  ASSERT_NO_FATAL_FAILURE(remove("blobs-1", /*tombstone=*/true));    // position 14
  Append("$$orders-2", v1::ExpectedVersion::ANY, 0,
         {Event("00000000-0000-4000-8000-000000000099", "$metadata", "application/json",
                R"({"$maxCount":1})")});  // position 15
  const std::string file = dir_.Sub("deleted.ndjson");
  CliResult r = RunCli(With({"export", "--out", file}, Server()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  StopServer();

  testing::TempDir empty;
  const std::string target = empty.Sub("data");
  r = RunCli({"import", file, "--data_dir", target, "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out,
            absl::StrCat(R"({"file":")", file,
                         R"(","events":15,"appended":15,"already_present":0,"head":15})", "\n"));
  r = RunCli({"import", file, "--data_dir", target, "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out,
            absl::StrCat(R"({"file":")", file,
                         R"(","events":15,"appended":0,"already_present":15,"head":15})", "\n"));
  r = RunCli({"streams", "read", "orders-1", "--data_dir", target});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("stream 'orders-1' is deleted (its versions up to 2 are "
                               "truncated by $tb 3)"))
      << Describe(r);
  r = RunCli({"streams", "read", "blobs-1", "--data_dir", target});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("stream 'blobs-1' is deleted (tombstoned at position 14)"))
      << Describe(r);
}

// Every file under `dir` (relative path -> bytes).
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    files[std::filesystem::relative(entry.path(), dir).string()] = ReadFile(entry.path().string());
  }
  return files;
}

// Offline commands that only read open the stores read-only (RocksDB
// secondary mode; verify: read-only) and leave every file of the data
// directory byte for byte as it was.
TEST_F(CliStoreTest, OfflineReadsLeaveTheDataDirectoryByteIdentical) {
  StopServer();
  const std::map<std::string, std::string> before = Files(dir_.path());
  ASSERT_GT(before.size(), 10u);
  const std::vector<std::vector<std::string>> reads = {
      {"links", "get", "promo"},
      {"links", "get", "promo", "--as-of", "7"},
      {"links", "analytics", "promo", "--from", "2024-03-07", "--to", "2024-03-10"},
      {"projections", "list"},
      {"projections", "status", "link_clicks"},
      {"log", "read"},
      {"streams", "read", "link-promo"},
      {"export"},
      {"verify"},
      {"verify", "--deep"},
  };
  for (const std::vector<std::string>& read : reads) {
    CliResult r = RunCli(With(read, DataDir()));
    EXPECT_EQ(r.code, 0) << absl::StrJoin(read, " ") << "\n" << Describe(r);
    EXPECT_NE(r.out, "") << absl::StrJoin(read, " ");
  }
  EXPECT_EQ(Files(dir_.path()), before);
  // The control: a command that writes (an in-process rebuild) changes files.
  CliResult r = RunCli(With({"projections", "rebuild", "link_clicks"}, DataDir()));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(Files(dir_.path()), before);
}

TEST_F(CliStoreTest, ImportReportsTheFirstBadLineAndWritesNothing) {
  StopServer();
  const std::string exported = RunCli(With({"export"}, DataDir())).out;
  std::vector<std::string> lines = absl::StrSplit(exported, '\n');
  testing::TempDir scratch;
  const std::string target = scratch.Sub("data");
  struct Case {
    std::string line3;
    std::string error;
  };
  const Case cases[] = {
      {R"({"position":3,"stream":"orders-2")",
       "not valid JSON: The JSON document has an improper structure: missing or superfluous "
       "commas, braces, missing keys, etc."},
      {Normalize(lines[2], "00000000-0000-4000-8000-000000000003", "xyz"),
       "event_id: 'xyz' is not a UUID"},
      {Normalize(lines[2], R"("version":0)", R"("version":4)"),
       "stream 'orders-2' starts at version 4, but the store does not have it"},
      {Normalize(lines[2], R"("type":"OrderPlaced",)", ""), "type: missing"},
      {Normalize(lines[2], R"("data":\{"sku":"B7"\})", R"("data":{"sku":"B7"},"extra":1)"),
       "extra: unknown field"},
      {Normalize(lines[2], R"("recorded_at":"[^"]+")", R"("recorded_at":"yesterday")"),
       "recorded_at: 'yesterday' is not a time like 2024-03-10T12:00:00.000000Z"},
      {Normalize(lines[2], R"("position":3)", R"("position":1)"),
       "position 1 does not follow position 2 of line 2 (lines must be in position order)"},
  };
  for (const Case& c : cases) {
    const std::string file = scratch.Sub("bad.ndjson");
    WriteFile(file, absl::StrCat(lines[0], "\n", lines[1], "\n", c.line3, "\n", lines[3], "\n"));
    CliResult r = RunCli({"import", file, "--data_dir", target});
    EXPECT_EQ(r.code, 1) << Describe(r);
    EXPECT_EQ(r.err, absl::StrCat("strata: ", file, " line 3: ", c.error, "; nothing imported\n"))
        << Describe(r);
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(std::filesystem::exists(target)) << "import wrote before checking the file";
  }
  // A stream version that skips within the file.
  const std::string file = scratch.Sub("gap.ndjson");
  WriteFile(file, absl::StrCat(lines[0], "\n", lines[1], "\n", lines[2], "\n", lines[3], "\n",
                               Normalize(lines[4], R"("version":2)", R"("version":3)"), "\n"));
  CliResult r = RunCli({"import", file, "--data_dir", target});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, absl::StrCat("strata: ", file,
                                " line 5: stream 'orders-1' version 3 does not follow version 1 "
                                "(line 2); nothing imported\n"));
  EXPECT_FALSE(std::filesystem::exists(target));

  // Conflicting with the store: orders-1 holds another event at version 0.
  const std::string good = scratch.Sub("good.ndjson");
  WriteFile(good, absl::StrCat(Normalize(lines[0], "000000000001", "0000000000aa"), "\n"));
  r = RunCli({"import", good, "--data_dir", dir_.path()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, absl::StrCat("strata: ", good,
                                " line 1: stream 'orders-1' already holds "
                                "00000000-0000-4000-8000-000000000001 at version 0, not "
                                "00000000-0000-4000-8000-0000000000aa; nothing imported\n"));
  EXPECT_EQ(RunCli(With({"export"}, DataDir())).out, exported);
}

TEST_F(CliStoreTest, VerifyPassesOnAHealthyStore) {
  StopServer();
  CliResult r = Verify();
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({}, 12, 12));
  r = Verify({"--deep"});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({}, 12, 12, "\"match\""));
  r = RunCli({"verify", "--data_dir", dir_.path()});
  EXPECT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out, absl::StrCat("log: 12 events in 5 streams, head 12\n"
                                "projection link_details v1 generation 1: live at position 12, 3 "
                                "snapshots\n"
                                "projection link_clicks v1 generation 2: live at position 12, 3 "
                                "snapshots\n"
                                "verify: OK, no findings in ",
                                dir_.path(), "\n"));
}

TEST_F(CliStoreTest, VerifyRefusesADirectoryInUse) {
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, absl::StrCat("strata: data directory ", dir_.path(),
                                " is in use (is stratad running?)\n"));
}

// Each event has a type and a category entry (24), in runs: the run of
// $ce-orders versions 0-1 (positions 1-2, one append) deleted, and
// $et-OrderPlaced version 0 moved to position 3 instead of 1: each index is
// named.
TEST_F(CliStoreTest, VerifyFindsIndexStreamsThatDifferFromTheEvents) {
  StopServer();
  {
    PlainStore log(LogDir());
    ASSERT_TRUE(log.db()
                    ->Delete(rocksdb::WriteOptions(), log.cf("indexes"),
                             internal::StreamKey(internal::IndexKeyName('c', "orders"), 0))
                    .ok());
    ASSERT_TRUE(log.db()
                    ->Put(rocksdb::WriteOptions(), log.cf("indexes"),
                          internal::StreamKey(internal::IndexKeyName('t', "OrderPlaced"), 0),
                          internal::EncodeIndexRun({3, 1}))
                    .ok());
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({"index stream '$ce-orders' holds 2 entries where the events imply 4",
                               "index stream '$et-OrderPlaced' holds 2 entries where the events "
                               "imply 2, and they differ from those"},
                              12, 12, "null", 22));
}

TEST_F(CliStoreTest, VerifyFindsADeletedIndexEntry) {
  StopServer();
  {
    PlainStore log(LogDir());
    const EventId id = *EventId::Parse("00000000-0000-4000-8000-000000000002");
    ASSERT_TRUE(log.db()
                    ->Delete(rocksdb::WriteOptions(), log.cf("event_ids"),
                             rocksdb::Slice(id.AsBytes().data(), 16))
                    .ok());
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({"event at position 2 (id 00000000-0000-4000-8000-000000000002) "
                               "has no event_ids index entry"},
                              12, 11));
}

TEST_F(CliStoreTest, VerifyFindsADeletedStreamsEntry) {
  StopServer();
  {
    PlainStore log(LogDir());
    ASSERT_TRUE(
        log.db()
            ->Delete(rocksdb::WriteOptions(), log.cf("streams"), internal::StreamKey("orders-1", 1))
            .ok());
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({"event at position 2 (stream 'orders-1' version 1) has no streams "
                               "index entry"},
                              12, 12));
}

TEST_F(CliStoreTest, VerifyFindsAStreamsEntryPointingAtAnotherEvent) {
  // The sequential pass sees the index's digest differ from the events' and
  // names the difference with point lookups from both sides.
  StopServer();
  {
    PlainStore log(LogDir());
    ASSERT_TRUE(log.db()
                    ->Put(rocksdb::WriteOptions(), log.cf("streams"),
                          internal::StreamKey("orders-1", 1), internal::PositionKey(3))
                    .ok());
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({"event at position 2 (stream 'orders-1' version 1): its streams "
                               "index entry points at position 3",
                               "streams index entry 'orders-1' version 1 points at position 3, "
                               "which holds stream 'orders-2' version 0"},
                              12, 12));
}

TEST_F(CliStoreTest, VerifyFindsADamagedRecord) {
  StopServer();
  {
    PlainStore log(LogDir());
    std::string value;
    ASSERT_TRUE(log.db()->Get({}, log.cf("events"), internal::PositionKey(3), &value).ok());
    value[value.size() / 2] ^= 0x01;
    ASSERT_TRUE(log.db()->Put({}, log.cf("events"), internal::PositionKey(3), value).ok());
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_EQ(r.out, VerifyJson({"events: event record at position 3: checksum mismatch"}, 12, 12));
  r = RunCli({"verify", "--data_dir", dir_.path()});
  EXPECT_THAT(r.out, HasSubstr("FINDING: events: event record at position 3: checksum mismatch\n"
                               "verify: 1 finding in "));
}

TEST_F(CliStoreTest, VerifyFindsRocksDbChecksumDamage) {
  StopServer();
  { PlainStore(LogDir()).FlushAll(); }
  // Flip a byte inside the first data block of the largest table file.
  std::string largest;
  uintmax_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LogDir())) {
    if (entry.path().extension() == ".sst" && entry.file_size() > size) {
      size = entry.file_size();
      largest = entry.path().string();
    }
  }
  ASSERT_FALSE(largest.empty());
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(40);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x20;
    f.seekp(40);
    f.write(&c, 1);
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(R"("ok":false)"));
  // The damaged block holds every event: the checksum failure, the events
  // that cannot be read, and one finding per index pointing at them.
  EXPECT_THAT(r.out,
              HasSubstr(R"("findings":["RocksDB checksum verification failed: Corruption: )"))
      << r.out;
  EXPECT_THAT(r.out, HasSubstr(R"(","events: reading stopped after position 0: Corruption: )"));
  EXPECT_THAT(r.out, HasSubstr(R"(","streams: 12 entries point at events that cannot be read: )"));
  EXPECT_THAT(r.out,
              HasSubstr(R"(","event_ids: 12 entries point at events that cannot be read: )"));
  EXPECT_THAT(
      r.out,
      HasSubstr(
          R"("notes":["checkpoints not compared with the log's head, which cannot be read"]})"));
}

TEST_F(CliStoreTest, VerifyFindsACheckpointBeyondTheHead) {
  StopServer();
  {
    PlainStore projections(ProjectionsDir());
    std::string checkpoint;
    internal::PutBigEndian64(&checkpoint, 112);
    ASSERT_TRUE(projections.db()
                    ->Put({}, projections.cf("p/link_clicks/v1/g2"), "mcheckpoint", checkpoint)
                    .ok());
  }
  CliResult r = Verify({"--deep"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  std::string expected = VerifyJson(
      {"projection link_clicks v1 generation 2: checkpoint 112 is beyond the log's head 12"}, 112,
      12, "\"match\"");
  expected = Normalize(expected, R"("checkpoint":112,"snapshots":3,"deep":"match")",
                       R"("checkpoint":112,"snapshots":3,"deep":"skipped")");
  expected = Normalize(
      expected, R"("notes":\[\])",
      R"("notes":["projection link_clicks v1 generation 2: not recomputed: its checkpoint is beyond the head"])");
  EXPECT_EQ(r.out, expected);
}

TEST_F(CliStoreTest, VerifyDeepFindsAReadModelThatDisagreesWithTheLog) {
  StopServer();
  {
    PlainStore projections(ProjectionsDir());
    ASSERT_TRUE(projections.db()
                    ->Put({}, projections.cf("p/link_clicks/v1/g2"), "st/promo", EncodeCounter(99))
                    .ok());
  }
  CliResult r = Verify();
  EXPECT_EQ(r.code, 0) << "only --deep recomputes read models\n" << Describe(r);
  r = Verify({"--deep"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  std::string expected = VerifyJson(
      {"projection link_clicks v1 generation 2 at checkpoint 12: the read model differs from the "
       "log in 1 key: 't/promo' is 99, the log gives 5"},
      12, 12, "\"match\"");
  expected = Normalize(expected, R"("checkpoint":12,"snapshots":3,"deep":"match"\}\])",
                       R"("checkpoint":12,"snapshots":3,"deep":"differs"}])");
  EXPECT_EQ(r.out, expected);
}

}  // namespace
}  // namespace strata::cli_test
