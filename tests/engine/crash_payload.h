// Shared by crash_child.cc and crash_test.cc: the event data the crash child
// stores for an event id (10-500 bytes derived from the id), so that the test
// can check the bytes of every recovered event without the child reporting
// them, and the line format of the child's acknowledgements. Header-only,
// thread-safe (no shared state).
#ifndef STRATA_TESTS_ENGINE_CRASH_PAYLOAD_H_
#define STRATA_TESTS_ENGINE_CRASH_PAYLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/event.h"

namespace strata::crashtest {

inline constexpr char kEventType[] = "CrashTestEvent";
inline constexpr char kContentType[] = "application/octet-stream";
inline constexpr size_t kDataBytesMin = 10;
inline constexpr size_t kDataBytesMax = 500;

// The data stored with event `id`: kDataBytesMin..kDataBytesMax pseudo-random
// bytes from a splitmix64 sequence seeded by the id (cheap enough to recompute
// for every stored event on every check).
inline std::string PayloadFor(const EventId& id) {
  uint64_t state = 0;
  for (uint8_t b : id.bytes) state = state * 0x100000001b3ULL + b;
  auto next = [&state]() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const size_t size = kDataBytesMin + next() % (kDataBytesMax - kDataBytesMin + 1);
  std::string data(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t r = next();
    for (size_t j = 0; j < 8 && i + j < size; ++j) data[i + j] = static_cast<char>(r >> (8 * j));
  }
  return data;
}

}  // namespace strata::crashtest

#endif  // STRATA_TESTS_ENGINE_CRASH_PAYLOAD_H_
