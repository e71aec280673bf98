// PlainStore: a closed Strata store (the log's or the projections') opened
// with plain RocksDB and every column family it has, for tests that damage or
// inspect records beneath the engine. Thread-compatible.
#ifndef STRATA_TESTS_TESTUTIL_PLAIN_STORE_H_
#define STRATA_TESTS_TESTUTIL_PLAIN_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace strata::testing {

class PlainStore {
 public:
  // Opens `dir` (a failure is a test failure; db() is then null) with
  // `options` for every column family, e.g. the projection counters' merge
  // operator, which recovery of a projection store may need.
  explicit PlainStore(const std::string& dir,
                      const rocksdb::ColumnFamilyOptions& options = rocksdb::ColumnFamilyOptions());
  ~PlainStore();
  PlainStore(const PlainStore&) = delete;
  PlainStore& operator=(const PlainStore&) = delete;

  rocksdb::DB* db() { return db_.get(); }
  // The column family named `name`; a test failure and null when there is none.
  rocksdb::ColumnFamilyHandle* cf(const std::string& name);
  // Flushes every column family's memtable into table files.
  void FlushAll();

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

}  // namespace strata::testing

#endif  // STRATA_TESTS_TESTUTIL_PLAIN_STORE_H_
