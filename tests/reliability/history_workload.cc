#include "tests/reliability/history_workload.h"

#include <map>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/reliability/history_stratad.h"

namespace strata::reliability {
namespace {

constexpr const char* kCountries[] = {"US", "DE", "FR", "JP", ""};
constexpr const char* kDevices[] = {"desktop", "mobile", "tablet", "bot", "other"};

}  // namespace

Workload::Workload(History* history, WorkloadOptions options, uint64_t seed)
    : history_(history), options_(std::move(options)), seed_(seed) {
  for (const std::string& prefix : options_.subscriber_prefixes) {
    auto log = std::make_unique<SubscriberLog>();
    log->name = prefix.empty() ? "all" : absl::StrCat("prefix '", prefix, "'");
    log->stream_prefix = prefix;
    subscriber_logs_.push_back(std::move(log));
  }
}

Workload::~Workload() {
  RequestStop();
  Join();
}

int64_t Workload::UniqueClickTime(absl::CivilDay day) {
  static std::atomic<int64_t> counter{0};
  const int64_t day_start = absl::ToUnixMicros(absl::FromCivil(day, absl::UTCTimeZone()));
  return day_start + 1 + counter.fetch_add(1);
}

void Workload::Start(const std::string& address, int cycle, const std::string& kurrent_address) {
  stop_ = false;
  ++round_;
  const uint64_t base = seed_ * 1000003 + round_ * 7919;
  for (int w = 0; w < options_.writers; ++w) {
    threads_.emplace_back(&Workload::RunWriter, this, w, address,
                          w % 2 == 1 ? kurrent_address : std::string(), cycle, base + w);
  }
  for (size_t i = 0; i < subscriber_logs_.size(); ++i) {
    threads_.emplace_back(&Workload::RunSubscriber, this, subscriber_logs_[i].get(), address,
                          base + 100 + i);
  }
  for (int i = 0; i < options_.model_readers && !options_.links.empty(); ++i) {
    threads_.emplace_back(&Workload::RunModelReader, this, address, base + 300 + i);
  }
  if (options_.rebuild_every > absl::ZeroDuration()) {
    threads_.emplace_back(&Workload::RunRebuilder, this, address, base + 200);
  }
}

void Workload::RequestStop() { stop_ = true; }

void Workload::Join() {
  stop_ = true;
  {
    absl::MutexLock lock(&contexts_mu_);
    for (grpc::ClientContext* ctx : subscriber_contexts_) ctx->TryCancel();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::vector<const SubscriberLog*> Workload::subscribers() const {
  std::vector<const SubscriberLog*> out;
  for (const auto& log : subscriber_logs_) out.push_back(log.get());
  return out;
}

void Workload::RunWriter(int writer, std::string address, std::string kurrent_address, int cycle,
                         uint64_t seed) {
  std::mt19937_64 rng(seed);
  uint64_t id_state = rng();
  auto uniform = [&rng](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  auto channel = NewChannel(address);
  auto streams = strata::v1::Streams::NewStub(channel);
  auto commands = strata::v1::LinkCommands::NewStub(channel);
  // Set: this writer's expected-version-any appends go through the KurrentDB
  // protocol.
  std::unique_ptr<event_store::client::streams::Streams::Stub> kurrent;
  if (!kurrent_address.empty()) {
    kurrent = event_store::client::streams::Streams::NewStub(NewChannel(kurrent_address));
  }
  // What this writer believes each stream's last version is (nullopt inside:
  // no stream); absent: unknown, read it first.
  std::map<std::string, std::optional<uint64_t>> known;
  uint64_t op_number = 0;

  auto new_append = [&](const std::string& stream) {
    Op op;
    op.writer = writer;
    op.cycle = cycle;
    op.stream = stream;
    const int n = 1 + static_cast<int>(pick(options_.events_per_append_max));
    for (int i = 0; i < n; ++i) {
      op.event_ids.push_back(NewEventId(&id_state));
      op.payloads.push_back(absl::StrCat("w", writer, "c", cycle, "o", op_number, "e", i));
    }
    ++op_number;
    return op;
  };
  // Optimistic concurrency as a client does it: learn `stream`'s version
  // (one ReadStreamHead when unknown), make `call(version, &new_version)`,
  // and after ABORTED forget the version and try again, up to
  // exact_retries_max times. With `must_exist`, a stream not created (yet) is
  // skipped. Returns true when the server is gone (the round ends).
  auto with_known_version = [&](const std::string& stream, bool must_exist, auto call) {
    for (int attempt = 0; attempt <= options_.exact_retries_max && !stop_.load(); ++attempt) {
      if (!known.contains(stream)) {
        absl::StatusOr<std::optional<uint64_t>> head =
            ReadStreamHead(*streams, stream, options_.call_timeout);
        if (!head.ok()) return true;
        known[stream] = *head;
      }
      if (must_exist && !known[stream].has_value()) return false;
      uint64_t new_version = 0;
      const grpc::Status status = call(known[stream], &new_version);
      if (status.ok()) {
        known[stream] = new_version;
        return false;
      }
      known.erase(stream);
      if (Classify(status) == Outcome::kInfo) return true;
      if (status.error_code() != grpc::StatusCode::ABORTED) return false;
    }
    return false;
  };

  for (uint64_t ops = 0; !stop_.load() && ops < options_.ops_per_writer_max; ++ops) {
    const double r = uniform(0, 1);
    if (r < options_.click_share && !options_.links.empty()) {
      Op op;
      op.writer = writer;
      op.cycle = cycle;
      op.link_id = options_.links[pick(options_.links.size())];
      op.request_id = absl::StrCat("click-", seed, "-", op_number++);
      op.country = kCountries[pick(std::size(kCountries))];
      op.device = kDevices[pick(std::size(kDevices))];
      op.clicked_at_us = UniqueClickTime(options_.first_day + static_cast<int>(pick(options_.days)));
      if (Classify(RecordedClick(*history_, *commands, std::move(op), options_.call_timeout)) ==
          Outcome::kInfo) {
        break;  // the server is gone (or the call timed out): end this writer's round
      }
    } else if (r < options_.click_share + options_.update_share && !options_.links.empty()) {
      const std::string link = options_.links[pick(options_.links.size())];
      const std::string stream = absl::StrCat("link-", link);
      const bool gone = with_known_version(
          stream, /*must_exist=*/true,
          [&](std::optional<uint64_t> version, uint64_t* new_version) {
            Op op;
            op.writer = writer;
            op.cycle = cycle;
            op.link_id = link;
            op.request_id = absl::StrCat("update-", seed, "-", op_number);
            op.destination =
                absl::StrCat("https://example.com/", link, "/", seed, "-", op_number++);
            op.expected_kind = ExpectedKind::kExact;
            op.expected_version = *version;
            strata::v1::CommandResponse response;
            const grpc::Status status = RecordedUpdateDestination(
                *history_, *commands, std::move(op), options_.call_timeout, &response);
            *new_version = response.version();
            return status;
          });
      if (gone) break;
    } else {
      const std::string& stream = options_.streams[pick(options_.streams.size())];
      if (uniform(0, 1) < options_.any_share) {
        Op op = new_append(stream);
        op.expected_kind = ExpectedKind::kAny;
        strata::v1::AppendResponse response;
        uint64_t last_version = 0;
        const grpc::Status status =
            kurrent != nullptr
                ? RecordedKurrentAppend(*history_, *kurrent, std::move(op), options_.call_timeout,
                                        &last_version)
                : RecordedAppend(*history_, *streams, std::move(op), options_.call_timeout,
                                 &response);
        if (status.ok()) {
          if (kurrent != nullptr) ++kurrent_appends_ok_;
          known[stream] = kurrent != nullptr ? last_version : response.last_version();
        } else {
          known.erase(stream);
          if (Classify(status) == Outcome::kInfo) break;
        }
      } else {
        const bool gone = with_known_version(
            stream, /*must_exist=*/false,
            [&](std::optional<uint64_t> version, uint64_t* new_version) {
              Op op = new_append(stream);
              if (version.has_value()) {
                op.expected_kind = ExpectedKind::kExact;
                op.expected_version = *version;
              } else {
                op.expected_kind = ExpectedKind::kNoStream;
              }
              strata::v1::AppendResponse response;
              const grpc::Status status = RecordedAppend(*history_, *streams, std::move(op),
                                                         options_.call_timeout, &response);
              *new_version = response.last_version();
              return status;
            });
        if (gone) break;
      }
    }
    if (options_.pause_max > absl::ZeroDuration()) {
      const int64_t pause_us = static_cast<int64_t>(
          uniform(0, static_cast<double>(absl::ToInt64Microseconds(options_.pause_max))));
      std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
    }
  }
}

void Workload::RunSubscriber(SubscriberLog* log, std::string address, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> chance(0, 1);
  auto stub = strata::v1::Streams::NewStub(NewChannel(address));
  while (!stop_.load()) {
    grpc::ClientContext ctx;
    {
      absl::MutexLock lock(&contexts_mu_);
      if (stop_.load()) break;
      subscriber_contexts_.push_back(&ctx);
    }
    strata::v1::SubscribeRequest request;
    request.set_after_position(log->last_position);
    request.mutable_filter()->set_stream_prefix(log->stream_prefix);
    log->sessions.push_back({log->last_position, log->events.size(), ""});
    auto reader = stub->Subscribe(&ctx, request);
    strata::v1::SubscribeResponse message;
    bool reconnect = false;
    while (!reconnect && reader->Read(&message)) {
      for (const strata::v1::RecordedEvent& e : message.events()) {
        log->events.push_back({e.position(), e.stream(), e.version(), e.event_id()});
        log->last_position = e.position();
        if (chance(rng) < options_.subscriber_reconnect_chance) {
          reconnect = true;  // the rest of the batch counts as not delivered
          ctx.TryCancel();
          break;
        }
      }
      if (message.has_caught_up()) {
        log->caught_up.emplace_back(log->events.size(), message.caught_up().position());
      }
    }
    const grpc::Status status = reader->Finish();
    log->sessions.back().end = reconnect ? "reconnect" : StatusText(status);
    {
      absl::MutexLock lock(&contexts_mu_);
      std::erase(subscriber_contexts_, &ctx);
    }
    if (!reconnect && !stop_.load()) {
      // Ended on its own while the server should be up: resume shortly.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

void Workload::RunRebuilder(std::string address, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto stub = strata::v1::Projections::NewStub(NewChannel(address));
  // "clicks" and "clicks_script": defined by the crash tests.
  const char* kNames[] = {"link_clicks", "link_details", "clicks", "clicks_script"};
  for (uint64_t i = 0; !stop_.load(); ++i) {
    strata::v1::RebuildProjectionRequest request;
    request.set_name(kNames[(i + rng()) % 4]);
    strata::v1::RebuildProjectionResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (stub->RebuildProjection(&ctx, request, &response).ok()) ++rebuilds_ok_;
    std::this_thread::sleep_for(absl::ToChronoMicroseconds(options_.rebuild_every));
  }
}

std::vector<ReadModelAnswer> Workload::TakeModelAnswers() {
  absl::MutexLock lock(&answers_mu_);
  std::vector<ReadModelAnswer> out;
  out.swap(model_answers_);
  return out;
}

void Workload::RunModelReader(std::string address, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto channel = NewChannel(address);
  while (!stop_.load()) {
    const std::string& link = options_.links[rng() % options_.links.size()];
    ReadModelAnswer a = QueryLinkModels(channel, link, options_.from_date, options_.to_date,
                                        std::nullopt, std::nullopt, /*with_link_version=*/true,
                                        absl::Seconds(5));
    if (!a.error.empty()) {
      // Unavailable once the server is gone; FAILED_PRECONDITION while a
      // first generation builds. Neither says anything about the model.
      ++model_queries_failed_;
      if (a.error.find("UNAVAILABLE") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    a.any_position = true;
    absl::MutexLock lock(&answers_mu_);
    model_answers_.push_back(std::move(a));
  }
}

}  // namespace strata::reliability
