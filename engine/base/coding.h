// Fixed-width integers as big-endian bytes, so that byte order is numeric
// order in RocksDB keys (the log's and the projection store's). Thread-safe
// (pure functions).
#ifndef STRATA_ENGINE_BASE_CODING_H_
#define STRATA_ENGINE_BASE_CODING_H_

#include <cstdint>
#include <string>

namespace strata::internal {

inline void PutBigEndian64(std::string* out, uint64_t value) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(value & 0xFF);
    value >>= 8;
  }
  out->append(buf, 8);
}

inline uint64_t GetBigEndian64(const char* p) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

}  // namespace strata::internal

#endif  // STRATA_ENGINE_BASE_CODING_H_
