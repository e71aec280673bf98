// Read options of the engine's tests, built in one call.
#ifndef STRATA_TESTS_TESTUTIL_READ_OPTIONS_H_
#define STRATA_TESTS_TESTUTIL_READ_OPTIONS_H_

#include <cstdint>

#include "engine/event_log.h"

namespace strata::testing {

// A stream read from `from` (kReadFromEnd: the last version, backwards).
inline ReadStreamOptions StreamFrom(StreamVersion from,
                                    ReadDirection direction = ReadDirection::kForward,
                                    uint64_t max_count = UINT64_MAX) {
  ReadStreamOptions o;
  o.from_version = from;
  o.direction = direction;
  o.max_count = max_count;
  return o;
}

}  // namespace strata::testing

#endif  // STRATA_TESTS_TESTUTIL_READ_OPTIONS_H_
