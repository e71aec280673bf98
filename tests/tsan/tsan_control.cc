// tsan_control: the negative controls of the TSan setup (tests/tsan/
// CMakeLists.txt). argv[1] == "race": thread B reads without the mutex thread
// A wrote under, which TSan must report; otherwise both hold it (and B waits
// with Await), which it must not, with the shim preloaded.
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"
int main(int argc, char** argv) {
  const bool race = argc > 1 && std::strcmp(argv[1], "race") == 0;
  absl::Mutex mu;
  int value = 0;
  bool ready = false;
  std::thread a([&] {
    absl::MutexLock l(&mu);
    value = 42;
    ready = true;
  });
  std::thread b([&] {
    if (race) {
      volatile int v = value;
      (void)v;
      return;
    }
    absl::MutexLock l(&mu);
    mu.Await(absl::Condition(&ready));
    volatile int v = value;
    (void)v;
  });
  a.join();
  b.join();
  return 0;
}
