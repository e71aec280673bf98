// strata_load's workloads (workloads.h): one Call class per unary mode, the
// ClosedLoop that keeps one call in flight per slot, the streamed reads, link
// setup, LiveSubscribers and the read-your-write LagProbe.
#include "tools/load/workloads.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/event.h"

namespace strata::load {

namespace v1 = strata::v1;
namespace es = event_store::client;

namespace {

using Clock = std::chrono::steady_clock;

int64_t MicrosSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(d);
}

// The canonical name of a gRPC code: gRPC's codes are absl's.
std::string CodeName(grpc::StatusCode code) {
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", static_cast<int>(code)) : name;
}

// "YYYY-MM-DD" of `t` in UTC.
std::string Date(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

constexpr const char* kCountries[] = {"US", "DE", "FR", "GB", "IN", "BR", "JP", "CA", "ES", ""};

// A CreateLink of `link_id` as strata_load sends it.
void FillCreateLink(const std::string& link_id, v1::CreateLinkRequest* request) {
  request->set_link_id(link_id);
  request->set_destination(absl::StrCat("https://example.com/", link_id));
  request->set_owner("load");
}

// An append mode's event data: JSON naming the slot, padded to `bytes`.
std::string LoadPayload(int slot, int bytes) {
  std::string data = absl::StrCat("{\"slot\":", slot, ",\"pad\":\"");
  data.append(static_cast<size_t>(std::max(0, bytes - static_cast<int>(data.size()) - 2)), 'x');
  data += "\"}";
  return data;
}

// ---- One class per unary mode ----

// What every mode's call keeps: the target, the request and response it
// reuses from call to call, and the slot's own random numbers.
template <class Request, class Response>
class RpcCall : public Call {
 public:
  RpcCall(Target* target, int slot) : target_(target), rng_(slot + 1) {}

 protected:
  // One of the links 0..options().links-1.
  std::string RandomLinkId() {
    return target_->LinkId(static_cast<int>(rng_() % target_->options().links));
  }

  Target* target_;
  std::mt19937_64 rng_;
  Request request_;
  Response response_;
};

class NoopCall : public RpcCall<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  NoopCall(Target* target, int slot) : RpcCall(target, slot) {
    grpc::Slice empty("");  // an empty grpc.health.v1.HealthCheckRequest
    request_ = grpc::ByteBuffer(&empty, 1);
  }
  void Start(grpc::ClientContext* context, Done done) override {
    target_->generic().UnaryCall(context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                                 &request_, &response_, [done](grpc::Status s) { done(s, 0); });
  }
};

class ClickCall : public RpcCall<v1::RecordClickRequest, v1::CommandResponse> {
 public:
  using RpcCall::RpcCall;
  void Start(grpc::ClientContext* context, Done done) override {
    request_.set_link_id(RandomLinkId());
    request_.set_country(kCountries[rng_() % std::size(kCountries)]);
    request_.set_device(static_cast<v1::Device>(1 + rng_() % 5));
    const int64_t spread_us = int64_t{target_->options().spread_days} * 86'400'000'000LL;
    request_.set_clicked_at(absl::ToUnixMicros(absl::Now()) -
                            static_cast<int64_t>(rng_() % static_cast<uint64_t>(spread_us)));
    target_->commands().async()->RecordClick(
        context, &request_, &response_, [this, done](grpc::Status s) {
          if (s.ok()) {
            target_->NoteClickAck(response_.position(), request_.link_id());
          }
          done(s, 1);
        });
  }
};

class CreateLinkCall : public RpcCall<v1::CreateLinkRequest, v1::CommandResponse> {
 public:
  CreateLinkCall(Target* target, int slot) : RpcCall(target, slot), slot_(slot) {}
  void Start(grpc::ClientContext* context, Done done) override {
    FillCreateLink(absl::StrCat("load-", target_->nonce(), "-", slot_, "-", next_++), &request_);
    target_->commands().async()->CreateLink(context, &request_, &response_,
                                            [done](grpc::Status s) { done(s, 1); });
  }

 private:
  int slot_;
  uint64_t next_ = 0;
};

class UpdateDestinationCall
    : public RpcCall<v1::UpdateDestinationRequest, v1::CommandResponse> {
 public:
  using RpcCall::RpcCall;
  void Start(grpc::ClientContext* context, Done done) override {
    request_.set_link_id(RandomLinkId());
    request_.set_destination(absl::StrCat("https://example.com/v", rng_() % 1000));
    target_->commands().async()->UpdateDestination(context, &request_, &response_,
                                                   [done](grpc::Status s) { done(s, 1); });
  }
};

class AppendCall : public RpcCall<v1::AppendRequest, v1::AppendResponse> {
 public:
  AppendCall(Target* target, int slot) : RpcCall(target, slot) {
    const LoadOptions& o = target->options();
    request_.set_stream(absl::StrCat("load-", target->nonce(), "-", slot));
    request_.mutable_expected_version()->set_kind(v1::ExpectedVersion::ANY);
    const std::string data = LoadPayload(slot, o.data_bytes);
    for (int i = 0; i < o.events_per_call; ++i) {
      v1::ProposedEvent* e = request_.add_events();
      e->set_type("LoadTested");
      e->set_content_type("application/json");
      e->set_data(data);
    }
  }
  void Start(grpc::ClientContext* context, Done done) override {
    const auto n = static_cast<uint64_t>(request_.events_size());
    target_->streams().async()->Append(context, &request_, &response_,
                                       [done, n](grpc::Status s) { done(s, n); });
  }
};

// Append through the KurrentDB protocol: a client-streaming call of the
// options and one message per event, each with a fresh id (a reused id would
// be deduplicated by the log, not written).
class KurrentAppendCall : public Call {
 public:
  KurrentAppendCall(Target* target, int slot) : target_(target) {
    const LoadOptions& o = target->options();
    es::streams::AppendReq::Options* options = messages_.emplace_back().mutable_options();
    options->mutable_stream_identifier()->set_stream_name(
        absl::StrCat("kload-", target->nonce(), "-", slot));
    options->mutable_any();
    const std::string data = LoadPayload(slot, o.data_bytes);
    for (int i = 0; i < o.events_per_call; ++i) {
      es::streams::AppendReq::ProposedMessage* e =
          messages_.emplace_back().mutable_proposed_message();
      (*e->mutable_metadata())["type"] = "LoadTested";
      (*e->mutable_metadata())["content-type"] = "application/json";
      e->set_data(data);
    }
  }
  void Start(grpc::ClientContext* context, Done done) override {
    for (size_t i = 1; i < messages_.size(); ++i) {
      messages_[i].mutable_proposed_message()->mutable_id()->set_string(
          EventId::Random().ToString());
    }
    new Writer(this, context, std::move(done));  // deletes itself when done
  }

 private:
  class Writer : public grpc::ClientWriteReactor<es::streams::AppendReq> {
   public:
    Writer(KurrentAppendCall* call, grpc::ClientContext* context, Done done)
        : call_(call), done_(std::move(done)) {
      call->target_->kurrent().async()->Append(context, &response_, this);
      WriteNext();
      StartCall();
    }
    void OnWriteDone(bool ok) override {
      if (ok && next_ < call_->messages_.size()) WriteNext();
    }
    void OnDone(const grpc::Status& status) override {
      grpc::Status s = status;
      if (s.ok() && !response_.has_success()) {
        s = grpc::Status(grpc::StatusCode::ABORTED, "wrong expected version");
      }
      done_(s, call_->messages_.size() - 1);
      delete this;
    }

   private:
    void WriteNext() {
      const es::streams::AppendReq* m = &call_->messages_[next_++];
      if (next_ == call_->messages_.size()) {
        StartWriteLast(m, grpc::WriteOptions());
      } else {
        StartWrite(m);
      }
    }
    KurrentAppendCall* call_;
    Done done_;
    size_t next_ = 0;
    es::streams::AppendResp response_;
  };

  Target* target_;
  std::vector<es::streams::AppendReq> messages_;  // the options, then the events
};

class AnalyticsCall : public RpcCall<v1::GetLinkAnalyticsRequest, v1::GetLinkAnalyticsResponse> {
 public:
  AnalyticsCall(Target* target, int slot) : RpcCall(target, slot) {
    const absl::Time now = absl::Now();
    request_.set_from_date(Date(now - absl::Hours(24) * (target->options().analytics_days - 1)));
    request_.set_to_date(Date(now));
  }
  void Start(grpc::ClientContext* context, Done done) override {
    request_.set_link_id(RandomLinkId());
    target_->queries().async()->GetLinkAnalytics(context, &request_, &response_,
                                                 [done](grpc::Status s) { done(s, 0); });
  }
};

// Picks one of its modes per call by weight.
class MixedCall : public Call {
 public:
  MixedCall(std::vector<std::unique_ptr<Call>> calls, std::vector<int> weights, int slot)
      : calls_(std::move(calls)), pick_(weights.begin(), weights.end()), rng_(slot + 7) {}
  void Start(grpc::ClientContext* context, Done done) override {
    calls_[pick_(rng_)]->Start(context, std::move(done));
  }

 private:
  std::vector<std::unique_ptr<Call>> calls_;
  std::discrete_distribution<size_t> pick_;
  std::mt19937_64 rng_;
};

// ---- The closed loop ----

class ClosedLoop {
 public:
  ClosedLoop(Target* target, std::vector<std::unique_ptr<Call>> calls)
      : target_(target), slots_(calls.size()) {
    for (size_t i = 0; i < calls.size(); ++i) slots_[i].call = std::move(calls[i]);
  }

  void Run(ModeReport* report) {
    const LoadOptions& o = target_->options();
    const Clock::time_point start = Clock::now();
    deadline_ = start + absl::ToChronoMicroseconds(o.duration);
    {
      absl::MutexLock lock(&mu_);
      active_ = static_cast<int>(slots_.size());
    }
    for (Slot& s : slots_) Issue(&s);
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ClosedLoop::AllDone));
    }
    report->seconds = MicrosSince(start) / 1e6;
    for (Slot& s : slots_) {
      report->calls += s.calls;
      report->events += s.events;
      report->latency.Merge(s.latency);
      for (const auto& [code, n] : s.errors) report->errors[code] += n;
    }
  }

 private:
  struct Slot {
    std::unique_ptr<Call> call;
    std::unique_ptr<grpc::ClientContext> context;
    Clock::time_point started;
    Samples latency;
    uint64_t calls = 0;
    uint64_t events = 0;
    std::map<std::string, uint64_t> errors;
  };

  void Issue(Slot* s) {
    const LoadOptions& o = target_->options();
    const bool over =
        o.max_calls > 0 ? issued_.fetch_add(1) >= o.max_calls : Clock::now() >= deadline_;
    if (over) {
      absl::MutexLock lock(&mu_);
      --active_;
      return;
    }
    s->context = std::make_unique<grpc::ClientContext>();
    s->context->set_deadline(DeadlineIn(o.call_timeout));
    s->started = Clock::now();
    s->call->Start(s->context.get(), [this, s](const grpc::Status& status, uint64_t events) {
      if (status.ok()) {
        s->latency.Add(MicrosSince(s->started));
        ++s->calls;
        s->events += events;
      } else {
        ++s->errors[CodeName(status.error_code())];
      }
      Issue(s);
    });
  }

  bool AllDone() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; }

  Target* target_;
  std::vector<Slot> slots_;
  Clock::time_point deadline_;
  std::atomic<uint64_t> issued_{0};
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

// ---- Target ----

Target::Target(std::shared_ptr<grpc::Channel> channel, LoadOptions options, std::string nonce,
               std::shared_ptr<grpc::Channel> kurrent)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      nonce_(std::move(nonce)),
      streams_(v1::Streams::NewStub(channel_)),
      commands_(v1::LinkCommands::NewStub(channel_)),
      queries_(v1::LinkQueries::NewStub(channel_)),
      generic_(channel_),
      kurrent_(kurrent == nullptr ? nullptr : es::streams::Streams::NewStub(kurrent)) {}

void Target::NoteClickAck(uint64_t position, const std::string& link_id) {
  absl::MutexLock lock(&mu_);
  if (position <= ack_.position) return;
  ack_.position = position;
  ack_.at = absl::Now();
  ack_.link_id = link_id;
}

bool Target::WaitForAck(uint64_t after, absl::Duration timeout, Ack* out) {
  absl::MutexLock lock(&mu_);
  auto newer = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ack_.position > after; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&newer), timeout)) return false;
  *out = ack_;
  return true;
}

// ---- Modes ----

absl::StatusOr<std::unique_ptr<Call>> NewCall(const std::string& mode, Target* target, int slot) {
  if (mode == "noop") return std::make_unique<NoopCall>(target, slot);
  if (mode == "click") return std::make_unique<ClickCall>(target, slot);
  if (mode == "create-link") return std::make_unique<CreateLinkCall>(target, slot);
  if (mode == "update-destination") return std::make_unique<UpdateDestinationCall>(target, slot);
  if (mode == "append") return std::make_unique<AppendCall>(target, slot);
  if (mode == "analytics") return std::make_unique<AnalyticsCall>(target, slot);
  if (mode == "kurrent-append") {
    if (!target->has_kurrent()) {
      return absl::InvalidArgumentError("kurrent-append: no KurrentDB protocol channel");
    }
    return std::make_unique<KurrentAppendCall>(target, slot);
  }
  if (mode == "mixed") {
    if (target->options().mix.empty()) return absl::InvalidArgumentError("--mix: empty");
    std::vector<std::unique_ptr<Call>> calls;
    std::vector<int> weights;
    for (const auto& [sub, weight] : target->options().mix) {
      if (sub == "mixed" || IsStreamingMode(sub)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--mix: '", sub, "' cannot be mixed (unary modes only)"));
      }
      absl::StatusOr<std::unique_ptr<Call>> call = NewCall(sub, target, slot);
      if (!call.ok()) return call.status();
      calls.push_back(std::move(*call));
      weights.push_back(weight);
    }
    return std::make_unique<MixedCall>(std::move(calls), std::move(weights), slot);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown mode '", mode,
      "' (noop, click, create-link, update-destination, append, analytics, mixed, "
      "kurrent-append, readall, subscribe, kurrent-readall)"));
}

void RunClosedLoop(const std::string& mode, Target* target, ModeReport* report) {
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < target->options().concurrency; ++i) {
    absl::StatusOr<std::unique_ptr<Call>> call = NewCall(mode, target, i);
    if (!call.ok()) {
      ++report->errors[std::string(call.status().message())];
      return;
    }
    calls.push_back(std::move(*call));
  }
  ClosedLoop(target, std::move(calls)).Run(report);
}

void RunStreamRead(const std::string& mode, Target* target, ModeReport* report) {
  grpc::ClientContext context;
  const Clock::time_point start = Clock::now();
  Clock::time_point last = start;
  auto count = [&](const v1::RecordedEvent& e) {
    ++report->events;
    report->bytes += e.data().size() + e.metadata().size();
  };
  auto gap = [&] {
    report->latency.Add(MicrosSince(last));
    last = Clock::now();
  };
  grpc::Status status;
  if (mode == "readall") {
    v1::ReadAllRequest request;
    request.set_max_count(target->options().read_events);
    auto reader = target->streams().ReadAll(&context, request);
    v1::ReadAllResponse m;
    while (reader->Read(&m)) {
      gap();
      for (const v1::RecordedEvent& e : m.events()) count(e);
    }
    status = reader->Finish();
  } else if (mode == "kurrent-readall") {
    es::streams::ReadReq request;
    es::streams::ReadReq::Options* o = request.mutable_options();
    o->mutable_all()->mutable_start();
    const uint64_t all = (uint64_t{1} << 53) - 1;  // as the KurrentDB clients send it
    o->set_count(target->options().read_events == 0 ? all : target->options().read_events);
    o->mutable_no_filter();
    o->mutable_uuid_option()->mutable_string();
    auto reader = target->kurrent().Read(&context, request);
    es::streams::ReadResp m;
    while (reader->Read(&m)) {
      gap();
      if (!m.has_event()) continue;
      ++report->events;
      report->bytes +=
          m.event().event().data().size() + m.event().event().custom_metadata().size();
    }
    status = reader->Finish();
  } else {
    v1::SubscribeRequest request;
    auto reader = target->streams().Subscribe(&context, request);
    v1::SubscribeResponse m;
    while (reader->Read(&m)) {
      gap();
      if (m.has_caught_up()) {
        context.TryCancel();
        break;
      }
      for (const v1::RecordedEvent& e : m.events()) count(e);
    }
    status = reader->Finish();
    if (status.error_code() == grpc::StatusCode::CANCELLED) status = grpc::Status::OK;
  }
  report->seconds = MicrosSince(start) / 1e6;
  report->calls = 1;
  if (!status.ok()) ++report->errors[CodeName(status.error_code())];
}

absl::Status CreateLinks(Target* target) {
  for (int i = 0; i < target->options().links; ++i) {
    v1::CreateLinkRequest request;
    FillCreateLink(target->LinkId(i), &request);
    request.set_request_id("strata-load");
    v1::CommandResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    const grpc::Status s = target->commands().CreateLink(&context, request, &response);
    if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      return absl::UnavailableError(absl::StrCat("CreateLink ", request.link_id(), ": ",
                                                 CodeName(s.error_code()), " ", s.error_message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Head(Target* target) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::ReadAllRequest request;
  request.set_backwards(true);
  request.set_max_count(1);
  auto reader = target->streams().ReadAll(&context, request);
  v1::ReadAllResponse m;
  uint64_t head = 0;
  while (reader->Read(&m)) {
    for (const v1::RecordedEvent& e : m.events()) head = e.position();
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ReadAll: ", CodeName(s.error_code()), " ", s.error_message()));
  }
  return head;
}

// ---- Live subscribers ----

class LiveSubscribers::Reader : public grpc::ClientReadReactor<v1::SubscribeResponse> {
 public:
  Reader(Target* target, uint64_t after, bool sample) : sample_(sample) {
    request_.set_after_position(after);
    target->streams().async()->Subscribe(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const int64_t now_us = absl::ToUnixMicros(absl::Now());
    for (const v1::RecordedEvent& e : message_.events()) {
      ++delivered_;
      if (sample_) delivery_.Add(now_us - e.recorded_at());
    }
    StartRead(&message_);
  }
  void OnDone(const grpc::Status& /*status*/) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  void Stop(ModeReport* report) {
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    report->delivered += delivered_;
    report->delivery.Merge(delivery_);
  }

 private:
  const bool sample_;
  grpc::ClientContext context_;
  v1::SubscribeRequest request_;
  v1::SubscribeResponse message_;
  uint64_t delivered_ = 0;
  Samples delivery_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

LiveSubscribers::LiveSubscribers(Target* target, int count, uint64_t after_position) {
  for (int i = 0; i < count; ++i) readers_.push_back(new Reader(target, after_position, i == 0));
}

LiveSubscribers::~LiveSubscribers() {
  ModeReport ignored;
  Stop(&ignored);
}

void LiveSubscribers::Stop(ModeReport* report) {
  for (Reader* r : readers_) {
    r->Stop(report);
    delete r;
  }
  readers_.clear();
}

// ---- Read-your-write lag ----

LagProbe::LagProbe(Target* target) : target_(target), thread_([this] { Loop(); }) {}

LagProbe::~LagProbe() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LagProbe::Stop(ModeReport* report) {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  report->lag.Merge(lag_);
}

void LagProbe::Loop() {
  uint64_t seen = 0;
  const std::string today = Date(absl::Now());
  while (!stop_) {
    Target::Ack ack;
    if (!target_->WaitForAck(seen, absl::Milliseconds(100), &ack)) continue;
    seen = ack.position;
    v1::GetLinkAnalyticsRequest request;
    request.set_link_id(ack.link_id);
    request.set_from_date(today);
    request.set_to_date(today);
    request.set_min_position(ack.position);
    v1::GetLinkAnalyticsResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    if (target_->queries().GetLinkAnalytics(&context, request, &response).ok()) {
      lag_.Add(absl::ToInt64Microseconds(absl::Now() - ack.at));
    }
  }
}

}  // namespace strata::load
