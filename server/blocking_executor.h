// BlockingExecutor: threads for the server's methods that may
// block (queries that wait for a read model to reach min_position, admin
// calls that write the catalog), so gRPC's own callback threads never wait
// on them. It replaces gRPC's sync-server thread pool, whose dispatch added
// recurring ~100 ms delays to fast queries (strata_load: GetLinkAnalytics max
// 101 ms while the handler itself never took 30 ms).
//
// Starts with `threads` threads and adds one whenever a task arrives with
// none idle, up to `threads_max`: queries waiting for min_position hold
// their thread until their deadline and must not hold up other calls.
//
// Thread-safe. Stop runs what is queued, then joins; Schedule after Stop
// runs the task on the caller's thread.
#ifndef STRATA_SERVER_BLOCKING_EXECUTOR_H_
#define STRATA_SERVER_BLOCKING_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace strata::server {

class BlockingExecutor {
 public:
  BlockingExecutor(int threads, int threads_max);
  ~BlockingExecutor();  // Stop()
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  void Schedule(std::function<void()> task);
  void Stop();

 private:
  void Loop();

  const int threads_max_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting for a task
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::server

#endif  // STRATA_SERVER_BLOCKING_EXECUTOR_H_
