// strata demo [--links N] [--clicks M]: realistic click traffic through the
// public API, then the commands to try next.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "links/links.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

constexpr uint64_t kDefaultLinks = 50;
constexpr uint64_t kDefaultClicks = 20'000;
constexpr uint64_t kLinksMax = 100'000;
constexpr uint64_t kClicksMax = 100'000'000;
constexpr size_t kInFlightMax = 64;
constexpr int kDays = 90;
constexpr double kZipfExponent = 1.1;

constexpr const char* kTopics[] = {"spring",  "summer",  "launch", "docs",    "pricing", "careers",
                                   "webinar", "product", "blog",   "partner", "holiday", "beta",
                                   "flash",   "brand",   "growth", "support", "events",  "mobile"};
constexpr const char* kThings[] = {"sale",  "guide",   "signup", "video",      "survey", "deck",
                                   "offer", "release", "ebook",  "newsletter", "demo",   "podcast"};
constexpr const char* kOwners[] = {"marketing", "growth", "docs", "sales", "devrel"};

struct Weighted {
  const char* value;
  double weight;
};
constexpr Weighted kCountries[] = {
    {"US", 31}, {"DE", 10}, {"GB", 8}, {"IN", 8}, {"FR", 6}, {"BR", 5}, {"JP", 5}, {"CA", 4},
    {"ES", 3},  {"NL", 3},  {"AU", 3}, {"IT", 3}, {"SE", 2}, {"PL", 2}, {"MX", 2}, {"", 5}};
constexpr Weighted kDevices[] = {
    {"mobile", 55}, {"desktop", 35}, {"tablet", 6}, {"bot", 3}, {"other", 1}};

v1::Device DeviceOf(const std::string& name) {
  if (name == "mobile") return v1::MOBILE;
  if (name == "desktop") return v1::DESKTOP;
  if (name == "tablet") return v1::TABLET;
  if (name == "bot") return v1::BOT;
  return v1::OTHER;
}

// Picks an index with probability proportional to its weight.
class Picker {
 public:
  explicit Picker(const std::vector<double>& weights) {
    double sum = 0;
    for (double w : weights) cumulative_.push_back(sum += w);
  }
  size_t Pick(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> u(0, cumulative_.back());
    const double x = u(rng);
    return std::min(
        cumulative_.size() - 1,
        static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), x) -
                            cumulative_.begin()));
  }

 private:
  std::vector<double> cumulative_;
};

std::vector<std::string> LinkIds(uint64_t n) {
  std::vector<std::string> ids;
  const size_t topics = std::size(kTopics);
  const size_t things = std::size(kThings);
  for (uint64_t i = 0; i < n; ++i) {
    // Walk the pairs diagonally so neighbours differ in both words.
    const uint64_t pair = i % (topics * things);
    std::string id =
        absl::StrCat(kTopics[pair % topics], "-", kThings[(pair / topics + pair) % things]);
    if (i >= topics * things) absl::StrAppend(&id, "-", i / (topics * things) + 1);
    ids.push_back(std::move(id));
  }
  return ids;
}

struct Click {
  size_t link = 0;
  const char* country = "";
  v1::Device device = v1::OTHER;
  int64_t clicked_at_us = 0;
};

// Runs unary calls with at most kInFlightMax outstanding.
class Pipeline {
 public:
  // Returns false when the caller must stop (an error, or Ctrl-C).
  template <typename Start>
  bool Submit(Start start) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < kInFlightMax; });
    if (!error_.ok() || Interrupted()) return false;
    ++in_flight_;
    lock.unlock();
    start([this](const grpc::Status& s) { Done(s); });
    return true;
  }
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  uint64_t ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_;
  }
  uint64_t present() {
    std::lock_guard<std::mutex> lock(mu_);
    return present_;
  }
  uint64_t finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_ + present_;
  }
  grpc::Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  void Done(const grpc::Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (s.ok()) {
      ++ok_;
    } else if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      ++present_;  // an earlier run's command: same request id
    } else if (s.error_code() != grpc::StatusCode::CANCELLED && error_.ok()) {
      error_ = s;
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  uint64_t ok_ = 0;
  uint64_t present_ = 0;
  grpc::Status error_;
};

// One in-flight call's state, freed by its completion.
template <typename Request>
struct Call {
  grpc::ClientContext context;
  Request request;
  v1::CommandResponse response;
};

}  // namespace

const CommandSpec& DemoSpec() {
  static const CommandSpec spec{
      "demo",
      "[--links N] [--clicks M] [--seed S] [--json]",
      "Fill a server with realistic click traffic, then suggest commands.",
      "Creates links and records clicks through the public API: skewed popularity, countries,\n"
      "devices, spread over the last 90 days. Clicks carry request ids derived from --seed, so "
      "rerunning the same command after Ctrl-C\n"
      "never counts a click twice. At the end it prints commands to try next.",
      {ServerFlag(),
       DataDirFlag("fill a stopped server's data directory instead (server started in process)"),
       {"links", "N", "links to create (default 50)"},
       {"clicks", "M", "clicks to record (default 20,000)"},
       {"seed", "S", "random seed (default 1): the same seed makes the same traffic"},
       JsonFlag(),
       TimeoutFlag()},
      0,
      0};
  return spec;
}

int RunDemo(const Argv& argv) {
  const CommandSpec& spec = DemoSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  std::optional<uint64_t> links_arg, clicks_arg, seed_arg;
  if (!args ||
      !ReadUintsOrExit(spec, *args,
                       {{"links", &links_arg}, {"clicks", &clicks_arg}, {"seed", &seed_arg}},
                       &code)) {
    return code;
  }
  const uint64_t n_links = links_arg.value_or(kDefaultLinks);
  const uint64_t n_clicks = clicks_arg.value_or(kDefaultClicks);
  const uint64_t seed = seed_arg.value_or(1);
  if (n_links == 0 || n_links > kLinksMax) {
    return UsageError(spec, absl::StrCat("--links: must be 1..", kLinksMax));
  }
  if (n_clicks > kClicksMax)
    return UsageError(spec, absl::StrCat("--clicks: at most ", kClicksMax));
  const bool json = args->Has("json");
  const bool tty = isatty(STDERR_FILENO) != 0;

  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;

  // Times relative to the start of this hour: a rerun within the hour sends
  // identical commands, which the server recognises as the same.
  const absl::Time now = absl::Now();
  const int64_t anchor_us =
      absl::ToUnixMicros(absl::UnixEpoch() + absl::Floor(now - absl::UnixEpoch(), absl::Hours(1)));
  const std::vector<std::string> ids = LinkIds(n_links);
  const std::string tag = absl::StrCat("demo-", seed);

  // 1. Links.
  Pipeline links;
  for (uint64_t i = 0; i < n_links; ++i) {
    auto* call = new Call<v1::CreateLinkRequest>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    call->request.set_link_id(ids[i]);
    call->request.set_destination(
        absl::StrCat("https://example.com/", ids[i], "?utm_source=strata"));
    call->request.set_owner(kOwners[i % std::size(kOwners)]);
    call->request.set_request_id(absl::StrCat(tag, "-link-", ids[i]));
    const bool submitted = links.Submit([&](auto done) {
      c.commands().async()->CreateLink(&call->context, &call->request, &call->response,
                                       [call, done](grpc::Status s) {
                                         done(s);
                                         delete call;
                                       });
    });
    if (!submitted) {
      delete call;
      break;
    }
  }
  links.Drain();
  if (!links.error().ok()) return Fail(Explain(c, links.error()));
  if (Interrupted()) return Fail(absl::CancelledError("interrupted"));

  // 2. Clicks: Zipf-like popularity, weighted countries and devices, more
  // traffic on recent days and a campaign burst for the second link.
  std::mt19937_64 rng(seed);
  std::vector<double> link_weights;
  for (uint64_t r = 0; r < n_links; ++r)
    link_weights.push_back(1.0 / std::pow(r + 1, kZipfExponent));
  std::vector<double> country_weights, device_weights, day_weights;
  for (const auto& w : kCountries) country_weights.push_back(w.weight);
  for (const auto& w : kDevices) device_weights.push_back(w.weight);
  for (int d = 0; d < kDays; ++d) {
    const double growth = 1.0 + 1.5 * (kDays - d) / kDays;
    const double weekly = (d % 7 == 1 || d % 7 == 2) ? 0.7 : 1.0;  // a quieter weekend
    day_weights.push_back(growth * weekly);
  }
  const Picker link_picker(link_weights), country_picker(country_weights),
      device_picker(device_weights), day_picker(day_weights);
  std::uniform_int_distribution<int64_t> within_day(0, 86'400'000'000LL - 1);
  std::uniform_int_distribution<int> campaign_day(20, 27);
  std::bernoulli_distribution in_campaign(0.3);

  Pipeline clicks;
  Progress progress("demo clicks", tty, absl::Seconds(2));
  const absl::Time start = absl::Now();
  for (uint64_t i = 0; i < n_clicks; ++i) {
    Click k;
    k.link = link_picker.Pick(rng);
    k.country = kCountries[country_picker.Pick(rng)].value;
    k.device = DeviceOf(kDevices[device_picker.Pick(rng)].value);
    int day = static_cast<int>(day_picker.Pick(rng));
    if (k.link == 1 && n_links > 1 && in_campaign(rng)) day = campaign_day(rng);
    k.clicked_at_us = anchor_us - day * 86'400'000'000LL - within_day(rng) - 1;

    auto* call = new Call<v1::RecordClickRequest>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    call->request.set_link_id(ids[k.link]);
    call->request.set_country(k.country);
    call->request.set_device(k.device);
    call->request.set_clicked_at(k.clicked_at_us);
    call->request.set_request_id(absl::StrCat(tag, "-click-", i));
    const bool submitted = clicks.Submit([&](auto done) {
      c.commands().async()->RecordClick(&call->context, &call->request, &call->response,
                                        [call, done](grpc::Status s) {
                                          done(s);
                                          delete call;
                                        });
    });
    if (!submitted) {
      delete call;
      break;
    }
    if (i % 256 == 0) {
      const uint64_t finished = clicks.finished();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      const double rate = seconds > 0.2 ? finished / seconds : 0;
      progress.Update(finished, n_clicks, rate,
                      rate > 0 ? std::optional<double>((n_clicks - finished) / rate) : std::nullopt,
                      "clicks");
    }
  }
  clicks.Drain();
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start));
  if (clicks.error().ok() && !Interrupted()) {
    progress.Update(clicks.finished(), n_clicks, clicks.finished() / seconds, 0.0, "clicks");
  }
  progress.Finish();
  if (!clicks.error().ok()) return Fail(Explain(c, clicks.error()));
  if (Interrupted()) {
    WriteAll(stderr, absl::StrCat("strata: interrupted after ", FormatCount(clicks.finished()),
                                  " of ", FormatCount(n_clicks),
                                  " clicks; rerun the same command to finish (clicks already "
                                  "recorded are not counted twice)\n"));
    return kExitInterrupted;
  }

  // 3. Wait for the dashboard to catch up, then point at it.
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  const std::string to = links::FormatDate(today);
  // The first day any click can fall on.
  const std::string from = links::FormatDate(absl::ToCivilDay(
      absl::FromUnixMicros(anchor_us) - absl::Hours(24 * kDays), absl::UTCTimeZone()));
  v1::GetLinkAnalyticsResponse top;
  {
    v1::ReadAllRequest last;
    last.set_backwards(true);
    last.set_max_count(1);
    auto ctx = c.Context();
    CancelOnInterrupt cancel(ctx.get());
    auto reader = c.streams().ReadAll(ctx.get(), last);
    v1::ReadAllResponse r;
    uint64_t head = 0;
    while (reader->Read(&r)) {
      for (const v1::RecordedEvent& e : r.events()) head = e.position();
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail(Explain(c, s));
    v1::GetLinkAnalyticsRequest q;
    q.set_link_id(ids[0]);
    q.set_from_date(from);
    q.set_to_date(to);
    q.set_min_position(head);
    auto qctx = c.Context();
    CancelOnInterrupt qcancel(qctx.get());
    s = c.queries().GetLinkAnalytics(qctx.get(), q, &top);
    if (!s.ok()) return Fail(Explain(c, s));
  }

  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("links").Uint(n_links);
    w.Key("links_created").Uint(links.ok());
    w.Key("clicks").Uint(n_clicks);
    w.Key("clicks_recorded").Uint(clicks.ok());
    w.Key("already_recorded").Uint(links.present() + clicks.present());
    w.Key("top_link").String(ids[0]);
    w.Key("top_link_clicks").Uint(top.total_clicks());
    w.Key("from").String(from);
    w.Key("to").String(to);
    w.Key("position").Uint(top.position());
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
    return kExitOk;
  }
  const std::string server =
      c.offline() ? absl::StrCat(" --data_dir ", *args->Get("data-dir"))
                  : (c.server_flag().empty() ? "" : absl::StrCat(" --server ", c.server_flag()));
  std::string out =
      absl::StrCat("demo: ", FormatCount(links.ok()), " links and ", FormatCount(clicks.ok()),
                   " clicks recorded in ", absl::StrFormat("%.1f", seconds), " s (",
                   FormatCount(static_cast<uint64_t>(clicks.finished() / seconds)), " clicks/s)");
  if (links.present() + clicks.present() > 0) {
    absl::StrAppend(&out, "; ", FormatCount(links.present() + clicks.present()),
                    " were already there from an earlier run");
  }
  absl::StrAppend(&out, "\nThe most popular link, ", ids[0], ", has ",
                  FormatCount(top.total_clicks()), " clicks in the last ", kDays,
                  " days (as of position ", FormatCount(top.position()), ").\n\nTry next:\n");
  absl::StrAppend(&out, "  strata links analytics ", ids[0], " --from ", from, " --to ", to, server,
                  "\n");
  absl::StrAppend(&out, "  strata links analytics ", ids[0], " --from ", from, " --to ", to,
                  " --as-of ", top.position() / 2, server, "   # the same, back in time\n");
  absl::StrAppend(&out, "  strata links get ", ids.size() > 1 ? ids[1] : ids[0], server, "\n");
  absl::StrAppend(&out, "  strata projections list", server, "\n");
  absl::StrAppend(&out, "  strata log read --backwards --max 5", server, "\n");
  WriteAll(stdout, out);
  return kExitOk;
}

}  // namespace strata::cli
