#include "tests/reliability/history_checker.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace strata::reliability {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "pending";
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kInfo:
      return "info";
  }
  return "?";
}

const char* OpTypeName(OpType type) {
  switch (type) {
    case OpType::kAppend:
      return "Append";
    case OpType::kCreateLink:
      return "CreateLink";
    case OpType::kRecordClick:
      return "RecordClick";
    case OpType::kUpdateDestination:
      return "UpdateDestination";
  }
  return "?";
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- History ----

uint64_t History::Invoke(Op op) {
  absl::MutexLock lock(&mu_);
  op.id = ops_.size() + 1;
  op.outcome = Outcome::kPending;
  op.invoke_ns = SteadyNowNs();
  ops_.push_back(std::move(op));
  return ops_.back().id;
}

void History::Complete(uint64_t id, Outcome outcome, const std::function<void(Op&)>& fill) {
  const int64_t now = SteadyNowNs();
  absl::MutexLock lock(&mu_);
  if (id == 0 || id > ops_.size()) return;
  Op& op = ops_[id - 1];
  if (op.outcome != Outcome::kPending) return;  // completes once
  op.outcome = outcome;
  op.complete_ns = now;
  fill(op);
}

void History::CompleteOk(uint64_t id, uint64_t first_position, uint64_t last_position,
                         uint64_t last_version, bool deduplicated) {
  Complete(id, Outcome::kOk, [&](Op& op) {
    op.first_position = first_position;
    op.last_position = last_position;
    op.last_version = last_version;
    op.deduplicated = deduplicated;
  });
}

void History::CompleteFail(uint64_t id, std::string error) {
  Complete(id, Outcome::kFail, [&](Op& op) { op.error = std::move(error); });
}

void History::CompleteInfo(uint64_t id, std::string error) {
  Complete(id, Outcome::kInfo, [&](Op& op) { op.error = std::move(error); });
}

void History::ResolvePending(const std::string& why) {
  const int64_t now = SteadyNowNs();
  absl::MutexLock lock(&mu_);
  for (Op& op : ops_) {
    if (op.outcome != Outcome::kPending) continue;
    op.outcome = Outcome::kInfo;
    op.complete_ns = now;
    op.error = why;
  }
}

std::vector<Op> History::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return ops_;
}

Op History::Get(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  if (id == 0 || id > ops_.size()) return Op();
  return ops_[id - 1];
}

OutcomeCounts History::Counts() const {
  absl::MutexLock lock(&mu_);
  OutcomeCounts c;
  for (const Op& op : ops_) {
    switch (op.outcome) {
      case Outcome::kOk:
        ++c.ok;
        break;
      case Outcome::kFail:
        ++c.fail;
        break;
      case Outcome::kInfo:
        ++c.info;
        break;
      case Outcome::kPending:
        ++c.pending;
        break;
    }
  }
  return c;
}

// ---- CheckReport ----

const char* RuleName(int rule) {
  static constexpr const char* kNames[kRuleCount + 1] = {
      "?",
      "ok append present exactly once",
      "no duplicate event id or (stream, version)",
      "nothing from a failed append, nothing unwritten",
      "info append all or nothing",
      "dense positions and stream versions",
      "event stays where first seen",
      "acknowledged before invoked means lower position",
      "ok reply positions are where the events are",
      "subscribers see every position, no gap",
      "read model equals a fresh fold",
  };
  return rule >= 1 && rule <= kRuleCount ? kNames[rule] : kNames[0];
}

uint64_t CheckReport::total_passed() const {
  uint64_t n = 0;
  for (uint64_t p : passed) n += p;
  return n;
}

std::string CheckReport::Summary(size_t max_violations) const {
  std::string out = absl::StrCat(log_events, " events; assertions held per rule:");
  for (int rule = 1; rule <= kRuleCount; ++rule) absl::StrAppend(&out, " ", rule, "=", passed[rule]);
  absl::StrAppend(&out, "; violations: ", violations.size());
  for (size_t i = 0; i < violations.size() && i < max_violations; ++i) {
    absl::StrAppend(&out, "\n  ", violations[i]);
  }
  if (violations.size() > max_violations) {
    absl::StrAppend(&out, "\n  ... and ", violations.size() - max_violations, " more");
  }
  return out;
}

void CheckReport::Merge(const CheckReport& other) {
  for (int rule = 0; rule <= kRuleCount; ++rule) passed[rule] += other.passed[rule];
  violations.insert(violations.end(), other.violations.begin(), other.violations.end());
  log_events = std::max(log_events, other.log_events);
  info_present += other.info_present;
  info_absent += other.info_absent;
}

// ---- Checker ----

namespace {

// Violations listed per rule and check; the rest are counted.
constexpr size_t kViolationsPerRuleMax = 50;

std::string Describe(const Op& op) {
  std::string out = absl::StrCat("op #", op.id, " (", OpTypeName(op.type), " by writer ",
                                 op.writer, " in cycle ", op.cycle, ", stream '", op.stream,
                                 "', ", OutcomeName(op.outcome));
  if (op.outcome == Outcome::kOk) {
    absl::StrAppend(&out, " at ", op.first_position, "..", op.last_position, " v",
                    op.last_version, op.deduplicated ? " dedup" : "");
  } else if (!op.error.empty()) {
    absl::StrAppend(&out, ": ", op.error.substr(0, 120));
  }
  absl::StrAppend(&out, ")");
  return out;
}

std::string PayloadKey(absl::string_view stream, absl::string_view data) {
  return absl::StrCat(stream, std::string(1, '\0'), data);
}

std::string DateOf(int64_t micros) {
  return absl::FormatCivilTime(
      absl::ToCivilDay(absl::FromUnixMicros(micros), absl::UTCTimeZone()));
}

// Clicks desc, then name asc; zero counts left out (as links.cc ranks them).
std::vector<std::pair<std::string, uint64_t>> Ranked(const std::map<std::string, uint64_t>& sums) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [name, clicks] : sums) {
    if (clicks != 0) out.emplace_back(name, clicks);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  return out;
}

std::string Format(const std::vector<std::pair<std::string, uint64_t>>& v) {
  std::string out = "{";
  for (const auto& [k, n] : v) absl::StrAppend(&out, out.size() > 1 ? ", " : "", "'", k, "':", n);
  return out + "}";
}

}  // namespace

CheckReport Checker::Check(const std::vector<Op>& ops, const std::vector<LogEvent>& log,
                           uint64_t head, const std::vector<const SubscriberLog*>& subscribers,
                           const std::vector<ReadModelAnswer>& models) {
  CheckReport r;
  r.log_events = log.size();
  std::array<size_t, kRuleCount + 1> listed{};
  size_t dropped = 0;
  auto violation = [&](int rule, const std::string& detail) {
    if (listed[rule]++ >= kViolationsPerRuleMax) {
      ++dropped;
      return;
    }
    r.violations.push_back(absl::StrCat("rule ", rule, " (", RuleName(rule), "): ", detail));
  };
  auto pass = [&](int rule, uint64_t n = 1) { r.passed[rule] += n; };

  // ---- Index the log; rule 5 (density) and rule 2 (uniqueness) ----
  absl::flat_hash_map<uint64_t, size_t> at_position;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_id;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_payload;  // link command events
  absl::flat_hash_map<std::string, uint64_t> stream_count;
  at_position.reserve(log.size());
  by_id.reserve(log.size());
  for (size_t i = 0; i < log.size(); ++i) {
    const LogEvent& e = log[i];
    if (e.position != i + 1) {
      violation(5, absl::StrCat("read event #", i + 1, " has position ", e.position,
                                " (expected ", i + 1, ")"));
    } else {
      pass(5);
    }
    at_position.emplace(e.position, i);
    by_id[e.event_id].push_back(i);
    if (absl::StartsWith(e.stream, "clicks-") || absl::StartsWith(e.stream, "link-")) {
      by_payload[PayloadKey(e.stream, e.data)].push_back(i);
    }
    uint64_t& n = stream_count[e.stream];
    if (e.version != n) {
      violation(5, absl::StrCat("position ", e.position, " is version ", e.version, " of '",
                                e.stream, "', but the stream had ", n,
                                " events before it (versions must be 0..n-1 in order)"));
      // (stream, version) duplicates are rule 2's: a repeated version is both.
      if (e.version < n) {
        violation(2, absl::StrCat("('", e.stream, "', ", e.version, ") appears again at position ",
                                  e.position));
      }
    } else {
      pass(5);
      pass(2);
    }
    n = std::max(n, e.version + 1);
  }
  if (log.size() != head || (!log.empty() && log.back().position != head)) {
    violation(5, absl::StrCat("a full read returned ", log.size(), " events ending at position ",
                              log.empty() ? 0 : log.back().position, ", but the head is ", head));
  } else {
    pass(5);
  }
  for (const auto& [id, where] : by_id) {
    if (where.size() != 1) {
      std::string positions;
      for (size_t i : where) absl::StrAppend(&positions, positions.empty() ? "" : ", ", log[i].position);
      violation(2, absl::StrCat("event id ", id, " appears ", where.size(), " times (positions ",
                                positions, ")"));
    } else {
      pass(2);
    }
  }

  // ---- Every operation against the log: rules 1, 3, 4, 8 ----
  std::vector<bool> claimed(log.size(), false);
  absl::flat_hash_map<std::string, const Op*> clicks_by_payload;
  absl::flat_hash_map<std::string, const Op*> link_ops_by_payload;  // create / update
  // Logical writes for rule 7: attempts sharing their first id (or payload).
  struct Logical {
    int64_t invoke_ns = INT64_MAX;
    int64_t ok_complete_ns = INT64_MAX;
    uint64_t first_position = 0;  // in the log; 0 = absent
    uint64_t last_position = 0;
    uint64_t op_id = 0;
  };
  absl::flat_hash_map<std::string, Logical> logical;

  for (const Op& op : ops) {
    const Outcome outcome = op.outcome == Outcome::kPending ? Outcome::kInfo : op.outcome;
    // Where each of the op's events is in the log (log index), or nullopt.
    std::vector<std::optional<size_t>> where;
    std::string logical_key;
    if (op.type == OpType::kAppend) {
      for (const std::string& id : op.event_ids) {
        auto it = by_id.find(id);
        where.push_back(it == by_id.end() ? std::nullopt : std::optional<size_t>(it->second[0]));
        if (it != by_id.end() && it->second.size() > 1 && outcome == Outcome::kOk) {
          violation(1, absl::StrCat(Describe(op), ": event ", id, " is present ",
                                    it->second.size(), " times"));
        }
      }
      logical_key = op.event_ids.empty() ? absl::StrCat("#", op.id) : op.event_ids[0];
    } else {
      const std::string key = PayloadKey(op.stream, op.payloads.empty() ? "" : op.payloads[0]);
      auto it = by_payload.find(key);
      const size_t copies = it == by_payload.end() ? 0 : it->second.size();
      where.push_back(copies == 0 ? std::nullopt : std::optional<size_t>(it->second[0]));
      if (copies > 1) {
        violation(outcome == Outcome::kOk ? 1 : 2,
                  absl::StrCat(Describe(op), ": its event is present ", copies, " times"));
      }
      if (op.type == OpType::kRecordClick) {
        clicks_by_payload.emplace(key, &op);
      } else {
        link_ops_by_payload.emplace(key, &op);
      }
      logical_key = key;
    }
    const size_t n = where.size();
    size_t present = 0;
    for (const auto& w : where) {
      if (w.has_value()) {
        ++present;
        claimed[*w] = true;
      }
    }
    // The events' positions must be consecutive, in order, in the op's stream
    // with consecutive versions (an append is one atomic batch).
    auto check_batch = [&](int rule) {
      bool good = true;
      for (size_t i = 0; i < n && good; ++i) {
        const LogEvent& e = log[*where[i]];
        const LogEvent& first = log[*where[0]];
        if (e.position != first.position + i || e.stream != op.stream ||
            e.version != first.version + i) {
          violation(rule, absl::StrCat(Describe(op), ": event ", i, " is at position ",
                                       e.position, " (", e.stream, " v", e.version,
                                       "), not next to event 0 at ", first.position, " (",
                                       first.stream, " v", first.version, ")"));
          good = false;
        }
      }
      if (good) pass(rule);
      // An exact expected version v puts the first event at v + 1; none at 0.
      if (good && op.retry_of == 0 && !op.deduplicated) {
        const uint64_t v0 = log[*where[0]].version;
        if (op.expected_kind == ExpectedKind::kExact && v0 != op.expected_version + 1) {
          violation(rule == 4 ? 4 : 8,
                    absl::StrCat(Describe(op), ": expected version ", op.expected_version,
                                 " but its first event is version ", v0));
        } else if (op.expected_kind == ExpectedKind::kNoStream && v0 != 0) {
          violation(rule == 4 ? 4 : 8, absl::StrCat(Describe(op), ": expected no stream but its "
                                                    "first event is version ", v0));
        } else {
          pass(rule == 4 ? 4 : 8);
        }
      }
      return good;
    };
    switch (outcome) {
      case Outcome::kOk: {
        if (present != n || n == 0) {
          for (size_t i = 0; i < n; ++i) {
            if (!where[i].has_value()) {
              violation(1, absl::StrCat(Describe(op), ": event ", i, " (",
                                        op.type == OpType::kAppend ? op.event_ids[i] : "payload",
                                        ") is missing from the log (head ", head, ")"));
            }
          }
          break;
        }
        pass(1, n);
        // Rule 8: the reply's positions and version are where the events are.
        const LogEvent& first = log[*where[0]];
        const LogEvent& last = log[*where[n - 1]];
        if (first.position != op.first_position || last.position != op.last_position ||
            last.version != op.last_version || op.last_position - op.first_position + 1 != n) {
          violation(8, absl::StrCat(Describe(op), ": the log has its events at ", first.position,
                                    "..", last.position, " (last version ", last.version, ")"));
        } else {
          pass(8);
        }
        check_batch(8);
        break;
      }
      case Outcome::kFail:
        if (present != 0) {
          uint64_t at = 0;
          for (const auto& w : where) {
            if (w.has_value() && at == 0) at = log[*w].position;
          }
          violation(3, absl::StrCat(Describe(op), ": ", present, " of its ", n,
                                    " events are in the log, the first at position ", at));
        } else {
          pass(3);
        }
        break;
      case Outcome::kInfo:
      case Outcome::kPending:
        if (present != 0 && present != n) {
          violation(4, absl::StrCat(Describe(op), ": ", present, " of its ", n,
                                    " events are in the log"));
        } else {
          pass(4);
          if (present == n && n > 0) check_batch(4);
          ++(present == 0 ? r.info_absent : r.info_present);
        }
        break;
    }
    // Rule 7 bookkeeping.
    Logical& l = logical[logical_key];
    l.invoke_ns = std::min(l.invoke_ns, op.invoke_ns);
    if (outcome == Outcome::kOk) l.ok_complete_ns = std::min(l.ok_complete_ns, op.complete_ns);
    if (l.op_id == 0) l.op_id = op.id;
    if (present == n && n > 0) {
      l.first_position = log[*where[0]].position;
      l.last_position = log[*where[n - 1]].position;
    }
  }
  // Rule 3: every event in the log was written by some operation. Events of
  // the system's own streams ('$', e.g. a DefineProjection's event in
  // "$projections") are no client's: clients may not write there.
  for (size_t i = 0; i < log.size(); ++i) {
    if (!claimed[i] && !absl::StartsWith(log[i].stream, "$")) {
      violation(3, absl::StrCat("the event at position ", log[i].position, " ('", log[i].stream,
                                "' v", log[i].version, ", id ", log[i].event_id,
                                ") was written by no operation of the history"));
    } else {
      pass(3);
    }
  }

  // ---- Rule 7: real-time order of acknowledged writes ----
  {
    struct Acked {
      int64_t complete_ns;
      uint64_t last_position;
      uint64_t op_id;
    };
    std::vector<Acked> acked;
    for (const auto& [key, l] : logical) {
      if (l.ok_complete_ns != INT64_MAX && l.first_position != 0) {
        acked.push_back({l.ok_complete_ns, l.last_position, l.op_id});
      }
    }
    std::sort(acked.begin(), acked.end(),
              [](const Acked& a, const Acked& b) { return a.complete_ns < b.complete_ns; });
    std::vector<size_t> prefix_max(acked.size());  // index of the max last_position so far
    for (size_t i = 0; i < acked.size(); ++i) {
      prefix_max[i] = i == 0 || acked[i].last_position > acked[prefix_max[i - 1]].last_position
                          ? i
                          : prefix_max[i - 1];
    }
    for (const auto& [key, b] : logical) {
      if (b.first_position == 0) continue;
      // Acknowledged strictly before b was invoked.
      auto end = std::lower_bound(acked.begin(), acked.end(), b.invoke_ns,
                                  [](const Acked& a, int64_t t) { return a.complete_ns < t; });
      if (end == acked.begin()) {
        pass(7);
        continue;
      }
      const Acked& a = acked[prefix_max[(end - acked.begin()) - 1]];
      if (a.last_position >= b.first_position) {
        violation(7, absl::StrCat("op #", a.op_id, " was acknowledged (its last event at ",
                                  a.last_position, ") before op #", b.op_id,
                                  " was invoked, yet op #", b.op_id, " is at position ",
                                  b.first_position));
      } else {
        pass(7);
      }
    }
  }

  // ---- Rule 9 (and rule 6 for what subscribers saw) ----
  for (const SubscriberLog* sub : subscribers) {
    std::vector<size_t> matching;  // log indexes the subscriber must see, in order
    for (size_t i = 0; i < log.size(); ++i) {
      if (absl::StartsWith(log[i].stream, sub->stream_prefix)) matching.push_back(i);
    }
    size_t& checked = subscriber_checked_[sub->name];
    for (size_t i = checked; i < sub->events.size(); ++i) {
      const SubscriberLog::Seen& s = sub->events[i];
      if (i >= matching.size()) {
        violation(9, absl::StrCat("subscriber ", sub->name, " received event #", i + 1,
                                  " at position ", s.position, " (", s.event_id,
                                  "), but the log has only ", matching.size(),
                                  " matching events"));
      } else if (s.position != log[matching[i]].position) {
        const LogEvent& want = log[matching[i]];
        violation(9, absl::StrCat("subscriber ", sub->name, " received position ", s.position,
                                  " as its event #", i + 1, "; the log's is at ", want.position,
                                  i == 0 ? "" : absl::StrCat(" (previous received: ",
                                                             sub->events[i - 1].position, ")")));
      } else {
        pass(9);
      }
      // Rule 6: the event it saw is still there, at that position.
      auto at = at_position.find(s.position);
      if (at == at_position.end() || log[at->second].event_id != s.event_id ||
          log[at->second].stream != s.stream || log[at->second].version != s.version) {
        violation(6, absl::StrCat("subscriber ", sub->name, " saw ", s.event_id, " ('", s.stream,
                                  "' v", s.version, ") at position ", s.position,
                                  "; the log now has ",
                                  at == at_position.end()
                                      ? std::string("nothing there")
                                      : absl::StrCat(log[at->second].event_id, " ('",
                                                     log[at->second].stream, "' v",
                                                     log[at->second].version, ")")));
      } else {
        pass(6);
      }
      auto [seen, inserted] = first_seen_.try_emplace(s.event_id, Seen{s.position, true});
      if (!inserted && seen->second.position != s.position) {
        violation(6, absl::StrCat("subscriber ", sub->name, " saw ", s.event_id, " at position ",
                                  s.position, ", first seen at ", seen->second.position));
      }
    }
    checked = sub->events.size();
    // Each session resumed right after the last event seen before it.
    for (size_t k = 0; k < sub->sessions.size(); ++k) {
      const SubscriberLog::Session& session = sub->sessions[k];
      const uint64_t last_before =
          session.first_event == 0 ? 0 : sub->events[session.first_event - 1].position;
      if (session.after_position != last_before) {
        violation(9, absl::StrCat("subscriber ", sub->name, " session ", k + 1,
                                  " resumed after position ", session.after_position,
                                  ", but the last event it had seen was at ", last_before));
      }
    }
    // CaughtUp(P): everything matching up to P was sent before it.
    for (const auto& [received, position] : sub->caught_up) {
      const uint64_t last = received == 0 ? 0 : sub->events[received - 1].position;
      // Matching events at positions in (last, position] that were not sent.
      auto next = std::upper_bound(matching.begin(), matching.end(), last,
                                   [&](uint64_t p, size_t idx) { return p < log[idx].position; });
      if (position < last) {
        violation(9, absl::StrCat("subscriber ", sub->name, " got CaughtUp(", position,
                                  ") after receiving position ", last));
      } else if (next != matching.end() && log[*next].position <= position) {
        violation(9, absl::StrCat("subscriber ", sub->name, " got CaughtUp(", position,
                                  ") after receiving position ", last, ", but position ",
                                  log[*next].position, " matches and was not sent before it"));
      } else if (position > head) {
        violation(9, absl::StrCat("subscriber ", sub->name, " got CaughtUp(", position,
                                  ") beyond the head ", head));
      } else {
        pass(9);
      }
    }
  }

  // ---- Rule 6: events stay where first seen, across restarts ----
  if (head < last_head_) {
    violation(6, absl::StrCat("the head went back from ", last_head_, " to ", head));
  }
  last_head_ = std::max(last_head_, head);
  for (const LogEvent& e : log) {
    auto [seen, inserted] = first_seen_.try_emplace(e.event_id, Seen{e.position, false});
    if (!inserted) {
      if (seen->second.position != e.position) {
        violation(6, absl::StrCat("event ", e.event_id, " ('", e.stream, "' v", e.version,
                                  ") is at position ", e.position, ", first seen at ",
                                  seen->second.position,
                                  seen->second.from_subscriber ? " by a subscriber" : ""));
      } else {
        pass(6);
      }
    }
  }
  for (const auto& [id, seen] : first_seen_) {
    if (!by_id.contains(id)) {
      violation(6, absl::StrCat("event ", id, ", seen at position ", seen.position,
                                seen.from_subscriber ? " by a subscriber" : " by a read",
                                ", is gone from the log"));
    }
  }

  // ---- Rule 10: read models equal a fresh fold of the log ----
  absl::flat_hash_map<std::string, std::vector<size_t>> by_stream;  // link domain streams
  for (size_t i = 0; i < log.size(); ++i) {
    if (absl::StartsWith(log[i].stream, "clicks-") || absl::StartsWith(log[i].stream, "link-")) {
      by_stream[log[i].stream].push_back(i);
    }
  }
  static const std::vector<size_t> kNone;
  auto events_of = [&](const std::string& stream) -> const std::vector<size_t>& {
    auto it = by_stream.find(stream);
    return it == by_stream.end() ? kNone : it->second;
  };
  for (const ReadModelAnswer& m : models) {
    const std::string what = absl::StrCat(
        "link '", m.link_id, "' ",
        m.as_of ? absl::StrCat("as of ", *m.as_of)
                : m.any_position ? "read during the load" : "live after the restart");
    if (!m.error.empty()) {
      violation(10, absl::StrCat(what, ": the query failed: ", m.error));
      continue;
    }
    const uint64_t want_position = m.any_position ? std::min(m.position, head)
                                                  : m.as_of.value_or(head);
    if (m.position != want_position) {
      violation(10, absl::StrCat(what, ": answered at position ", m.position, ", expected ",
                                 want_position));
      continue;
    }
    pass(10);
    absl::CivilDay from;
    absl::CivilDay to;
    if (!absl::ParseCivilTime(m.from_date, &from) || !absl::ParseCivilTime(m.to_date, &to)) {
      violation(10, absl::StrCat(what, ": bad query range ", m.from_date, "..", m.to_date));
      continue;
    }
    // The fold: every click event of the link up to the position.
    const std::string click_stream = absl::StrCat("clicks-", m.link_id);
    const std::string link_stream = absl::StrCat("link-", m.link_id);
    uint64_t all_time = 0;
    uint64_t total = 0;
    std::optional<uint64_t> link_version;
    std::optional<std::string> destination;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    std::map<std::string, uint64_t> days;
    std::map<std::string, uint64_t> countries;
    std::map<std::string, uint64_t> devices;
    bool foldable = true;
    for (size_t i : events_of(link_stream)) {
      const LogEvent& e = log[i];
      if (e.position > m.position) break;
      link_version = e.version;
      updated_at = e.recorded_at_us;
      if (e.type == "LinkCreated") created_at = e.recorded_at_us;
      auto op = link_ops_by_payload.find(PayloadKey(e.stream, e.data));
      destination = op == link_ops_by_payload.end() ? std::optional<std::string>()
                                                    : op->second->destination;
    }
    for (size_t i : events_of(click_stream)) {
      const LogEvent& e = log[i];
      if (e.position > m.position) break;
      if (e.type != "ClickRecorded") continue;
      ++all_time;
      auto op = clicks_by_payload.find(PayloadKey(e.stream, e.data));
      if (op == clicks_by_payload.end()) {
        foldable = false;  // a click no command wrote: already a rule 3 violation
        continue;
      }
      const Op& click = *op->second;
      const std::string date = DateOf(click.clicked_at_us != 0 ? click.clicked_at_us
                                                               : e.recorded_at_us);
      if (date < m.from_date || date > m.to_date) continue;
      ++total;
      ++days[date];
      ++countries[click.country];
      ++devices[click.device];
    }
    auto expect_eq = [&](const char* field, uint64_t got, uint64_t want) {
      if (got != want) {
        violation(10, absl::StrCat(what, ": ", field, " is ", got, "; the log's fold up to ",
                                   m.position, " gives ", want));
      } else {
        pass(10);
      }
    };
    expect_eq("all_time_clicks", m.all_time_clicks, all_time);
    if (m.link_version.has_value()) {
      expect_eq("GetLink version", *m.link_version, link_version.value_or(UINT64_MAX));
      expect_eq("GetLink created_at", static_cast<uint64_t>(m.link_created_at_us),
                static_cast<uint64_t>(created_at));
      expect_eq("GetLink updated_at", static_cast<uint64_t>(m.link_updated_at_us),
                static_cast<uint64_t>(updated_at));
      if (m.link_destination.has_value() && destination.has_value()) {
        if (*m.link_destination != *destination) {
          violation(10, absl::StrCat(what, ": GetLink destination is '", *m.link_destination,
                                     "'; the log's fold up to ", m.position, " gives '",
                                     *destination, "'"));
        } else {
          pass(10);
        }
      }
    }
    if (!foldable) continue;
    expect_eq("total_clicks", m.total_clicks, total);
    std::vector<std::pair<std::string, uint64_t>> want_days;
    for (absl::CivilDay d = from; d <= to; ++d) {
      const std::string date = absl::FormatCivilTime(d);
      auto it = days.find(date);
      want_days.emplace_back(date, it == days.end() ? 0 : it->second);
    }
    auto expect_list = [&](const char* field, const std::vector<std::pair<std::string, uint64_t>>& got,
                           const std::vector<std::pair<std::string, uint64_t>>& want) {
      if (got != want) {
        violation(10, absl::StrCat(what, ": ", field, " is ", Format(got),
                                   "; the log's fold up to ", m.position, " gives ", Format(want)));
      } else {
        pass(10);
      }
    };
    expect_list("by_day", m.by_day, want_days);
    expect_list("by_country", m.by_country, Ranked(countries));
    expect_list("by_device", m.by_device, Ranked(devices));
  }

  if (dropped > 0) {
    r.violations.push_back(absl::StrCat("... and ", dropped, " more violations not listed"));
  }
  return r;
}

}  // namespace strata::reliability
