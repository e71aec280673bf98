#include "server/streams_service.h"

#include <deque>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/internal/validate.h"
#include "server/convert.h"
#include "server/grpc_status.h"

namespace strata::server {
namespace {

using strata::v1::ReadAllResponse;
using strata::v1::ReadStreamResponse;
using strata::v1::SubscribeResponse;

// Events fetched per read from the log, and positions scanned per step of a
// filtered subscription (so a sparse filter cannot pin the hub thread).
constexpr uint64_t kPageEventsMax = 256;
constexpr uint64_t kSubscribeScanMax = 4096;
constexpr absl::Duration kHubWake = absl::Milliseconds(100);

// A page of events, or the end of the read.
struct Page {
  std::vector<RecordedEvent> events;
  bool end = false;  // no more pages (finite reads only)
};
using PageSource = std::function<absl::StatusOr<Page>()>;

// Writes events from `source` one message at a time; for subscriptions,
// sends CaughtUp once the source first runs dry and then parks on the hub.
template <typename Response>
class EventWriter : public grpc::ServerWriteReactor<Response>, public Parkable {
 public:
  EventWriter(PageSource source, SubscriptionHub* hub, std::function<GlobalPosition()> cursor)
      : source_(std::move(source)), hub_(hub), cursor_fn_(std::move(cursor)) {}

  void Start() { Pump(); }

  GlobalPosition cursor() const override { return cursor_fn_ ? cursor_fn_() : 0; }
  void Resume() override { Pump(); }
  void Close() override {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "server is shutting down; resubscribe after the last position seen"));
  }
  void Unref() override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
    }
    if (ok) Pump();  // a failed write means the call is ending: OnCancel/OnDone follow
  }
  void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }
  void OnDone() override { Unref(); }

 private:
  // StartWrite and Finish are called with mu_ held, so a Finish (from
  // OnCancel or Close) can never slip between deciding to write and the
  // write itself: after Finish, gRPC may run OnDone and free the call. gRPC
  // never runs OnWriteDone or a write reactor's OnDone inline (their tags are
  // not inlineable), so holding mu_ cannot deadlock. The extra reference keeps
  // `this` alive until the lock is released.
  void FinishOnce(const grpc::Status& status) {
    refs_.fetch_add(1);
    {
      absl::MutexLock lock(&mu_);
      if (!finished_) {
        finished_ = true;
        this->Finish(status);
      }
    }
    Unref();
  }

  void Pump() {
    refs_.fetch_add(1);
    bool park = false;
    {
      absl::MutexLock lock(&mu_);
      park = PumpLocked();
    }
    if (park) {
      refs_.fetch_add(1);  // the hub's, dropped by the hub after Resume
      hub_->Park(this);
    }
    Unref();
  }

  // Starts the next write or the finish; true when there is nothing to do
  // until the head moves (a caught-up subscription).
  bool PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_) return false;
    if (buffer_.empty() && !end_) {
      absl::StatusOr<Page> page = source_();
      if (!page.ok()) {
        finished_ = true;
        this->Finish(ToGrpc(page.status()));
        return false;
      }
      for (auto& e : page->events) buffer_.push_back(std::move(e));
      end_ = page->end;
    }
    if (!buffer_.empty()) {
      message_.Clear();
      Fill(buffer_.front(), &message_);
      buffer_.pop_front();
      writing_ = true;
      this->StartWrite(&message_);
      return false;
    }
    if (end_) {
      finished_ = true;
      this->Finish(grpc::Status::OK);
      return false;
    }
    if (!caught_up_sent_ && FillCaughtUp(&message_)) {
      caught_up_sent_ = true;
      writing_ = true;
      this->StartWrite(&message_);
      return false;
    }
    return true;
  }

  static void Fill(const RecordedEvent& e, ReadStreamResponse* m) { ToProto(e, m->mutable_event()); }
  static void Fill(const RecordedEvent& e, ReadAllResponse* m) { ToProto(e, m->mutable_event()); }
  static void Fill(const RecordedEvent& e, SubscribeResponse* m) { ToProto(e, m->mutable_event()); }
  bool FillCaughtUp(ReadStreamResponse*) { return false; }
  bool FillCaughtUp(ReadAllResponse*) { return false; }
  bool FillCaughtUp(SubscribeResponse* m) {
    m->mutable_caught_up()->set_position(cursor());
    return true;
  }

  PageSource source_;
  SubscriptionHub* hub_;
  std::function<GlobalPosition()> cursor_fn_;
  std::atomic<int> refs_{1};  // gRPC's, dropped in OnDone; the hub's while parked
  absl::Mutex mu_;
  std::deque<RecordedEvent> buffer_ ABSL_GUARDED_BY(mu_);
  Response message_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool end_ ABSL_GUARDED_BY(mu_) = false;
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

}  // namespace

// ---- SubscriptionHub ----

SubscriptionHub::SubscriptionHub(EventLog* log) : log_(log) {
  thread_ = std::thread([this] { Loop(); });
}

SubscriptionHub::~SubscriptionHub() { Stop(); }

void SubscriptionHub::Park(Parkable* p) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      parked_.push_back(p);
      return;
    }
  }
  p->Close();
  p->Unref();
}

void SubscriptionHub::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  std::vector<Parkable*> parked;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    parked.swap(parked_);
  }
  for (Parkable* p : parked) {
    p->Close();
    p->Unref();
  }
}

void SubscriptionHub::Loop() {
  while (!stop_.load()) {
    const GlobalPosition head = log_->Head();
    std::vector<Parkable*> ready;
    {
      absl::MutexLock lock(&mu_);
      auto keep = parked_.begin();
      for (Parkable* p : parked_) {
        if (p->cursor() < head) {
          ready.push_back(p);
        } else {
          *keep++ = p;
        }
      }
      parked_.erase(keep, parked_.end());
    }
    for (Parkable* p : ready) {
      p->Resume();
      p->Unref();
    }
    if (ready.empty()) {
      log_->WaitForHead(head + 1, absl::Now() + kHubWake).IgnoreError();  // timeout: check stop_
    }
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
  const bool backwards = request->backwards();
  struct State {
    std::string stream;
    ReadStreamOptions options;
    uint64_t remaining;
  };
  auto state = std::make_shared<State>();
  state->stream = request->stream();
  state->options.direction = backwards ? ReadDirection::kBackward : ReadDirection::kForward;
  state->options.from_version = request->has_from_version() ? request->from_version()
                                : backwards                  ? kReadFromEnd
                                                             : 0;
  // Pin the read to the head at the start, so pages agree with each other.
  state->options.as_of_position =
      request->has_as_of_position() ? request->as_of_position() : log_->Head();
  state->remaining = request->max_count() == 0 ? UINT64_MAX : request->max_count();
  EventLog* log = log_;
  PageSource source = [state, log]() -> absl::StatusOr<Page> {
    Page page;
    ReadStreamOptions o = state->options;
    o.max_count = std::min(state->remaining, kPageEventsMax);
    absl::StatusOr<std::vector<RecordedEvent>> events = log->ReadStream(state->stream, o);
    if (!events.ok()) return events.status();
    page.events = std::move(*events);
    state->remaining -= page.events.size();
    page.end = page.events.size() < o.max_count || state->remaining == 0;
    if (!page.events.empty()) {
      const StreamVersion last = page.events.back().stream_version;
      if (o.direction == ReadDirection::kForward) {
        state->options.from_version = last + 1;
      } else if (last == 0) {
        page.end = true;
      } else {
        state->options.from_version = last - 1;
      }
    }
    return page;
  };
  auto* writer = new EventWriter<ReadStreamResponse>(std::move(source), hub_, nullptr);
  writer->Start();
  return writer;
}

grpc::ServerWriteReactor<ReadAllResponse>* StreamsService::ReadAll(
    grpc::CallbackServerContext* /*context*/, const strata::v1::ReadAllRequest* request) {
  absl::Status valid = absl::OkStatus();
  if (request->has_as_of_position()) {
    valid = CheckPositionArg("as_of_position", request->as_of_position());
  }
  if (!valid.ok()) return Reject<ReadAllResponse>(valid);
  const bool backwards = request->backwards();
  struct State {
    ReadAllOptions options;
    uint64_t remaining;
  };
  auto state = std::make_shared<State>();
  state->options.direction = backwards ? ReadDirection::kBackward : ReadDirection::kForward;
  state->options.from_position = request->has_from_position() ? request->from_position()
                                 : backwards                   ? kReadFromEnd
                                                               : 1;
  state->options.as_of_position =
      request->has_as_of_position() ? request->as_of_position() : log_->Head();
  state->options.filter = FromProto(request->filter());
  state->remaining = request->max_count() == 0 ? UINT64_MAX : request->max_count();
  EventLog* log = log_;
  PageSource source = [state, log]() -> absl::StatusOr<Page> {
    Page page;
    ReadAllOptions o = state->options;
    o.max_count = std::min(state->remaining, kPageEventsMax);
    absl::Status s = log->ScanAll(o, [&](const EventView& e) {
      page.events.push_back(e.ToRecorded());
      return true;
    });
    if (!s.ok()) return s;
    state->remaining -= page.events.size();
    page.end = page.events.size() < o.max_count || state->remaining == 0;
    if (!page.events.empty()) {
      const GlobalPosition last = page.events.back().position;
      if (o.direction == ReadDirection::kForward) {
        state->options.from_position = last + 1;
      } else if (last <= 1) {
        page.end = true;
      } else {
        state->options.from_position = last - 1;
      }
    }
    return page;
  };
  auto* writer = new EventWriter<ReadAllResponse>(std::move(source), hub_, nullptr);
  writer->Start();
  return writer;
}

grpc::ServerWriteReactor<SubscribeResponse>* StreamsService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const strata::v1::SubscribeRequest* request) {
  absl::Status valid = CheckPositionArg("after_position", request->after_position());
  if (valid.ok() && request->after_position() > log_->Head()) {
    // Claiming to be caught up past the head would later skip positions
    // silently (e.g. after a restore from an older backup).
    valid = absl::OutOfRangeError(absl::StrCat("after_position ", request->after_position(),
                                               " is beyond the head (", log_->Head(), ")"));
  }
  if (!valid.ok()) return Reject<SubscribeResponse>(valid);
  struct State {
    std::atomic<GlobalPosition> cursor;  // everything <= cursor was delivered
    ReadFilter filter;
  };
  auto state = std::make_shared<State>();
  state->cursor = request->after_position();
  state->filter = FromProto(request->filter());
  EventLog* log = log_;
  PageSource source = [state, log]() -> absl::StatusOr<Page> {
    Page page;
    const GlobalPosition head = log->Head();
    GlobalPosition cursor = state->cursor.load();
    // Scan a bounded range per step; stop at the first step that finds events.
    while (cursor < head && page.events.empty()) {
      ReadAllOptions o;
      o.from_position = cursor + 1;
      o.as_of_position = std::min(head, cursor + kSubscribeScanMax);
      o.max_count = kPageEventsMax;
      o.filter = state->filter;
      absl::Status s = log->ScanAll(o, [&](const EventView& e) {
        page.events.push_back(e.ToRecorded());
        return true;
      });
      if (!s.ok()) return s;
      cursor = page.events.size() == kPageEventsMax ? page.events.back().position
                                                     : *o.as_of_position;
    }
    state->cursor = cursor;
    return page;
  };
  auto* writer = new EventWriter<SubscribeResponse>(
      std::move(source), hub_, [state] { return state->cursor.load(); });
  writer->Start();
  return writer;
}

}  // namespace strata::server
