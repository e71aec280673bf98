// Strata's fuzz targets as plain functions, so the same entry logic runs in
// the libFuzzer binaries (tests/fuzz/CMakeLists.txt, clang only) and in the
// GoogleTest fuzz_corpus_test that replays every committed corpus file in the
// normal build (tests/fuzz/corpus_test.cmake). Each returns 0 and aborts with
// a message (STRATA_FUZZ_CHECK) when a property does not hold.
//
// Thread-safety: the functions are called from one thread at a time (libFuzzer
// and the replay test are single-threaded); FuzzModel keeps one scratch
// directory per process.
#ifndef STRATA_TESTS_FUZZ_FUZZ_TARGETS_H_
#define STRATA_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace strata::fuzz {

// DecodeRecord on arbitrary bytes: DATA_LOSS or a record that re-encodes to
// the same fields; decoded records are folded by the link projections.
int FuzzRecordDecode(const uint8_t* data, size_t size);
// Key encoding: memcmp order of encoded keys equals the logical order.
int FuzzKeyOrder(const uint8_t* data, size_t size);
// The API's conversion and validation layers on arbitrary (parsed) requests.
// Built only with STRATA_BUILD_SERVER (it needs the generated protobuf code).
int FuzzRequestHandlers(const uint8_t* data, size_t size);
// A program of appends, reads, reopens and projection steps run against a
// real EventLog + ProjectionRuntime and an in-memory model, compared after
// every step.
int FuzzModel(const uint8_t* data, size_t size);

// JsonQuote on arbitrary bytes: always one valid JSON string; valid UTF-8
// round-trips exactly.
int FuzzJsonQuote(const uint8_t* data, size_t size);

// Prints where and why, then aborts (a crash libFuzzer records as a finding).
[[noreturn]] void Fail(const char* file, int line, const char* condition,
                       const std::string& message);

// Reads an input front to back; past the end every read is 0, so any input is
// a valid program.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), left_(size) {}
  bool empty() const { return left_ == 0; }
  size_t left() const { return left_; }
  uint8_t Byte() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  uint64_t U64() {  // big-endian, so seeds read naturally in a hex dump
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | Byte();
    return v;
  }
  // Up to `max` bytes, length given by the next byte.
  std::string String(size_t max) {
    size_t n = Byte();
    if (n > max) n = max;
    if (n > left_) n = left_;
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
    return s;
  }
  std::string Rest() {
    std::string s(reinterpret_cast<const char*>(p_), left_);
    p_ += left_;
    left_ = 0;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t left_;
};

}  // namespace strata::fuzz

#define STRATA_FUZZ_CHECK(condition, ...)                                              \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      ::strata::fuzz::Fail(__FILE__, __LINE__, #condition, ::absl::StrCat(__VA_ARGS__)); \
    }                                                                                  \
  } while (0)

#endif  // STRATA_TESTS_FUZZ_FUZZ_TARGETS_H_
