// Test hooks: the test build's definition of HookPoint (engine/base/hook_point.h).
// Linked only into test binaries (CMake target strata::test_hooks, an object
// library, so its strong definition replaces the engine's empty weak one);
// a release binary contains none of this.
//
// A test arms a point in one of two ways:
//  - STRATA_CRASH_POINT=<name> (exit at the first hit of <name>) or
//    <name>@<n> (at the n-th hit, 1-based), read once: the process then calls
//    _exit(kCrashPointExitCode) without running any destructor or flushing
//    anything, as kill -9 would;
//  - a ScopedHook, which runs a callback at every hit while it lives.
//
// Thread-safety: HookPoint and ScopedHook are thread-safe; the check when
// nothing is armed is two relaxed atomic loads.
#ifndef STRATA_ENGINE_TESTING_TEST_HOOKS_H_
#define STRATA_ENGINE_TESTING_TEST_HOOKS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace strata::testing {

inline constexpr int kCrashPointExitCode = 86;

// Every point of engine/base/hook_point.h, so a test can require each to be
// reached.
inline constexpr std::array<const char*, 7> kCrashPoints = {
    "append.before_write",
    "append.after_write",
    "append.after_ack",
    "projection.before_commit",
    "projection.after_commit",
    "projection.cutover.after_catalog",
    "recovery.after_open",
};

// Runs `callback` (on the thread that hits the point) at every hit of the
// point `name` while this object lives.
class ScopedHook {
 public:
  ScopedHook(std::string name, std::function<void()> callback);
  ~ScopedHook();
  ScopedHook(const ScopedHook&) = delete;
  ScopedHook& operator=(const ScopedHook&) = delete;

 private:
  uint64_t id_;
};

}  // namespace strata::testing

#endif  // STRATA_ENGINE_TESTING_TEST_HOOKS_H_
