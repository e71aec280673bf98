// Test projections: a counter per stream and per event type (non-idempotent,
// so a double count shows), and one that fails on a chosen event type.
#ifndef STRATA_TESTS_PROJECTIONS_COUNTER_PROJECTION_H_
#define STRATA_TESTS_PROJECTIONS_COUNTER_PROJECTION_H_

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/event_log.h"
#include "projections/projection.h"

namespace strata::testing {

// Keys: "stream/<stream>" and "type/<type>" counters, "total" counter,
// "last/<stream>" = data of the stream's last event. Version `v` multiplies
// counts by v, so two versions give different answers.
class CounterProjection : public Projection {
 public:
  explicit CounterProjection(ProjectionVersion v = 1, std::string name = "counters")
      : version_(v), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  ProjectionVersion version() const override { return version_; }
  absl::Status Apply(const EventView& e, ProjectionWriter& w) override {
    w.Add(absl::StrCat("stream/", e.stream), version_);
    w.Add(absl::StrCat("type/", e.type), version_);
    w.Add("total", version_);
    w.Put(absl::StrCat("last/", e.stream), e.data);
    if (e.type == "Reset") w.Delete(absl::StrCat("stream/", e.stream));
    return absl::OkStatus();
  }

 private:
  ProjectionVersion version_;
  std::string name_;
};

// Fails on every event of type "Poison".
class PoisonedProjection : public Projection {
 public:
  std::string name() const override { return "poisoned"; }
  ProjectionVersion version() const override { return 1; }
  absl::Status Apply(const EventView& e, ProjectionWriter& w) override {
    if (e.type == "Poison") return absl::InvalidArgumentError("cannot digest Poison");
    w.Add("n", 1);
    return absl::OkStatus();
  }
};

// Every key/value of a reader's state.
inline std::map<std::string, std::string> Dump(const StateReader& r) {
  std::map<std::string, std::string> out;
  absl::Status s = r.Scan("", [&](absl::string_view k, absl::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  });
  if (!s.ok()) out["<error>"] = s.ToString();
  return out;
}

// An independent in-memory model of a projection's state: the oracle.
class MapWriter : public ProjectionWriter {
 public:
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override {
    auto it = state.find(std::string(key));
    if (it == state.end()) return std::nullopt;
    return it->second;
  }
  absl::Status ScanFrom(absl::string_view prefix, absl::string_view start,
                        const StateVisitor& visit) const override {
    for (auto it = state.lower_bound(std::string(std::max(prefix, start)));
         it != state.end() && absl::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      if (!visit(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }
  void Put(absl::string_view key, absl::string_view value) override {
    state[std::string(key)] = std::string(value);
  }
  void Delete(absl::string_view key) override { state.erase(std::string(key)); }
  void Add(absl::string_view key, uint64_t delta) override {
    auto& v = state[std::string(key)];
    uint64_t base = v.empty() ? 0 : DecodeCounter(v).value_or(0);
    v = EncodeCounter(base + delta);
  }
  std::map<std::string, std::string> state;
};

// The state a fresh fold of the first `position` events of `log` gives.
inline std::map<std::string, std::string> FreshFold(const EventLog& log, Projection& p,
                                                    GlobalPosition position) {
  MapWriter w;
  if (position == 0) return w.state;
  ReadAllOptions read;
  read.max_count = position;
  absl::Status s = log.ScanAll(read, [&](const EventView& e) {
    absl::Status a = p.Apply(e, w);
    return a.ok();
  });
  if (!s.ok()) w.state["<error>"] = s.ToString();
  return w.state;
}

}  // namespace strata::testing

#endif  // STRATA_TESTS_PROJECTIONS_COUNTER_PROJECTION_H_
