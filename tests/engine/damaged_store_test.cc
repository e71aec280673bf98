// Damage below the engine: a record rewritten with a flipped byte, a record
// deleted from the middle of the log, and a missing CURRENT file. Each is
// reported as DATA_LOSS naming the position or the file, never a crash, wrong
// data or a silently empty store. The damage is done with plain RocksDB on the
// closed store.
#include <filesystem>
#include <memory>

#include "engine/event_log.h"
#include "engine/internal/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/testutil/plain_store.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using ::testing::HasSubstr;

class DamagedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::Open(dir_.path());
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 5; ++i) {
      NewEvent e;
      e.type = "T";
      e.data = "data-" + std::to_string(i);
      ASSERT_TRUE((*log)->Append("s", ExpectedVersion::Any(), {e}).ok());
    }
  }

  // Opens the closed store with plain RocksDB and runs `fn` on `events`.
  void WithEventsCf(const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
    strata::testing::PlainStore store(dir_.path());
    ASSERT_NE(store.db(), nullptr);
    fn(store.db(), store.cf("events"));
  }

  strata::testing::TempDir dir_;
};

TEST_F(DamagedStoreTest, FlippedRecordByteIsDataLossOnEveryRead) {
  WithEventsCf([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string value;
    ASSERT_TRUE(db->Get({}, cf, internal::PositionKey(3), &value).ok());
    value[value.size() / 2] ^= 0x01;
    ASSERT_TRUE(db->Put({}, cf, internal::PositionKey(3), value).ok());
  });
  auto log = EventLog::Open(dir_.path());
  ASSERT_TRUE(log.ok()) << log.status();
  auto one = (*log)->ReadEvent(3);
  EXPECT_EQ(one.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(one.status().message()), HasSubstr("position 3"));
  EXPECT_EQ((*log)->ReadAll({}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ((*log)->ReadStream("s", {}).status().code(), absl::StatusCode::kDataLoss);
  // Undamaged events still read.
  auto two = (*log)->ReadEvent(2);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->data, "data-1");
}

TEST_F(DamagedStoreTest, MissingRecordBelowTheHeadIsAGap) {
  WithEventsCf([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    ASSERT_TRUE(db->Delete({}, cf, internal::PositionKey(2)).ok());
  });
  auto log = EventLog::Open(dir_.path());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->Head(), 5u);
  auto all = (*log)->ReadAll({});
  EXPECT_EQ(all.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(all.status().message()), HasSubstr("position 2 is missing"));
  EXPECT_EQ((*log)->ReadEvent(2).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(DamagedStoreTest, MissingCurrentFileRefusesToOpen) {
  std::filesystem::remove(dir_.Sub("CURRENT"));
  auto log = EventLog::Open(dir_.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("no CURRENT file"));
}

}  // namespace
}  // namespace strata
