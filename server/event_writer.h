// EventWriter: the server-streaming reactor that sends the log's events to a
// client, shared by Strata's Streams service and the KurrentDB protocol. It
// reads pages from a LogCursor (a finite read) or a Follower (a subscription:
// caught up once it first runs dry, then parked on the SubscriptionHub until
// the head moves), and an Encoder turns buffered events into messages.
//
// The next page is read while the previous message is being written, so a
// reader that keeps up never waits for the log; a stalled one holds one
// message in flight and one page buffered. No log read runs while the
// reactor's lock is held.
#ifndef STRATA_SERVER_EVENT_WRITER_H_
#define STRATA_SERVER_EVENT_WRITER_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "api/grpc_status.h"
#include "engine/log_cursor.h"
#include "grpcpp/grpcpp.h"
#include "server/subscription_hub.h"

namespace strata::server {

// Events fetched per read from the log, and their payload bytes (the read
// stops after the event that reaches it).
inline constexpr size_t kPageEventsMax = 1024;
inline constexpr size_t kPageBytesMax = 256 << 10;
// Read-ahead stops while the buffer holds this many events or payload bytes
// (one message of Strata's Streams service, strata.proto).
inline constexpr size_t kBufferEventsMax = 1024;
inline constexpr size_t kBufferBytesMax = 256 << 10;

// What an Encoder provides (duck-typed; see StreamsService's and the
// KurrentDB service's):
//   // A message to send before any event (false: none).
//   bool Prologue(Response* m);
//   // Called with each page as read, before it is buffered: may drop events
//   // (filters) or add markers the encoder recognises in Fill; returns true
//   // when the read is complete after this page (a count reached).
//   bool Accept(std::vector<RecordedEvent>* page);
//   // Moves at least one event (or marker) from the front of the non-empty
//   // `buffer` into `m`, subtracting their payload_bytes from *bytes.
//   void Fill(std::deque<RecordedEvent>* buffer, size_t* bytes, Response* m);
//   // The message that says a subscription has caught up at `cursor`, sent
//   // once (false: none).
//   bool CaughtUp(GlobalPosition cursor, Response* m);
//
// Locking: mu_ guards the reactor's state; StartWrite and Finish are called
// with it held, so a Finish (from OnCancel or Close) can never slip between
// deciding to write and the write itself: after Finish, gRPC may run OnDone
// and free the call. gRPC never runs OnWriteDone or a write reactor's OnDone
// inline (their tags are not inlineable), so holding mu_ cannot deadlock.
// Reading the log happens outside mu_, one read at a time (fetching_).
template <typename Response, typename Encoder>
class EventWriter : public grpc::ServerWriteReactor<Response>, public Parkable {
 public:
  EventWriter(LogCursor cursor, SubscriptionHub* hub, Encoder encoder = {})
      : cursor_(std::move(cursor)), hub_(hub), encoder_(std::move(encoder)) {
    hub_->stats().open_subscriptions.fetch_add(1, std::memory_order_relaxed);
  }
  EventWriter(std::unique_ptr<Follower> follower, SubscriptionHub* hub, Encoder encoder = {})
      : follower_(std::move(follower)), hub_(hub), encoder_(std::move(encoder)) {
    hub_->stats().open_subscriptions.fetch_add(1, std::memory_order_relaxed);
  }
  ~EventWriter() override {
    hub_->stats().open_subscriptions.fetch_sub(1, std::memory_order_relaxed);
    hub_->stats().queued_bytes.fetch_sub(static_cast<int64_t>(reported_bytes_),
                                         std::memory_order_relaxed);
  }

  void Start() { Pump(Cause::kStart); }

  Follower& follower() override { return *follower_; }
  void Resume() override { Pump(Cause::kResume); }
  void Close() override {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "server is shutting down; resubscribe after the last position seen"));
  }
  void Unref() override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void OnWriteDone(bool ok) override {
    if (ok) {
      Pump(Cause::kWriteDone);
    } else {  // the call is ending: OnCancel/OnDone follow
      absl::MutexLock lock(&mu_);
      writing_ = false;
    }
  }
  void OnCancel() override {
    FinishOnce(grpc::Status::CANCELLED);
    // A parked subscription holds the hub's reference: take it back now
    // rather than when the next event arrives.
    if (follower_ != nullptr && hub_->Unpark(this)) Unref();
  }
  void OnDone() override { Unref(); }

 private:
  void FinishOnce(const grpc::Status& status) {
    refs_.fetch_add(1);  // keeps `this` alive until the lock is released
    {
      absl::MutexLock lock(&mu_);
      FinishLocked(status);
    }
    Unref();
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  enum class Step { kDone, kFetch, kPark };

  enum class Cause { kStart, kResume, kWriteDone };

  // Runs the next steps until there is nothing to do now. What caused the
  // call (a write done, the head moved) and the decision that follows are
  // made under one lock, as are a read's result and the decision after it:
  // two Pumps racing (a write completing during a read) can never both take
  // the same step (e.g. park twice).
  void Pump(Cause cause) {
    refs_.fetch_add(1);
    Step step;
    {
      absl::MutexLock lock(&mu_);
      if (cause == Cause::kWriteDone) writing_ = false;
      if (cause == Cause::kResume) dry_ = false;
      if (cause == Cause::kStart && encoder_.Prologue(&message_)) {
        writing_ = true;
        this->StartWrite(&message_);
      }
      step = NextStepLocked();
      if (step == Step::kFetch) fetching_ = true;
    }
    while (step == Step::kFetch) {
      std::vector<RecordedEvent> page;
      const absl::Status s = cursor_.has_value()
                                 ? cursor_->Next(kPageEventsMax, &page, kPageBytesMax)
                                 : follower_->Next(kPageEventsMax, &page, kPageBytesMax);
      const bool empty = page.empty();
      const bool complete = s.ok() && encoder_.Accept(&page);
      absl::MutexLock lock(&mu_);
      fetching_ = false;
      if (!s.ok()) {
        FinishLocked(api::ToGrpc(s));
        step = Step::kDone;
        break;
      }
      for (RecordedEvent& e : page) {
        buffered_bytes_ += e.payload_bytes();
        buffer_.push_back(std::move(e));
      }
      ReportBytesLocked();
      end_ = complete || (cursor_.has_value() && cursor_->done());
      dry_ = empty && !end_;  // a subscription at the head
      step = NextStepLocked();
      if (step == Step::kFetch) fetching_ = true;
    }
    if (step == Step::kPark) {
      refs_.fetch_add(1);  // the hub's, dropped by the hub after Resume
      hub_->Park(this);
      // A cancel between the decision and Park found nothing to take back:
      // take it back now rather than when the next event arrives.
      bool finished;
      {
        absl::MutexLock lock(&mu_);
        finished = finished_;
      }
      if (finished && hub_->Unpark(this)) Unref();
    }
    Unref();
  }

  // Starts the next write or the finish, and says what to do next: read the
  // next page (also while a write is under way), park until the head moves (a
  // caught-up subscription), or nothing until a write or read completes.
  Step NextStepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return Step::kDone;
    if (!writing_ && !buffer_.empty()) {
      encoder_.Fill(&buffer_, &buffered_bytes_, &message_);
      ReportBytesLocked();
      writing_ = true;
      this->StartWrite(&message_);
    }
    // From here on, events left in the buffer mean a write is under way.
    // Read ahead while the buffer holds less than a full message.
    if (fetching_ || buffer_.size() >= kBufferEventsMax || buffered_bytes_ >= kBufferBytesMax) {
      return Step::kDone;
    }
    if (end_) {
      if (!writing_) FinishLocked(grpc::Status::OK);
      return Step::kDone;
    }
    if (!dry_) return Step::kFetch;
    if (writing_) return Step::kDone;
    if (!caught_up_sent_ && encoder_.CaughtUp(follower_->cursor(), &message_)) {
      caught_up_sent_ = true;
      writing_ = true;
      this->StartWrite(&message_);
      return Step::kDone;
    }
    return Step::kPark;
  }

  // Brings the hub's count of queued bytes up to date with buffer_.
  void ReportBytesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    hub_->stats().queued_bytes.fetch_add(
        static_cast<int64_t>(buffered_bytes_) - static_cast<int64_t>(reported_bytes_),
        std::memory_order_relaxed);
    reported_bytes_ = buffered_bytes_;
  }

  // Exactly one of the two is set. Used by one fetch at a time.
  std::optional<LogCursor> cursor_;
  std::unique_ptr<Follower> follower_;
  SubscriptionHub* hub_;
  // Accept runs during a fetch (one at a time, outside mu_) and may overlap
  // Fill; the rest run under mu_. Accept and Fill must share no mutable state.
  Encoder encoder_;
  std::atomic<int> refs_{1};  // gRPC's, dropped in OnDone; the hub's while parked
  absl::Mutex mu_;
  std::deque<RecordedEvent> buffer_ ABSL_GUARDED_BY(mu_);
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // payload bytes in buffer_
  size_t reported_bytes_ = 0;  // counted in the hub's stats (under mu_, or at destruction)
  Response message_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool end_ ABSL_GUARDED_BY(mu_) = false;
  bool dry_ ABSL_GUARDED_BY(mu_) = false;
  bool caught_up_sent_ ABSL_GUARDED_BY(mu_) = false;
};

// A server-streaming call that ends at once with `status`.
template <typename Response>
grpc::ServerWriteReactor<Response>* Reject(const grpc::Status& status) {
  class Rejected : public grpc::ServerWriteReactor<Response> {
   public:
    explicit Rejected(const grpc::Status& s) { this->Finish(s); }
    void OnDone() override { delete this; }
  };
  return new Rejected(status);
}

template <typename Response>
grpc::ServerWriteReactor<Response>* Reject(const absl::Status& status) {
  return Reject<Response>(api::ToGrpc(status));
}

}  // namespace strata::server

#endif  // STRATA_SERVER_EVENT_WRITER_H_
