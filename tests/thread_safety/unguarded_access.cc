// Negative control for scripts/thread_safety.sh: a member guarded by an
// absl::Mutex written without holding it. clang -Wthread-safety -Werror must
// refuse to compile this file; if it compiles, the check is not running.
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

class Counter {
 public:
  void Add() { ++value_; }  // mu_ is not held

 private:
  absl::Mutex mu_;
  int value_ ABSL_GUARDED_BY(mu_) = 0;
};

int main() {
  Counter c;
  c.Add();
  return 0;
}
