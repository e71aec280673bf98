// Replays every committed fuzz input (tests/fuzz/corpus/<target>/*: seeds and
// the regression inputs of bugs the fuzzers found) through the same entry
// functions the libFuzzer binaries use, in the normal gcc build. A property
// that fails aborts the test binary after printing the file and the check.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_targets.h"

namespace strata::fuzz {
namespace {

namespace fs = std::filesystem;
using Entry = int (*)(const uint8_t*, size_t);

const fs::path kCorpus = STRATA_FUZZ_CORPUS_DIR;

// Replays corpus/<target>/; returns how many files ran.
size_t Replay(const std::string& target, Entry entry) {
  const fs::path dir = kCorpus / target;
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.is_regular_file()) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Printed first: a failing input aborts the binary.
    std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), bytes.size());
    entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return files.size();
}

TEST(FuzzCorpusTest, RecordDecode) { EXPECT_GT(Replay("record_decode", FuzzRecordDecode), 0u); }

TEST(FuzzCorpusTest, KeyOrder) { EXPECT_GT(Replay("key_order", FuzzKeyOrder), 0u); }

TEST(FuzzCorpusTest, RequestHandlers) {
#ifdef STRATA_FUZZ_HAVE_SERVER
  EXPECT_GT(Replay("request_handlers", FuzzRequestHandlers), 0u);
#else
  GTEST_SKIP() << "built without STRATA_BUILD_SERVER";
#endif
}

TEST(FuzzCorpusTest, Model) { EXPECT_GT(Replay("model", FuzzModel), 0u); }

TEST(FuzzCorpusTest, JsonQuote) { EXPECT_GT(Replay("json_quote", FuzzJsonQuote), 0u); }

// A corpus folder nobody replays would be a silently dead regression test.
TEST(FuzzCorpusTest, EveryCorpusFolderIsATarget) {
  const std::set<std::string> known = {"record_decode", "key_order", "request_handlers", "model",
                                       "json_quote"};
  for (const auto& d : fs::directory_iterator(kCorpus)) {
    EXPECT_TRUE(known.count(d.path().filename().string()) != 0) << d.path();
  }
}

}  // namespace
}  // namespace strata::fuzz
