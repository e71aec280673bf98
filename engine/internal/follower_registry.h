// FollowerRegistry: the armed Followers of one EventLog (log_cursor.h), woken
// by the log's writer thread when a commit moves the head past their cursor.
// No thread of its own and no polling: Notify runs after each commit.
//
// Thread-safety: thread-safe. Callbacks run with the registry's lock held, so
// Disarm returning means no callback of that follower is running.
#ifndef STRATA_ENGINE_INTERNAL_FOLLOWER_REGISTRY_H_
#define STRATA_ENGINE_INTERNAL_FOLLOWER_REGISTRY_H_

#ifndef STRATA_ENGINE_INTERNALS
#error \
    "engine/internal/ is private to strata::engine (white-box tests link strata::engine_internals): include the engine's public headers"
#endif

#include <cstdint>
#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "engine/event.h"

namespace strata::internal {

class FollowerRegistry {
 public:
  // `head` reads the log's published head.
  explicit FollowerRegistry(std::function<GlobalPosition()> head) : head_(std::move(head)) {}

  // Replaces the call armed under `*id` (0: none) by `*ready` (moved from),
  // to run once the head passes `cursor`. Returns false, arming nothing and
  // leaving `*ready` as it was, when it already has: the caller runs it.
  // A call must not arm or disarm a follower (the lock is not reentrant).
  bool Arm(uint64_t* id, GlobalPosition cursor, std::function<void()>* ready);
  // Cancels the call armed under `*id`, if any, and sets it to 0.
  void Disarm(uint64_t* id);
  // Runs and removes every armed call whose cursor is below `head`. Called by
  // the writer thread after it published `head`.
  void Notify(GlobalPosition head);

 private:
  struct Armed {
    uint64_t* id;  // the follower's slot, cleared when the call runs
    std::function<void()> ready;
  };
  using ByCursor = std::multimap<GlobalPosition, Armed>;

  // Removes the call armed under `*id`, if any, and sets it to 0.
  void EraseLocked(uint64_t* id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<GlobalPosition()> head_;
  absl::Mutex mu_;
  ByCursor by_cursor_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, ByCursor::iterator> by_id_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace strata::internal

#endif  // STRATA_ENGINE_INTERNAL_FOLLOWER_REGISTRY_H_
