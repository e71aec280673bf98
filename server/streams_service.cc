#include "server/streams_service.h"

#include <algorithm>
#include <deque>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/base/validate.h"
#include "api/convert.h"
#include "api/grpc_status.h"

namespace strata::server {

using api::ToGrpc;

namespace {

using api::FromProto;
using api::ToProto;
using strata::v1::ReadAllResponse;
using strata::v1::ReadStreamResponse;
using strata::v1::SubscribeResponse;

// Events fetched per read from the log, and their payload bytes (the read
// stops after the event that reaches it).
constexpr size_t kPageEventsMax = 1024;
constexpr size_t kPageBytesMax = 256 << 10;
// One message's bounds (strata.proto): events, and payload bytes, which a
// single larger event may exceed.
constexpr int kMessageEventsMax = 1024;
constexpr size_t kMessageBytesMax = 256 << 10;

// Writes batches of events from a LogCursor (a finite read) or a Follower (a
// subscription: CaughtUp once it first runs dry, then parked on the hub until
// the head moves). The next page is read while the previous message is being
// written, so a reader that keeps up never waits for the log; a stalled one
// holds one message in flight and one page buffered.
//
// Locking: mu_ guards the reactor's state; StartWrite and Finish are called
// with it held, so a Finish (from OnCancel or Close) can never slip between
// deciding to write and the write itself: after Finish, gRPC may run OnDone
// and free the call. gRPC never runs OnWriteDone or a write reactor's OnDone
// inline (their tags are not inlineable), so holding mu_ cannot deadlock.
// Reading the log happens outside mu_, one read at a time (fetching_).
template <typename Response>
class EventWriter : public grpc::ServerWriteReactor<Response>, public Parkable {
 public:
  EventWriter(LogCursor cursor, SubscriptionHub* hub) : cursor_(std::move(cursor)), hub_(hub) {}
  EventWriter(std::unique_ptr<Follower> follower, SubscriptionHub* hub)
      : follower_(std::move(follower)), hub_(hub) {}

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
      step = NextStepLocked();
      if (step == Step::kFetch) fetching_ = true;
    }
    while (step == Step::kFetch) {
      std::vector<RecordedEvent> page;
      const absl::Status s = cursor_.has_value()
                                 ? cursor_->Next(kPageEventsMax, &page, kPageBytesMax)
                                 : follower_->Next(kPageEventsMax, &page, kPageBytesMax);
      absl::MutexLock lock(&mu_);
      fetching_ = false;
      if (!s.ok()) {
        FinishLocked(ToGrpc(s));
        step = Step::kDone;
        break;
      }
      for (RecordedEvent& e : page) {
        buffered_bytes_ += e.payload_bytes();
        buffer_.push_back(std::move(e));
      }
      end_ = cursor_.has_value() && cursor_->done();
      dry_ = page.empty() && !end_;  // a subscription at the head
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
      FillBatchLocked();
      writing_ = true;
      this->StartWrite(&message_);
    }
    // From here on, events left in the buffer mean a write is under way.
    // Read ahead while the buffer holds less than a full message.
    if (fetching_ || buffer_.size() >= kMessageEventsMax || buffered_bytes_ >= kMessageBytesMax) {
      return Step::kDone;
    }
    if (end_) {
      if (!writing_) FinishLocked(grpc::Status::OK);
      return Step::kDone;
    }
    if (!dry_) return Step::kFetch;
    if (writing_) return Step::kDone;
    if (!caught_up_sent_ && FillCaughtUp(&message_)) {
      caught_up_sent_ = true;
      writing_ = true;
      this->StartWrite(&message_);
      return Step::kDone;
    }
    return Step::kPark;
  }

  // Moves events from the buffer into message_, within the message bounds.
  void FillBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    message_.Clear();
    size_t bytes = 0;
    while (!buffer_.empty() && message_.events_size() < kMessageEventsMax) {
      RecordedEvent& e = buffer_.front();
      const size_t size = e.payload_bytes();
      if (message_.events_size() > 0 && bytes + size > kMessageBytesMax) break;
      bytes += size;
      buffered_bytes_ -= size;
      ToProto(std::move(e), message_.add_events());
      buffer_.pop_front();
    }
  }
  bool FillCaughtUp(ReadStreamResponse*) { return false; }
  bool FillCaughtUp(ReadAllResponse*) { return false; }
  bool FillCaughtUp(SubscribeResponse* m) {
    m->Clear();
    m->mutable_caught_up()->set_position(follower_->cursor());
    return true;
  }

  // Exactly one of the two is set. Used by one fetch at a time.
  std::optional<LogCursor> cursor_;
  std::unique_ptr<Follower> follower_;
  SubscriptionHub* hub_;
  std::atomic<int> refs_{1};  // gRPC's, dropped in OnDone; the hub's while parked
  absl::Mutex mu_;
  std::deque<RecordedEvent> buffer_ ABSL_GUARDED_BY(mu_);
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // payload bytes in buffer_
  Response message_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool end_ ABSL_GUARDED_BY(mu_) = false;
  bool dry_ ABSL_GUARDED_BY(mu_) = false;
  bool caught_up_sent_ ABSL_GUARDED_BY(mu_) = false;
};

template <typename Response>
grpc::ServerWriteReactor<Response>* Reject(const absl::Status& status) {
  class Rejected : public grpc::ServerWriteReactor<Response> {
   public:
    explicit Rejected(const grpc::Status& s) { this->Finish(s); }
    void OnDone() override { delete this; }
  };
  return new Rejected(ToGrpc(status));
}

absl::Status CheckPositionArg(const char* field, uint64_t value) {
  if (value == UINT64_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", value, " is not a position"));
  }
  return absl::OkStatus();
}

// A finite read: a reactor over `options`, or the error answer.
template <typename Response>
grpc::ServerWriteReactor<Response>* ReadWith(const EventLog& log, CursorOptions options,
                                             SubscriptionHub* hub) {
  absl::StatusOr<LogCursor> cursor = log.NewCursor(std::move(options));
  if (!cursor.ok()) return Reject<Response>(cursor.status());
  auto* writer = new EventWriter<Response>(std::move(*cursor), hub);
  writer->Start();
  return writer;
}

}  // namespace

// ---- SubscriptionHub ----

SubscriptionHub::SubscriptionHub() {
  thread_ = std::thread([this] { Loop(); });
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
          +[](SubscriptionHub* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !self->ready_.empty() || self->stopped_;
          },
          this));
      if (stopped_) return;
      p = ready_.front();
      ready_.pop_front();
    }
    p->Resume();
    p->Unref();
  }
}

// ---- Streams ----

StreamsService::StreamsService(EventLog* log, SubscriptionHub* hub,
                               std::vector<std::string> reserved_prefixes)
    : RpcService("Streams"),
      log_(log),
      hub_(hub),
      reserved_prefixes_(std::move(reserved_prefixes)) {
  AddCallbackUnary("Append", &StreamsService::Append);
  AddCallbackServerStreaming("ReadStream", &StreamsService::ReadStream);
  AddCallbackServerStreaming("ReadAll", &StreamsService::ReadAll);
  AddCallbackServerStreaming("Subscribe", &StreamsService::Subscribe);
}

grpc::ServerUnaryReactor* StreamsService::Append(grpc::CallbackServerContext* context,
                                                 const strata::v1::AppendRequest* request,
                                                 strata::v1::AppendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::StartsWith(request->stream(), "$")) {
    reactor->Finish(ToGrpc(absl::InvalidArgumentError(absl::StrCat(
        "stream: '", request->stream().substr(0, 64),
        "': names starting with '$' are reserved for the system's own streams"))));
    return reactor;
  }
  for (const std::string& prefix : reserved_prefixes_) {
    if (absl::StartsWith(request->stream(), prefix)) {
      reactor->Finish(ToGrpc(absl::InvalidArgumentError(absl::StrCat(
          "stream: '", request->stream().substr(0, 64), "' starts with '", prefix,
          "', which a domain service owns; write it through that service's commands"))));
      return reactor;
    }
  }
  absl::StatusOr<ExpectedVersion> expected = FromProto(request->expected_version());
  if (!expected.ok()) {
    reactor->Finish(ToGrpc(expected.status()));
    return reactor;
  }
  absl::StatusOr<std::vector<NewEvent>> events = FromProto(request->events());
  if (!events.ok()) {
    reactor->Finish(ToGrpc(events.status()));
    return reactor;
  }
  // Completes on the log's writer thread once the group is synced.
  log_->AppendAsync(request->stream(), *expected, std::move(*events),
                    [reactor, response](absl::StatusOr<AppendResult> result) {
                      if (!result.ok()) {
                        reactor->Finish(ToGrpc(result.status()));
                        return;
                      }
                      response->set_first_position(result->first_position);
                      response->set_last_position(result->last_position);
                      response->set_last_version(result->last_version);
                      response->set_deduplicated(result->deduplicated);
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerWriteReactor<ReadStreamResponse>* StreamsService::ReadStream(
    grpc::CallbackServerContext* /*context*/, const strata::v1::ReadStreamRequest* request) {
  absl::Status valid = internal::ValidateStreamName(request->stream());
  if (valid.ok() && request->has_as_of_position()) {
    valid = CheckPositionArg("as_of_position", request->as_of_position());
  }
  if (!valid.ok()) return Reject<ReadStreamResponse>(valid);
  CursorOptions options;
  options.stream = request->stream();
  options.direction = request->backwards() ? ReadDirection::kBackward : ReadDirection::kForward;
  if (request->has_from_version()) options.from = request->from_version();
  if (request->has_as_of_position()) options.as_of_position = request->as_of_position();
  if (request->max_count() != 0) options.max_count = request->max_count();
  return ReadWith<ReadStreamResponse>(*log_, std::move(options), hub_);
}

grpc::ServerWriteReactor<ReadAllResponse>* StreamsService::ReadAll(
    grpc::CallbackServerContext* /*context*/, const strata::v1::ReadAllRequest* request) {
  absl::Status valid = absl::OkStatus();
  if (request->has_as_of_position()) {
    valid = CheckPositionArg("as_of_position", request->as_of_position());
  }
  if (!valid.ok()) return Reject<ReadAllResponse>(valid);
  CursorOptions options;
  options.direction = request->backwards() ? ReadDirection::kBackward : ReadDirection::kForward;
  if (request->has_from_position()) options.from = request->from_position();
  if (request->has_as_of_position()) options.as_of_position = request->as_of_position();
  options.filter = FromProto(request->filter());
  if (request->max_count() != 0) options.max_count = request->max_count();
  return ReadWith<ReadAllResponse>(*log_, std::move(options), hub_);
}

grpc::ServerWriteReactor<SubscribeResponse>* StreamsService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const strata::v1::SubscribeRequest* request) {
  absl::Status valid = CheckPositionArg("after_position", request->after_position());
  if (!valid.ok()) return Reject<SubscribeResponse>(valid);
  absl::StatusOr<std::unique_ptr<Follower>> follower =
      log_->Follow(request->after_position(), FromProto(request->filter()));
  if (!follower.ok()) return Reject<SubscribeResponse>(follower.status());
  auto* writer = new EventWriter<SubscribeResponse>(std::move(*follower), hub_);
  writer->Start();
  return writer;
}

}  // namespace strata::server
