// CachingStateReader (projections/runtime/state.h): a worker's memory of its
// own committed state, over a real RocksDB column family.
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "projections/runtime/state.h"
#include "rocksdb/db.h"
#include "tests/testutil/temp_dir.h"

namespace strata::projections_internal {
namespace {

// Forwards to a real reader and counts the Gets that reach it.
class CountingReader : public StateReader {
 public:
  explicit CountingReader(const StateReader* real) : real_(real) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override {
    ++gets;
    return real_->Get(key);
  }
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override {
    return real_->ScanFrom(prefix, start, visit);
  }
  mutable int gets = 0;

 private:
  const StateReader* real_;
};

class StateCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path(), &db).ok());
    db_.reset(db);
    Put("a", "1");
    Put("b", "2");
  }
  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), StateKey(key), value).ok());
  }
  std::optional<std::string> Get(const CachingStateReader& r, const std::string& key) {
    absl::StatusOr<std::optional<std::string>> v = r.Get(key);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  }

  strata::testing::TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(StateCacheTest, ReadsEachKeyOnceAndServesWhatCommitsWrote) {
  CurrentStateReader real(db_.get(), db_->DefaultColumnFamily(), nullptr);
  CountingReader counting(&real);
  CachingStateReader cache(&counting, 1 << 20);
  EXPECT_EQ(Get(cache, "a"), "1");
  EXPECT_EQ(Get(cache, "a"), "1");
  EXPECT_EQ(Get(cache, "missing"), std::nullopt);
  EXPECT_EQ(Get(cache, "missing"), std::nullopt);  // absence is remembered too
  EXPECT_EQ(counting.gets, 2);
  // A commit wrote "a" = 7 and deleted "b": no read needed for either.
  Put("a", "7");
  ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), StateKey("b")).ok());
  cache.Remember("a", "7");
  cache.Remember("b", std::nullopt);
  EXPECT_EQ(Get(cache, "a"), "7");
  EXPECT_EQ(Get(cache, "b"), std::nullopt);
  EXPECT_EQ(counting.gets, 2);
}

TEST_F(StateCacheTest, StartsOverAtItsByteBound) {
  CurrentStateReader real(db_.get(), db_->DefaultColumnFamily(), nullptr);
  CountingReader counting(&real);
  // Room for one entry ("a"/"1" costs 1 + 1 + 64 bytes), not two.
  CachingStateReader cache(&counting, 100);
  EXPECT_EQ(Get(cache, "a"), "1");
  EXPECT_EQ(Get(cache, "b"), "2");  // clears the cache, then remembers "b"
  EXPECT_EQ(Get(cache, "b"), "2");
  EXPECT_EQ(counting.gets, 2);
  EXPECT_EQ(Get(cache, "a"), "1");  // "a" was dropped
  EXPECT_EQ(counting.gets, 3);
}

TEST_F(StateCacheTest, UpdateReadsAnUnknownKeyOnceAndRemembersTheNewValue) {
  CurrentStateReader real(db_.get(), db_->DefaultColumnFamily(), nullptr);
  CountingReader counting(&real);
  CachingStateReader cache(&counting, 1 << 20);
  std::vector<std::optional<std::string>> seen;
  auto append_x =
      [&](const std::optional<std::string>& before) -> absl::StatusOr<std::optional<std::string>> {
    seen.push_back(before);
    return before.value_or("") + "x";
  };
  absl::StatusOr<std::optional<std::string>> v = cache.Update("a", append_x);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "1x");
  v = cache.Update("a", append_x);  // from the remembered "1x", no read
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "1xx");
  v = cache.Update("new", append_x);  // absent before
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "x");
  EXPECT_EQ(seen, (std::vector<std::optional<std::string>>{"1", "1x", std::nullopt}));
  EXPECT_EQ(counting.gets, 2);
  EXPECT_EQ(Get(cache, "a"), "1xx");
  EXPECT_EQ(Get(cache, "new"), "x");
  EXPECT_EQ(counting.gets, 2);
  // A failing update leaves the key unknown: the next read goes to the store.
  v = cache.Update(
      "b", [](const std::optional<std::string>&) -> absl::StatusOr<std::optional<std::string>> {
        return absl::DataLossError("not a counter");
      });
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Get(cache, "b"), "2");
  EXPECT_EQ(counting.gets, 4);
}

TEST_F(StateCacheTest, UpdateKeepsItsKeyWhenItStartsOver) {
  CurrentStateReader real(db_.get(), db_->DefaultColumnFamily(), nullptr);
  CountingReader counting(&real);
  CachingStateReader cache(&counting, 140);  // room for two small entries, not three
  auto bump =
      [](const std::optional<std::string>& before) -> absl::StatusOr<std::optional<std::string>> {
    return before.value_or("") + "+";
  };
  EXPECT_EQ(Get(cache, "a"), "1");
  EXPECT_EQ(Get(cache, "b"), "2");  // both fit: 66 + 66 bytes
  EXPECT_EQ(counting.gets, 2);
  ASSERT_TRUE(cache.Update("c", bump).ok());  // a third does not: only "c" stays
  EXPECT_EQ(counting.gets, 3);
  EXPECT_EQ(Get(cache, "c"), "+");
  EXPECT_EQ(counting.gets, 3);
  EXPECT_EQ(Get(cache, "a"), "1");  // dropped, read again
  EXPECT_EQ(counting.gets, 4);
}

// A prefix scan sees exactly the keys that start with the prefix, also when
// the prefix ends in 0xff bytes (the scan's end is the next key up from the
// last byte below 0xff).
TEST_F(StateCacheTest, ScanFromSeesExactlyThePrefixAlsoWhenItEndsInFfBytes) {
  for (const std::string key : {"p\xff", "p\xff\x01", "p\xff\xff", "p\xff\xff\x07", "q", "p"}) {
    Put(key, "v");
  }
  CurrentStateReader real(db_.get(), db_->DefaultColumnFamily(), nullptr);
  auto scan = [&](const std::string& prefix, const std::string& start) {
    std::vector<std::string> keys;
    absl::Status s = real.ScanFrom(prefix, start, [&](absl::string_view key, absl::string_view) {
      keys.emplace_back(key);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return keys;
  };
  using Keys = std::vector<std::string>;
  EXPECT_EQ(scan("p\xff", ""), (Keys{"p\xff", "p\xff\x01", "p\xff\xff", "p\xff\xff\x07"}));
  EXPECT_EQ(scan("p\xff\xff", ""), (Keys{"p\xff\xff", "p\xff\xff\x07"}));
  EXPECT_EQ(scan("p\xff", "p\xff\x02"), (Keys{"p\xff\xff", "p\xff\xff\x07"}));
  EXPECT_EQ(scan("p", ""), (Keys{"p", "p\xff", "p\xff\x01", "p\xff\xff", "p\xff\xff\x07"}));
  EXPECT_EQ(scan("a", ""), (Keys{"a"}));
  EXPECT_EQ(scan("c", ""), Keys{});
}

}  // namespace
}  // namespace strata::projections_internal
