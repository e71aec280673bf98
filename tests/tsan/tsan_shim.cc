// strata_tsan_shim: ThreadSanitizer annotations for Debian's uninstrumented
// Abseil synchronization and RocksDB write path, preloaded (LD_PRELOAD) into
// the tests by scripts/tsan.sh. Built, uninstrumented itself, only when
// STRATA_SANITIZE=thread (tests/tsan/CMakeLists.txt, with its negative
// controls). Two jobs:
//  1. absl::Mutex, CondVar and Notification synchronize inside
//     libabsl_synchronization.so, invisible to TSan, so every access guarded
//     by an absl::Mutex would be reported as a race in our code. The shim wraps
//     their entry points with __tsan_acquire/__tsan_release (what Abseil does
//     when built with TSan), including the conditions Abseil evaluates for
//     Await/LockWhen.
//  2. RocksDB's write path copies concurrent writers' batches into one group on
//     the leader's thread (through std::string code that C++20 instantiates,
//     instrumented, in our binaries). The shim ignores memory accesses inside
//     rocksdb::DBImpl::WriteImpl (synchronization stays visible). The price:
//     our code called back from inside a write (a custom rocksdb::Env in the
//     fault-injection tests) is not checked under TSan.
// Each wrapper finds the definition it wraps with dlsym(RTLD_NEXT); the ctest
// TsanShim.WrapsOnlySymbolsDebianDefines checks every wrapped symbol exists.
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "rocksdb/status.h"

extern "C" {
// Weak: ctest itself (not TSan) also gets the preload.
void __tsan_acquire(void* addr) __attribute__((weak));
void __tsan_release(void* addr) __attribute__((weak));
void __tsan_ignore_thread_begin() __attribute__((weak));
void __tsan_ignore_thread_end() __attribute__((weak));
}

namespace {

void Acquire(const void* p) {
  if (__tsan_acquire != nullptr) __tsan_acquire(const_cast<void*>(p));
}
void Release(const void* p) {
  if (__tsan_release != nullptr) __tsan_release(const_cast<void*>(p));
}

[[noreturn]] void Die(const char* what, const char* name) {
  std::fprintf(stderr, "strata tsan shim: %s %s\n", what, name != nullptr ? name : "?");
  std::abort();
}

// The definition this shim wraps: the next one with our own symbol's name.
template <typename Fn, typename Member>
Fn Next(Member member) {
  void* self = nullptr;
  std::memcpy(&self, &member, sizeof(self));  // a non-virtual member: its address first
  Dl_info info;
  if (dladdr(self, &info) == 0 || info.dli_sname == nullptr) Die("no symbol for", nullptr);
  void* next = dlsym(RTLD_NEXT, info.dli_sname);
  if (next == nullptr) Die("nothing to wrap for", info.dli_sname);
  return reinterpret_cast<Fn>(next);
}

// The mutex whose conditions this thread may evaluate: Abseil evaluates a
// waiter's Condition inside its own code, while holding the mutex, on the
// waiter's thread or on the unlocking one.
thread_local const absl::Mutex* tl_mutex = nullptr;
struct Holding {
  explicit Holding(const absl::Mutex* mu) : prev(tl_mutex) { tl_mutex = mu; }
  ~Holding() { tl_mutex = prev; }
  const absl::Mutex* prev;
};

}  // namespace

#define NEXT(type, member) static const auto next = Next<type>(member)

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  NEXT(void (*)(Mutex*), &Mutex::Lock);
  {
    Holding h(this);
    next(this);
  }
  Acquire(this);
}
void Mutex::ReaderLock() {
  NEXT(void (*)(Mutex*), &Mutex::ReaderLock);
  {
    Holding h(this);
    next(this);
  }
  Acquire(this);
}
bool Mutex::TryLock() {
  NEXT(bool (*)(Mutex*), &Mutex::TryLock);
  Holding h(this);
  const bool locked = next(this);
  if (locked) Acquire(this);
  return locked;
}
bool Mutex::ReaderTryLock() {
  NEXT(bool (*)(Mutex*), &Mutex::ReaderTryLock);
  Holding h(this);
  const bool locked = next(this);
  if (locked) Acquire(this);
  return locked;
}
void Mutex::Unlock() {
  NEXT(void (*)(Mutex*), &Mutex::Unlock);
  Release(this);
  Holding h(this);
  next(this);
}
void Mutex::ReaderUnlock() {
  NEXT(void (*)(Mutex*), &Mutex::ReaderUnlock);
  Release(this);
  Holding h(this);
  next(this);
}
void Mutex::LockWhen(const Condition& c) {
  NEXT(void (*)(Mutex*, const Condition&), &Mutex::LockWhen);
  {
    Holding h(this);
    next(this, c);
  }
  Acquire(this);
}
void Mutex::ReaderLockWhen(const Condition& c) {
  NEXT(void (*)(Mutex*, const Condition&), &Mutex::ReaderLockWhen);
  {
    Holding h(this);
    next(this, c);
  }
  Acquire(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& c, Duration t) {
  NEXT(bool (*)(Mutex*, const Condition&, Duration), &Mutex::LockWhenWithTimeout);
  bool r;
  {
    Holding h(this);
    r = next(this, c, t);
  }
  Acquire(this);
  return r;
}
bool Mutex::LockWhenWithDeadline(const Condition& c, Time t) {
  NEXT(bool (*)(Mutex*, const Condition&, Time), &Mutex::LockWhenWithDeadline);
  bool r;
  {
    Holding h(this);
    r = next(this, c, t);
  }
  Acquire(this);
  return r;
}
void Mutex::Await(const Condition& c) {
  NEXT(void (*)(Mutex*, const Condition&), &Mutex::Await);
  Release(this);
  {
    Holding h(this);
    next(this, c);
  }
  Acquire(this);
}
bool Mutex::AwaitWithTimeout(const Condition& c, Duration t) {
  NEXT(bool (*)(Mutex*, const Condition&, Duration), &Mutex::AwaitWithTimeout);
  Release(this);
  bool r;
  {
    Holding h(this);
    r = next(this, c, t);
  }
  Acquire(this);
  return r;
}
bool Mutex::AwaitWithDeadline(const Condition& c, Time t) {
  NEXT(bool (*)(Mutex*, const Condition&, Time), &Mutex::AwaitWithDeadline);
  Release(this);
  bool r;
  {
    Holding h(this);
    r = next(this, c, t);
  }
  Acquire(this);
  return r;
}
bool Condition::Eval() const {
  NEXT(bool (*)(const Condition*), &Condition::Eval);
  const Mutex* mu = tl_mutex;  // held by this thread while Abseil evaluates
  if (mu != nullptr) Acquire(mu);
  const bool r = next(this);
  if (mu != nullptr) Release(mu);
  return r;
}
void CondVar::Wait(Mutex* mu) {
  NEXT(void (*)(CondVar*, Mutex*), &CondVar::Wait);
  Release(mu);
  {
    Holding h(mu);
    next(this, mu);
  }
  Acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, Duration t) {
  NEXT(bool (*)(CondVar*, Mutex*, Duration), &CondVar::WaitWithTimeout);
  Release(mu);
  bool r;
  {
    Holding h(mu);
    r = next(this, mu, t);
  }
  Acquire(mu);
  return r;
}
bool CondVar::WaitWithDeadline(Mutex* mu, Time t) {
  NEXT(bool (*)(CondVar*, Mutex*, Time), &CondVar::WaitWithDeadline);
  Release(mu);
  bool r;
  {
    Holding h(mu);
    r = next(this, mu, t);
  }
  Acquire(mu);
  return r;
}
void Notification::Notify() {
  NEXT(void (*)(Notification*), &Notification::Notify);
  Release(this);
  Release(&notified_yet_);  // HasBeenNotified() is an inline acquire load of it
  next(this);
}
void Notification::WaitForNotification() const {
  NEXT(void (*)(const Notification*), &Notification::WaitForNotification);
  next(this);
  Acquire(this);
}
bool Notification::WaitForNotificationWithTimeout(Duration t) const {
  NEXT(bool (*)(const Notification*, Duration), &Notification::WaitForNotificationWithTimeout);
  const bool r = next(this, t);
  if (r) Acquire(this);
  return r;
}
bool Notification::WaitForNotificationWithDeadline(Time t) const {
  NEXT(bool (*)(const Notification*, Time), &Notification::WaitForNotificationWithDeadline);
  const bool r = next(this, t);
  if (r) Acquire(this);
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl

// rocksdb::DBImpl::WriteImpl (internal; every Write/Put/Delete goes through
// it, called via the PLT inside librocksdb): a group's leader copies the
// other writers' batches. Ignore the memory accesses made inside it.
#define STRATA_WRITE_IMPL \
  _ZN7rocksdb6DBImpl9WriteImplERKNS_12WriteOptionsEPNS_10WriteBatchEPNS_13WriteCallbackEPmmbS8_mPNS_18PreReleaseCallbackEPNS_20PostMemTableCallbackE
#define STRATA_STR2(x) #x
#define STRATA_STR(x) STRATA_STR2(x)
using WriteImplFn = rocksdb::Status (*)(void*, const void*, void*, void*, uint64_t*, uint64_t, bool,
                                        uint64_t*, size_t, void*, void*);
extern "C" rocksdb::Status STRATA_WRITE_IMPL(void* self, const void* options, void* batch,
                                             void* callback, uint64_t* log_used, uint64_t log_ref,
                                             bool disable_memtable, uint64_t* seq_used,
                                             size_t batch_cnt, void* pre_release,
                                             void* post_memtable) {
  static const auto next =
      reinterpret_cast<WriteImplFn>(dlsym(RTLD_NEXT, STRATA_STR(STRATA_WRITE_IMPL)));
  if (next == nullptr) Die("nothing to wrap for", STRATA_STR(STRATA_WRITE_IMPL));
  if (__tsan_ignore_thread_begin != nullptr) __tsan_ignore_thread_begin();
  rocksdb::Status s = next(self, options, batch, callback, log_used, log_ref, disable_memtable,
                           seq_used, batch_cnt, pre_release, post_memtable);
  if (__tsan_ignore_thread_end != nullptr) __tsan_ignore_thread_end();
  return s;
}
