// SubscriptionHub (subscription_hub.h): Park, Unpark and Stop, and the hub
// thread that resumes subscriptions whose followers report events.
#include "server/subscription_hub.h"

#include <algorithm>
#include <vector>

#include "engine/base/thread_name.h"

namespace strata::server {

SubscriptionHub::SubscriptionHub() {
  thread_ = std::thread([this] {
    SetThreadName("strata-hub");
    Loop();
  });
}

SubscriptionHub::~SubscriptionHub() { Stop(); }

void SubscriptionHub::Park(Parkable* p) {
  bool parked = false;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) parked = parked_.insert(p).second;
  }
  if (!parked) {
    p->Close();
    p->Unref();
    return;
  }
  // Runs at once when events arrived meanwhile, else on the log's writer
  // thread after the commit that moves the head past the cursor. (The caller
  // holds a reference of its own, so `p` outlives this call even when Stop
  // or Unpark takes it back meanwhile; Ready then finds it gone.)
  p->follower().NotifyWhenReady([this, p] { Ready(p); });
}

void SubscriptionHub::Ready(Parkable* p) {
  absl::MutexLock lock(&mu_);
  if (parked_.erase(p) > 0) ready_.push_back(p);
}

bool SubscriptionHub::Unpark(Parkable* p) {
  p->follower().Disarm();  // no Ready(p) runs after this
  absl::MutexLock lock(&mu_);
  if (parked_.erase(p) > 0) return true;
  auto it = std::find(ready_.begin(), ready_.end(), p);
  if (it == ready_.end()) return false;
  ready_.erase(it);
  return true;
}

void SubscriptionHub::Stop() {
  std::vector<Parkable*> taken;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    taken.assign(parked_.begin(), parked_.end());
    taken.insert(taken.end(), ready_.begin(), ready_.end());
    parked_.clear();
    ready_.clear();
  }
  if (thread_.joinable()) thread_.join();
  for (Parkable* p : taken) {
    p->follower().Disarm();
    p->Close();
    p->Unref();
  }
}

void SubscriptionHub::Loop() {
  while (true) {
    Parkable* p = nullptr;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SubscriptionHub* self)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return !self->ready_.empty() || self->stopped_; },
          this));
      if (stopped_) return;
      p = ready_.front();
      ready_.pop_front();
    }
    p->Resume();
    p->Unref();
  }
}

}  // namespace strata::server
