// Size limits checked on every append before anything is written.
#ifndef STRATA_ENGINE_LIMITS_H_
#define STRATA_ENGINE_LIMITS_H_

#include <cstddef>

namespace strata {

inline constexpr size_t kStreamNameBytesMax = 256;
inline constexpr size_t kEventTypeBytesMax = 256;
inline constexpr size_t kContentTypeBytesMax = 256;
inline constexpr size_t kEventBytesMaxDefault = 1 << 20;          // 1 MiB
inline constexpr size_t kEventsPerAppendMaxDefault = 10'000;
inline constexpr size_t kAppendBytesMaxDefault = 64 << 20;        // 64 MiB

// The limits an EventLog enforces. Stream-name and type limits are fixed
// (they are part of the key format); the others are options.
struct Limits {
  // Largest event: data + metadata + type + content type. Default: 1 MiB.
  size_t event_bytes_max = kEventBytesMaxDefault;
  // Most events in one Append call. Default: 10,000.
  size_t events_per_append_max = kEventsPerAppendMaxDefault;
  // Largest Append call, all events together. Default: 64 MiB.
  size_t append_bytes_max = kAppendBytesMaxDefault;
};

}  // namespace strata

#endif  // STRATA_ENGINE_LIMITS_H_
