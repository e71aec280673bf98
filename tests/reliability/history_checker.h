// The history-and-checker harness of the reliability suite (see
// /work/shared/RELIABILITY.md, "The harness").
//
// History records every client operation against stratad: who issued it,
// what it asked for (stream, expected version, event ids, click payload),
// when it was invoked and completed (steady clock), and its outcome:
//  - ok:   the server acknowledged it (with the positions it returned);
//  - fail: the server definitely rejected it (e.g. ABORTED on a stale
//          expected version): nothing of it may ever appear;
//  - info: unknown (connection lost, server killed, deadline): it may or may
//          not have happened, but only as a whole.
//
// Checker verifies the ten rules of RELIABILITY.md against a full read of
// the log (ReadAll over gRPC after a restart), the observations of live
// subscribers and the answers of the link analytics read models:
//   1 every event of an ok append is present exactly once;
//   2 no event id and no (stream, version) appears twice;
//   3 nothing from a failed append appears, and nothing nobody wrote;
//   4 an info append is all there or not at all;
//   5 positions run 1..head with no gap; each stream's versions are 0..n-1;
//   6 an event stays at the position first seen, across restarts;
//   7 if A was acknowledged before B was invoked, A's position < B's;
//   8 positions returned in ok replies are where the events are (and an
//     exact expected version v put the first event at version v + 1);
//   9 each subscriber saw increasing positions with no gap, also across
//     reconnects (unfiltered: every position; filtered: every match);
//  10 each read model answer equals a fresh fold of the log up to the
//     position it reports.
// Checker keeps what it must remember between checks (positions first seen,
// how far each subscriber was verified), so one Checker follows one data
// directory through many restarts.
//
// Events of link commands (CreateLink, RecordClick) have ids the server
// derives from the request id, unknown here; they are matched by their
// payload instead, which the workload makes unique (a click's clicked_at is
// unique), so every click in the log maps back to the command that wrote it.
//
// Thread-safety: History is thread-safe. Checker is not (one caller).
#ifndef STRATA_TESTS_RELIABILITY_HISTORY_CHECKER_H_
#define STRATA_TESTS_RELIABILITY_HISTORY_CHECKER_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace strata::reliability {

enum class Outcome { kPending, kOk, kFail, kInfo };
const char* OutcomeName(Outcome outcome);

enum class OpType { kAppend, kCreateLink, kRecordClick, kUpdateDestination };
const char* OpTypeName(OpType type);

// The expected-version kinds of strata.v1.ExpectedVersion.
enum class ExpectedKind { kAny, kNoStream, kStreamExists, kExact };

// Nanoseconds on the steady clock: only differences and order matter.
int64_t SteadyNowNs();

struct Op {
  uint64_t id = 0;  // 1-based, assigned by History::Invoke
  int writer = 0;
  int cycle = 0;
  OpType type = OpType::kAppend;
  std::string stream;  // for commands, the stream the event goes to
  ExpectedKind expected_kind = ExpectedKind::kAny;
  uint64_t expected_version = 0;  // kExact only
  // Appends: one lower-case UUID and one payload per event, unique per
  // attempt (a retry after a definite failure uses fresh ids). Commands: no
  // ids, one payload (the exact event data the server will store).
  std::vector<std::string> event_ids;
  std::vector<std::string> payloads;
  // RecordClick only: what the click counts under.
  std::string link_id;
  std::string request_id;
  std::string country;  // "" = unknown
  std::string device;   // "desktop", "mobile", ...
  int64_t clicked_at_us = 0;
  // UpdateDestination only (with expected_kind kExact and expected_version,
  // or kStreamExists).
  std::string destination;
  // A retry of op `retry_of` with the same ids or request id (an ambiguous
  // ack resolved by retrying): both are one logical write for rule 7.
  uint64_t retry_of = 0;

  Outcome outcome = Outcome::kPending;
  std::string error;  // fail/info: "CODE: message"
  // ok only: what the reply said.
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  uint64_t last_version = 0;
  bool deduplicated = false;
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;
};

struct OutcomeCounts {
  uint64_t ok = 0;
  uint64_t fail = 0;
  uint64_t info = 0;
  uint64_t pending = 0;
  uint64_t total() const { return ok + fail + info + pending; }
};

class History {
 public:
  // Records the invocation of `op` (stamping invoke_ns) and returns its id.
  uint64_t Invoke(Op op);
  // Completions (stamp complete_ns). Each id completes once.
  void CompleteOk(uint64_t id, uint64_t first_position, uint64_t last_position,
                  uint64_t last_version, bool deduplicated);
  void CompleteFail(uint64_t id, std::string error);
  void CompleteInfo(uint64_t id, std::string error);
  // Turns every pending op into info (e.g. a call abandoned at a crash).
  void ResolvePending(const std::string& why);

  std::vector<Op> Snapshot() const;
  Op Get(uint64_t id) const;
  OutcomeCounts Counts() const;

 private:
  void Complete(uint64_t id, Outcome outcome, const std::function<void(Op&)>& fill);

  mutable absl::Mutex mu_;
  std::vector<Op> ops_ ABSL_GUARDED_BY(mu_);  // ops_[id - 1]
};

// One event of a full read of the log.
struct LogEvent {
  uint64_t position = 0;
  std::string stream;
  uint64_t version = 0;
  std::string event_id;
  std::string type;
  std::string data;
  int64_t recorded_at_us = 0;
};

// What one subscriber (a logical reader that resumes after every reconnect
// from the last position it saw) received, across all its sessions.
struct SubscriberLog {
  struct Seen {
    uint64_t position = 0;
    std::string stream;
    uint64_t version = 0;
    std::string event_id;
  };
  struct Session {
    uint64_t after_position = 0;  // what the session asked to resume after
    size_t first_event = 0;       // index into events of its first event
    std::string end;              // how it ended
  };
  std::string name;
  std::string stream_prefix;  // the filter; "" = every event
  std::vector<Seen> events;
  std::vector<Session> sessions;
  // CaughtUp messages: (events received before it, position reported).
  std::vector<std::pair<size_t, uint64_t>> caught_up;
  uint64_t last_position = 0;  // resume point: the last event position seen
};

// One answer of GetLinkAnalytics (and GetLink's version of the link).
struct ReadModelAnswer {
  std::string link_id;
  std::optional<uint64_t> as_of;  // none: the live model after min_position
  // Asked during the load without min_position: any position up to the head
  // is a valid answer, as long as the answer is the fold up to it.
  bool any_position = false;
  std::string from_date;          // YYYY-MM-DD, the query's range
  std::string to_date;
  std::string error;              // non-empty: the query failed
  uint64_t position = 0;
  uint64_t total_clicks = 0;
  uint64_t all_time_clicks = 0;
  std::vector<std::pair<std::string, uint64_t>> by_day;
  std::vector<std::pair<std::string, uint64_t>> by_country;
  std::vector<std::pair<std::string, uint64_t>> by_device;
  // GetLink at the same position, when asked.
  std::optional<uint64_t> link_version;
  std::optional<std::string> link_destination;
  int64_t link_created_at_us = 0;
  int64_t link_updated_at_us = 0;
};

// Rule numbers are 1..10; index 0 is unused.
inline constexpr int kRuleCount = 10;
const char* RuleName(int rule);

struct CheckReport {
  std::array<uint64_t, kRuleCount + 1> passed{};  // individual assertions that held
  std::vector<std::string> violations;            // "rule N (name): detail"
  uint64_t log_events = 0;
  // How the info ops of this check resolved: found whole / not at all
  // (Merge sums them over checks).
  uint64_t info_present = 0;
  uint64_t info_absent = 0;
  uint64_t total_passed() const;
  bool ok() const { return violations.empty(); }
  // One line: assertions per rule, then at most `max_violations` violations.
  std::string Summary(size_t max_violations = 20) const;
  void Merge(const CheckReport& other);
};

class Checker {
 public:
  // Checks everything the history and observations say against `log` (a
  // full forward ReadAll) and `head` (the head the restarted server
  // recovered). `ops` must all be completed (pending ones count as info).
  // `models` may be empty. Remembers positions first seen for later calls.
  CheckReport Check(const std::vector<Op>& ops, const std::vector<LogEvent>& log, uint64_t head,
                    const std::vector<const SubscriberLog*>& subscribers,
                    const std::vector<ReadModelAnswer>& models);

 private:
  struct Seen {
    uint64_t position;
    bool from_subscriber;
  };
  // event id -> position first seen (by a read or a subscriber).
  absl::flat_hash_map<std::string, Seen> first_seen_;
  // subscriber name -> events already verified.
  std::map<std::string, size_t> subscriber_checked_;
  uint64_t last_head_ = 0;
};

}  // namespace strata::reliability

#endif  // STRATA_TESTS_RELIABILITY_HISTORY_CHECKER_H_
