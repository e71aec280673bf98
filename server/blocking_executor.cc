// BlockingExecutor (blocking_executor.h): the worker loop, Schedule, which
// adds a thread when none is idle (up to threads_max), and Stop.
#include "server/blocking_executor.h"

#include "engine/base/thread_name.h"

namespace strata::server {

BlockingExecutor::BlockingExecutor(int threads, int threads_max) : threads_max_(threads_max) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      SetThreadName("strata-blocking");
      Loop();
    });
}

BlockingExecutor::~BlockingExecutor() { Stop(); }

void BlockingExecutor::Schedule(std::function<void()> task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(std::move(task));
      // Every thread busy (some may be waiting out a deadline): one more.
      if (idle_ < static_cast<int>(queue_.size()) &&
          static_cast<int>(threads_.size()) < threads_max_) {
        threads_.emplace_back([this] {
          SetThreadName("strata-blocking");
          Loop();
        });
      }
      return;
    }
  }
  task();
}

void BlockingExecutor::Stop() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
}

void BlockingExecutor::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(
          +[](BlockingExecutor* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !self->queue_.empty() || self->stopping_;
          },
          this));
      --idle_;
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace strata::server
