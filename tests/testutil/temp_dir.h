// Test helpers: a temporary directory removed on destruction, and status
// assertions. Not thread-safe; one per test.
#ifndef STRATA_TESTS_TESTUTIL_TEMP_DIR_H_
#define STRATA_TESTS_TESTUTIL_TEMP_DIR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace strata::testing {

class TempDir {
 public:
  TempDir();  // a fresh directory under $TMPDIR (or /tmp)
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace strata::testing

#define STRATA_ASSERT_OK(expr)                     \
  do {                                             \
    const ::absl::Status strata_s_ = ::strata::testing::StatusOf(expr); \
    ASSERT_TRUE(strata_s_.ok()) << strata_s_;      \
  } while (0)
#define STRATA_EXPECT_OK(expr)                     \
  do {                                             \
    const ::absl::Status strata_s_ = ::strata::testing::StatusOf(expr); \
    EXPECT_TRUE(strata_s_.ok()) << strata_s_;      \
  } while (0)

#endif  // STRATA_TESTS_TESTUTIL_TEMP_DIR_H_
