#include "tests/testutil/plain_store.h"

#include "gtest/gtest.h"

namespace strata::testing {

PlainStore::PlainStore(const std::string& dir, const rocksdb::ColumnFamilyOptions& options) {
  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  EXPECT_TRUE(listed.ok()) << dir << ": " << listed.ToString();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names) cfs.emplace_back(n, options);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles_, &db);
  EXPECT_TRUE(s.ok()) << dir << ": " << s.ToString();
  db_.reset(db);
  for (size_t i = 0; i < handles_.size(); ++i) by_name_[cfs[i].name] = handles_[i];
}

PlainStore::~PlainStore() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* PlainStore::cf(const std::string& name) {
  auto it = by_name_.find(name);
  EXPECT_NE(it, by_name_.end()) << "no column family '" << name << "'";
  return it == by_name_.end() ? nullptr : it->second;
}

void PlainStore::FlushAll() {
  for (auto* h : handles_) ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions(), h).ok());
}

}  // namespace strata::testing
