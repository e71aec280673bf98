// SetThreadName: pthread_setname_np on Linux, whose limit is 16 bytes with
// the terminating NUL.
#include "engine/base/thread_name.h"

#include <pthread.h>

#include <string>

namespace strata {

void SetThreadName(absl::string_view name) {
#if defined(__linux__)
  const std::string truncated(name.substr(0, 15));
  pthread_setname_np(pthread_self(), truncated.c_str());
#else
  (void)name;
#endif
}

}  // namespace strata
