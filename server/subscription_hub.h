// SubscriptionHub: where caught-up subscriptions wait for the head to move.
// A subscription parks with its engine Follower; the hub resumes it on its
// own thread once the log's writer reports that the follower has events. No
// polling. Thread-safe.
#ifndef STRATA_SERVER_SUBSCRIPTION_HUB_H_
#define STRATA_SERVER_SUBSCRIPTION_HUB_H_

#include <atomic>
#include <deque>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "engine/log_cursor.h"

namespace strata::server {

// A live subscription parked until its follower has events.
class Parkable {
 public:
  virtual ~Parkable() = default;
  virtual Follower& follower() = 0;
  virtual void Resume() = 0;  // called on the hub thread
  virtual void Close() = 0;   // ends it with a clear status: the hub is stopping
  virtual void Unref() = 0;   // drops the reference taken by Park
};

// Open streamed calls (reads and subscriptions, both protocols) and the
// payload bytes they hold read and not yet sent; kept by EventWriter.
struct StreamingStats {
  std::atomic<int64_t> open_subscriptions{0};
  std::atomic<int64_t> queued_bytes{0};
};

// Resumes parked subscriptions on one thread of its own once the log's writer
// reports, through their followers, that the head passed their cursor. No
// polling: the thread sleeps until a follower wakes it or Stop.
class SubscriptionHub {
 public:
  SubscriptionHub();
  ~SubscriptionHub();  // calls Stop()
  // Holds `p` (which has taken a reference for the hub) until its follower is
  // ready, then calls Resume and Unref on the hub thread.
  void Park(Parkable* p);
  // Takes `p` back if it is parked or about to resume: true when it was (the
  // caller then owns the hub's reference). Call without holding p's locks.
  bool Unpark(Parkable* p);
  // Stops the thread and ends every parked subscription (and any parked
  // later) with UNAVAILABLE.
  void Stop();

  StreamingStats& stats() { return stats_; }
  const StreamingStats& stats() const { return stats_; }

 private:
  void Ready(Parkable* p);  // from a follower, on the log's writer thread
  void Loop();
  StreamingStats stats_;
  absl::Mutex mu_;
  absl::flat_hash_set<Parkable*> parked_ ABSL_GUARDED_BY(mu_);
  std::deque<Parkable*> ready_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_SUBSCRIPTION_HUB_H_
