// Fixtures for defined projection tests: an orders domain of JSON events
// (with deliberate bad events), a definition using every operation and key
// part over it, and an independent fold of the same events written directly
// from the generated facts (no JSON parsing, no projection code).
#ifndef STRATA_TESTS_PROJECTIONS_DEFINED_FIXTURES_H_
#define STRATA_TESTS_PROJECTIONS_DEFINED_FIXTURES_H_

#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/event.h"
#include "google/protobuf/util/json_util.h"
#include "projections/defined/rows.h"
#include "projections/defined/value.h"
#include "schemas/definition.pb.h"

namespace strata::defined {
inline void PrintTo(const Value& v, std::ostream* os) { *os << ToJson(v); }
inline void PrintTo(const Row& row, std::ostream* os) {
  *os << "[";
  for (const std::string& part : row.key) *os << "'" << part << "' ";
  *os << "] {";
  for (const auto& [name, v] : row.values) *os << name << ": " << ToJson(v) << ", ";
  *os << "}\n";
}
}  // namespace strata::defined

namespace strata::testing {

inline v1::ProjectionDefinition ParseDefinition(const std::string& json) {
  v1::ProjectionDefinition out;
  auto s = google::protobuf::util::JsonStringToMessage(json, &out);
  if (!s.ok()) ADD_FAILURE() << "definition JSON: " << s.ToString() << "\n" << json;
  return out;
}

// Every operation and key part. `policy`: "fail" or "skip".
inline std::string OrdersDefinitionJson(const std::string& name, const std::string& policy) {
  std::string json = R"({
  "name": "NAME",
  "source": {"stream_prefixes": ["order-"], "streams": ["special"]},
  "on_bad_event": "POLICY",
  "rules": [
    {"event_types": ["OrderPlaced"],
     "keys": [
       {"parts": [{"literal": "c"}, {"data": "/customer/id"},
                  {"time": {"unit": "month", "data": "/placed_at"}}]},
       {"parts": [{"literal": "all"}]}],
     "operations": [
       {"field": "orders", "count": {}},
       {"field": "revenue", "sum": {"data": "/amount"}},
       {"field": "smallest", "min": {"data": "/amount"}},
       {"field": "largest", "max": {"data": "/amount"}}]},
    {"event_types": ["OrderPlaced", "OrderShipped"],
     "keys": [{"parts": [{"literal": "o"}, {"event": "stream_id"}]}],
     "operations": [
       {"field": "status", "last": {"event": "event_type"}},
       {"field": "placed_pos", "first": {"event": "position"}},
       {"field": "doc", "set": {"fields": {"version": {"event": "stream_version"},
                                           "tag": {"constant": "\"x\""}}}}]},
    {"event_types": ["OrderShipped"],
     "keys": [{"parts": [{"literal": "o"}, {"event": "stream_id"}]}],
     "operations": [{"field": "doc", "set": {"fields": {"carrier": {"data": "/carrier"}}}}]},
    {"event_types": ["OrderDeleted"],
     "keys": [{"parts": [{"literal": "o"}, {"event": "stream_id"}]}],
     "operations": [{"delete": {}}]},
    {"keys": [
       {"parts": [{"literal": "t"}, {"event": "category"}, {"event": "event_type"},
                  {"time": {"unit": "day"}}]},
       {"parts": [{"literal": "m"}, {"metadata": "/tenant"}]}],
     "operations": [{"field": "n", "count": {}}]}
  ]
})";
  absl::StrReplaceAll({{"NAME", name}, {"POLICY", policy}}, &json);
  return json;
}

// One generated event and the facts it carries.
struct OrderEvent {
  std::string stream;
  std::string type;
  std::string data;      // JSON (or, for a bad event, not)
  std::string metadata;  // JSON
  int64_t recorded_at_us = 0;
  bool bad = false;      // the definition cannot fold it
  // Facts (OrderPlaced / OrderShipped):
  std::string customer;
  int64_t placed_at_us = 0;
  bool amount_is_double = false;
  int64_t amount_int = 0;
  double amount_double = 0;
  std::string carrier;
  std::string tenant;
};

// `n` events over a few orders, customers, tenants and months; when
// `bad_every` > 0, about one in `bad_every` is malformed in a rotating way.
inline std::vector<OrderEvent> GenerateOrders(int n, uint32_t seed, int bad_every) {
  std::mt19937 rng(seed);
  std::vector<OrderEvent> out;
  const int64_t base_us = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  int bad_kind = 0;
  for (int i = 0; i < n; ++i) {
    OrderEvent e;
    e.recorded_at_us = base_us + static_cast<int64_t>(i) * 7 * 3600 * 1'000'000LL;
    e.tenant = rng() % 2 == 0 ? "t1" : "t2";
    e.metadata = absl::StrCat(R"({"tenant":")", e.tenant, R"(","trace":[1,2]})");
    const int what = rng() % 20;
    const std::string order = absl::StrCat(rng() % 12);
    if (what == 0) {
      e.stream = "special";
      e.type = "Ping";
      e.data = "{}";
    } else if (what == 1) {
      e.stream = absl::StrCat("other-", order);  // outside the source
      e.type = "OrderPlaced";
      e.data = "{}";
    } else if (what < 12) {
      e.stream = absl::StrCat("order-", order);
      e.type = "OrderPlaced";
      e.customer = absl::StrCat("cust", rng() % 4);
      e.placed_at_us = base_us + static_cast<int64_t>(rng() % (300 * 86400)) * 1'000'000LL;
      e.amount_is_double = rng() % 5 == 0;
      e.amount_int = static_cast<int64_t>(rng() % 10'000) - 100;
      e.amount_double = static_cast<double>(rng() % 1000) + 0.25;
      const std::string amount = e.amount_is_double ? absl::StrCat(e.amount_double)
                                                    : absl::StrCat(e.amount_int);
      std::string placed_at;
      if (rng() % 2 == 0) {
        placed_at = absl::StrCat(e.placed_at_us);
      } else {
        const time_t secs = static_cast<time_t>(e.placed_at_us / 1'000'000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
        placed_at = buf;
      }
      e.data = absl::StrCat(R"({"customer":{"id":")", e.customer, R"("},"amount":)", amount,
                            R"(,"placed_at":)", placed_at, "}");
    } else if (what < 18) {
      e.stream = absl::StrCat("order-", order);
      e.type = "OrderShipped";
      e.carrier = rng() % 2 == 0 ? "ups" : "dhl";
      e.data = absl::StrCat(R"({"carrier":")", e.carrier, R"("})");
    } else {
      e.stream = absl::StrCat("order-", order);
      e.type = "OrderDeleted";
      e.data = "{}";
    }
    if (bad_every > 0 && e.stream != "special" && e.stream.rfind("order-", 0) == 0 &&
        rng() % bad_every == 0) {
      e.bad = true;
      switch (bad_kind++ % 3) {
        case 0:
          e.type = "OrderPlaced";
          e.data = R"({"customer":{"id":"c"},"amount":"12","placed_at":0})";  // wrong type
          break;
        case 1:
          e.type = "OrderShipped";
          e.data = R"({"carrier_name":"ups"})";  // missing field
          break;
        default:
          e.type = "OrderShipped";  // a type whose rules read data
          e.data = "{not json";
          break;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Where the log put an event.
struct Placed {
  GlobalPosition position = 0;
  StreamVersion stream_version = 0;
};

// Where the log would put `events`: positions from 1, versions per stream.
inline std::vector<Placed> PlaceOrders(const std::vector<OrderEvent>& events) {
  std::vector<Placed> placed;
  std::map<std::string, StreamVersion> versions;
  for (size_t i = 0; i < events.size(); ++i) {
    placed.push_back({static_cast<GlobalPosition>(i + 1), ++versions[events[i].stream]});
  }
  return placed;
}

// `e` as the log would hand it to a projection at `p`.
inline EventView OrderView(const OrderEvent& e, const Placed& p) {
  EventView view;
  view.position = p.position;
  view.stream = e.stream;
  view.stream_version = p.stream_version;
  view.type = e.type;
  view.content_type = "application/json";
  view.data = e.data;
  view.metadata = e.metadata;
  view.recorded_at_us = e.recorded_at_us;
  return view;
}

// Every row of a defined projection's state, in key order.
inline std::vector<defined::Row> AllRows(const StateReader& state) {
  defined::ScanRange range;
  range.limit = 1'000'000;
  absl::StatusOr<defined::ScanResult> scanned = defined::ScanRows(state, range);
  EXPECT_TRUE(scanned.ok()) << scanned.status();
  return scanned.ok() ? scanned->rows : std::vector<defined::Row>{};
}

inline std::string FormatUtc(int64_t micros, const char* format) {
  const time_t secs = static_cast<time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

struct OrdersFold {
  std::map<std::vector<std::string>, std::map<std::string, defined::Value>> rows;
  uint64_t skipped = 0;
  GlobalPosition first_skipped = 0;
  GlobalPosition last_skipped = 0;
  std::optional<GlobalPosition> failed_at;  // policy "fail": the first bad event

  std::vector<defined::Row> Rows() const {
    std::vector<defined::Row> out;
    for (const auto& [key, values] : rows) out.push_back(defined::Row{key, values});
    return out;
  }
};

// The fold of the first `count` events, independently of the projection code.
inline OrdersFold FoldOrders(const std::vector<OrderEvent>& events,
                             const std::vector<Placed>& placed, size_t count, bool skip) {
  using defined::Value;
  OrdersFold f;
  std::map<std::vector<std::string>, std::map<std::string, std::string>> docs;
  auto sum = [](std::optional<Value> cur, Value add) {
    if (!cur.has_value()) return add;
    if (cur->type == Value::Type::kInt && add.type == Value::Type::kInt) {
      return Value::Int(cur->i + add.i);
    }
    return Value::Double(cur->AsDouble() + add.AsDouble());
  };
  for (size_t i = 0; i < count && i < events.size(); ++i) {
    const OrderEvent& e = events[i];
    const Placed& p = placed[i];
    const bool in_source = e.stream == "special" || e.stream.rfind("order-", 0) == 0;
    if (!in_source) continue;
    if (e.bad) {
      if (!skip) {
        f.failed_at = p.position;
        break;
      }
      ++f.skipped;
      if (f.first_skipped == 0) f.first_skipped = p.position;
      f.last_skipped = p.position;
      continue;
    }
    const size_t dash = e.stream.find('-');
    const std::string category = e.stream.substr(0, dash);
    const std::string id = dash == std::string::npos ? "" : e.stream.substr(dash + 1);
    if (e.type == "OrderPlaced") {
      const Value amount = e.amount_is_double ? Value::Double(e.amount_double)
                                              : Value::Int(e.amount_int);
      for (const std::vector<std::string>& key :
           {std::vector<std::string>{"c", e.customer, FormatUtc(e.placed_at_us, "%Y-%m")},
            std::vector<std::string>{"all"}}) {
        auto& row = f.rows[key];
        row["orders"] = Value::Int(row.count("orders") ? row["orders"].i + 1 : 1);
        row["revenue"] = sum(row.count("revenue") ? std::optional<Value>(row["revenue"])
                                                   : std::nullopt,
                             amount);
        if (!row.count("smallest") || amount.AsDouble() < row["smallest"].AsDouble()) {
          row["smallest"] = amount;
        }
        if (!row.count("largest") || amount.AsDouble() > row["largest"].AsDouble()) {
          row["largest"] = amount;
        }
      }
    }
    const std::vector<std::string> order_key{"o", id};
    if (e.type == "OrderPlaced" || e.type == "OrderShipped") {
      auto& row = f.rows[order_key];
      row["status"] = Value::String(e.type);
      if (!row.count("placed_pos")) row["placed_pos"] = Value::Int(p.position);
      docs[order_key]["version"] = absl::StrCat(p.stream_version);
      docs[order_key]["tag"] = "\"x\"";
    }
    if (e.type == "OrderShipped") docs[order_key]["carrier"] = absl::StrCat("\"", e.carrier, "\"");
    if (e.type == "OrderDeleted") {
      f.rows.erase(order_key);
      docs.erase(order_key);
    }
    auto& t = f.rows[{"t", category, e.type, FormatUtc(e.recorded_at_us, "%Y-%m-%d")}]["n"];
    t = Value::Int(t.type == Value::Type::kInt ? t.i + 1 : 1);
    auto& m = f.rows[{"m", e.tenant}]["n"];
    m = Value::Int(m.type == Value::Type::kInt ? m.i + 1 : 1);
  }
  for (const auto& [key, fields] : docs) {
    std::string json = "{";
    for (const auto& [name, value] : fields) {
      absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"", name, "\":", value);
    }
    f.rows[key]["doc"] = defined::Value::Json(json + "}");
  }
  return f;
}

}  // namespace strata::testing

#endif  // STRATA_TESTS_PROJECTIONS_DEFINED_FIXTURES_H_
