// The test build's HookPoint: environment-armed crash points and scoped
// callbacks (test_hooks.h).
#include "engine/testing/test_hooks.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine/base/hook_point.h"

namespace strata {
namespace testing {
namespace {

struct ArmedCrash {
  std::string name;
  long long due = 1;
  std::atomic<long long> hits{0};
};

ArmedCrash* LoadArmedCrash() {
  const char* spec = std::getenv("STRATA_CRASH_POINT");
  if (spec == nullptr || *spec == '\0') return nullptr;
  auto* armed = new ArmedCrash();  // lives for the process
  const char* at = std::strchr(spec, '@');
  if (at == nullptr) {
    armed->name = spec;
  } else {
    armed->name.assign(spec, at - spec);
    armed->due = std::max(1LL, std::atoll(at + 1));
  }
  return armed;
}

struct Callback {
  uint64_t id;
  std::string name;
  std::function<void()> fn;
};

// Never destroyed: a hook may be hit by a thread still running at exit.
struct Registry {
  absl::Mutex mu;
  std::vector<Callback> callbacks ABSL_GUARDED_BY(mu);
  uint64_t next_id ABSL_GUARDED_BY(mu) = 1;
  std::atomic<int> count{0};
};

Registry& GetRegistry() {
  static auto* registry = new Registry();
  return *registry;
}

}  // namespace

ScopedHook::ScopedHook(std::string name, std::function<void()> callback) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  id_ = r.next_id++;
  r.callbacks.push_back({id_, std::move(name), std::move(callback)});
  r.count.fetch_add(1);
}

ScopedHook::~ScopedHook() {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  std::erase_if(r.callbacks, [this](const Callback& c) { return c.id == id_; });
  r.count.fetch_sub(1);
}

}  // namespace testing

void HookPoint(const char* name) {
  static testing::ArmedCrash* const armed = testing::LoadArmedCrash();
  if (armed != nullptr && armed->name == name &&
      armed->hits.fetch_add(1) + 1 >= armed->due) {
    _exit(testing::kCrashPointExitCode);
  }
  testing::Registry& r = testing::GetRegistry();
  if (r.count.load(std::memory_order_relaxed) == 0) return;
  absl::MutexLock lock(&r.mu);
  for (const testing::Callback& c : r.callbacks) {
    if (c.name == name) c.fn();
  }
}

}  // namespace strata
