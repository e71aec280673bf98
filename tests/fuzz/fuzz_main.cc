// libFuzzer entry point of one target; STRATA_FUZZ_ENTRY names its function
// (tests/fuzz/CMakeLists.txt builds one binary per target from this file).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ::strata::fuzz::STRATA_FUZZ_ENTRY(data, size);
}
