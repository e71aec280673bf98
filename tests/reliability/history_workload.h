// The load the history harness puts on stratad: concurrent writers and live
// subscribers, every call recorded in a History.
//
// Writers (each with its own connection) loop until asked to stop:
//  - RecordClick on one of the links, with a unique request_id, a unique
//    clicked_at (so its payload is unique), a country and a device;
//  - UpdateDestination of a link with a unique destination and the link's
//    version as expected version (re-read and retried after ABORTED);
//  - Append of 1..N events with fresh ids to one of the shared streams,
//    either with expected version ANY or with the exact version the writer
//    believes the stream is at (read with ReadStream backwards, max 1). After
//    ABORTED (fail) it re-reads the head and retries with fresh ids.
// Subscribers (one per filter prefix) persist across Start/Join rounds: each
// session resumes with after_position = the last position seen, and some
// sessions are cancelled at random to exercise reconnects.
// Optionally a thread calls Projections.RebuildProjection now and then.
//
// Thread-safety: Start, RequestStop and Join are called from one thread. The
// subscriber logs may be read only between Join and the next Start.
#ifndef STRATA_TESTS_RELIABILITY_HISTORY_WORKLOAD_H_
#define STRATA_TESTS_RELIABILITY_HISTORY_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/reliability/history_checker.h"

namespace strata::reliability {

struct WorkloadOptions {
  int writers = 4;
  // Streams the appends go to (shared by all writers, so exact expected
  // versions conflict).
  std::vector<std::string> streams = {"s-0", "s-1", "s-2"};
  // Links to click on (created beforehand); empty: no clicks.
  std::vector<std::string> links;
  double click_share = 0.3;        // of all ops
  // Of all ops: UpdateDestination on a link with the exact version the
  // writer believes it is at (ABORTED -> re-read, retry).
  double update_share = 0.08;
  double any_share = 0.35;         // of appends; the rest use an exact version
  int events_per_append_max = 3;
  int exact_retries_max = 3;       // after ABORTED
  uint64_t ops_per_writer_max = UINT64_MAX;  // per Start
  absl::Duration pause_max = absl::Milliseconds(2);  // random pause between ops
  absl::Duration call_timeout = absl::Seconds(10);
  // Clicks fall on days [first_day, first_day + days).
  absl::CivilDay first_day;
  int days = 7;
  // One subscriber per prefix ("" = unfiltered).
  std::vector<std::string> subscriber_prefixes = {"", "clicks-"};
  // Chance per received event that a subscriber cancels and resumes.
  double subscriber_reconnect_chance = 0.01;
  // Threads that query the link read models during the load
  // (GetLinkAnalytics without min_position, then GetLink as of the position
  // it answered); their answers are checked against the final log.
  int model_readers = 1;
  std::string from_date;  // the queries' range (YYYY-MM-DD)
  std::string to_date;
  // When > 0, a thread calls RebuildProjection on link_clicks and
  // link_details alternately, pausing this long between calls.
  absl::Duration rebuild_every = absl::ZeroDuration();
};

class Workload {
 public:
  Workload(History* history, WorkloadOptions options, uint64_t seed);
  ~Workload();

  // Starts the writers and subscribers against `address`; ops are tagged
  // with `cycle`. With `kurrent_address` (stratad's KurrentDB protocol), the
  // odd-numbered writers send their expected-version-any appends through it.
  void Start(const std::string& address, int cycle, const std::string& kurrent_address = "");
  // Writers issue no new call; calls in flight finish as they will.
  void RequestStop();
  // Waits for the writers; cancels and waits for the subscribers.
  void Join();

  std::vector<const SubscriberLog*> subscribers() const;
  // Takes the answers the model readers got since the last call (each is
  // checked once: positions up to the head never change). Failed queries are
  // counted, not kept.
  std::vector<ReadModelAnswer> TakeModelAnswers();
  uint64_t model_queries_failed() const { return model_queries_failed_.load(); }
  // Rebuild calls made / accepted.
  uint64_t rebuilds_ok() const { return rebuilds_ok_.load(); }
  // Appends acknowledged through the KurrentDB protocol.
  uint64_t kurrent_appends_ok() const { return kurrent_appends_ok_.load(); }

  // A clicked_at (microseconds) unique in this process, on a day of the
  // range, never in the future.
  static int64_t UniqueClickTime(absl::CivilDay day);

 private:
  void RunWriter(int writer, std::string address, std::string kurrent_address, int cycle,
                 uint64_t seed);
  void RunSubscriber(SubscriberLog* log, std::string address, uint64_t seed);
  void RunRebuilder(std::string address, uint64_t seed);
  void RunModelReader(std::string address, uint64_t seed);

  History* const history_;
  const WorkloadOptions options_;
  const uint64_t seed_;
  uint64_t round_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<SubscriberLog>> subscriber_logs_;
  absl::Mutex contexts_mu_;
  std::vector<grpc::ClientContext*> subscriber_contexts_ ABSL_GUARDED_BY(contexts_mu_);
  std::atomic<uint64_t> rebuilds_ok_{0};
  std::atomic<uint64_t> kurrent_appends_ok_{0};
  absl::Mutex answers_mu_;
  std::vector<ReadModelAnswer> model_answers_ ABSL_GUARDED_BY(answers_mu_);
  std::atomic<uint64_t> model_queries_failed_{0};
};

}  // namespace strata::reliability

#endif  // STRATA_TESTS_RELIABILITY_HISTORY_WORKLOAD_H_
