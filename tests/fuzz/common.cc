#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_targets.h"

namespace strata::fuzz {

void Fail(const char* file, int line, const char* condition, const std::string& message) {
  std::fprintf(stderr, "\nstrata fuzz check failed at %s:%d: %s\n  %s\n", file, line, condition,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace strata::fuzz
