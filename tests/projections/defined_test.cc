// Defined projections without a server: the row key encoding, the value
// encoding, every refused definition naming its field, and the fold of a
// definition using every operation and key part equal to an independent fold
// (fixtures), under on_bad_event "skip" and "fail".
#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/definition.h"
#include "projections/defined/json.h"
#include "projections/defined/json_events.h"
#include "projections/defined/rows.h"
#include "tests/projections/counter_projection.h"
#include "tests/projections/defined_fixtures.h"
#include "tests/testutil/temp_dir.h"

namespace strata::defined {
namespace {

using ::strata::testing::AllRows;
using ::strata::testing::FoldOrders;
using ::strata::testing::GenerateOrders;
using ::strata::testing::MapWriter;
using ::strata::testing::OrderEvent;
using ::strata::testing::OrdersDefinitionJson;
using ::strata::testing::ParseDefinition;
using ::strata::testing::Placed;
using ::testing::HasSubstr;

TEST(RowKeyTest, RoundTripsAndSortsLikeTuples) {
  const std::vector<std::vector<std::string>> keys = {
      {""}, {"a"}, {"a", ""}, {"a", "b"}, {"a", "b", "c"}, {"ab"}, {"b"},
      {std::string("\x00\x01\x02\x03z", 5), "y"}};
  for (const auto& key : keys) {
    const std::string encoded = EncodeKey(key);
    EXPECT_EQ(encoded.find('\0'), std::string::npos);
    EXPECT_EQ(encoded.find(kFieldMarker), std::string::npos);
    EXPECT_EQ(DecodeKey(encoded), key);
  }
  EXPECT_LT(EncodeKey({"a"}), EncodeKey({"a", "b"}));
  EXPECT_LT(EncodeKey({"a", "b"}), EncodeKey({"ab"}));
  EXPECT_LT(FieldKey(EncodeKey({"a"}), kValueField, "zz"), EncodeKey({"a", ""}));
  EXPECT_EQ(DecodeKey(std::string("a\x03" "9", 3)), std::nullopt);
  EXPECT_EQ(DecodeKey(std::string("a\x01", 2)), std::nullopt);
}

TEST(ValueTest, RoundTripsEveryType) {
  for (const Value& v : {Value::Int(-5), Value::Int(INT64_MAX), Value::Double(0.1),
                         Value::Double(-1e300), Value::String(""), Value::String("h\"i"),
                         Value::Bool(true), Value::Bool(false), Value::Json("null"),
                         Value::Json(R"({"a":[1,2]})")}) {
    absl::StatusOr<Value> back = DecodeValue(EncodeValue(v));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, v);
  }
  EXPECT_EQ(ToJson(Value::Double(0.1)), "0.1");
  EXPECT_EQ(ToJson(Value::String("a\"b")), R"("a\"b")");
  Document doc{{"b", EncodeValue(Value::Int(2))}, {"a", EncodeValue(Value::String("x"))}};
  absl::StatusOr<Value> rendered = DecodeValue(EncodeDocument(doc));
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(rendered->text, R"({"a":"x","b":2})");
  EXPECT_EQ(DecodeValue("i12").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeValue("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(ParsedJsonTest, FindsEveryKindAndReportsMissingAndInvalid) {
  ParsedJson reader;
  reader.Parse(R"({"a":{"b":[10,"x",true,null,2.5,{ "c" : 1 }]},"big":18446744073709551615,
                  "t~/":3})");
  auto find = [&](const std::string& p) { return reader.Find(p); };
  EXPECT_EQ(**find("/a/b/0"), Value::Int(10));
  EXPECT_EQ(**find("/a/b/1"), Value::String("x"));
  EXPECT_EQ(**find("/a/b/2"), Value::Bool(true));
  EXPECT_EQ(**find("/a/b/3"), Value::Json("null"));
  EXPECT_EQ(**find("/a/b/4"), Value::Double(2.5));
  EXPECT_EQ(**find("/a/b/5"), Value::Json(R"({"c":1})"));
  EXPECT_EQ(**find("/big"), Value::Double(18446744073709551615.0));
  EXPECT_EQ(**find("/t~0~1"), Value::Int(3));
  EXPECT_EQ(*find("/a/missing"), std::nullopt);
  EXPECT_EQ(*find("/a/b/9"), std::nullopt);
  EXPECT_FALSE(reader.empty());
  reader.Parse("{\"a\": ");
  EXPECT_THAT(find("/a").status().message(), HasSubstr("invalid JSON"));
  // The whole text is checked, not only the path to the field read.
  reader.Parse(R"({"a":1,"b":})");
  EXPECT_THAT(find("/a").status().message(), HasSubstr("invalid JSON"));
  reader.Parse("");
  EXPECT_TRUE(reader.empty());
  EXPECT_FALSE(reader.status().ok());
  // Valid JSON with a number beyond 64 bits: no DOM, but its other fields read.
  reader.Parse(R"({"big":123456789012345678901234567890,"n":2,"o":{"x":[1, 2]}})");
  ASSERT_TRUE(reader.status().ok()) << reader.status();
  EXPECT_FALSE(reader.has_dom());
  EXPECT_EQ(**find("/n"), Value::Int(2));
  EXPECT_EQ(**find("/o/x"), Value::Json("[1, 2]"));
  EXPECT_EQ(*find("/missing"), std::nullopt);
  EXPECT_FALSE(find("/big").ok());
  reader.Parse(R"({"big":123456789012345678901234567890,"n":01})");
  EXPECT_FALSE(reader.status().ok());
}

struct Refused {
  std::string json;
  std::string message;
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
};

TEST(CompileTest, EveryRefusedDefinitionNamesItsField) {
  const std::string ok_rule = R"({"keys":[{"parts":[{"literal":"a"}]}],
                                  "operations":[{"field":"n","count":{}}]})";
  auto with_rule = [&](const std::string& rule) {
    return absl::StrCat(R"({"name":"p","rules":[)", rule, "]}");
  };
  std::string many_rules;
  for (size_t i = 0; i <= kRulesMax; ++i) absl::StrAppend(&many_rules, i ? "," : "", ok_rule);
  const std::vector<Refused> cases = {
      {R"({"name":"Bad-Name","rules":[)" + ok_rule + "]}", "name: 'Bad-Name' must be 1-64"},
      {R"({"name":"p"})", "rules: at least one rule"},
      {R"({"name":"p","snapshot_interval_events":5,"rules":[)" + ok_rule + "]}",
       "snapshot_interval_events: 5 is outside 100..1000000"},
      {R"({"name":"p","on_bad_event":"ignore","rules":[)" + ok_rule + "]}",
       "on_bad_event: unknown policy 'ignore'"},
      {R"({"name":"p","source":{"streams":["$projections"]},"rules":[)" + ok_rule + "]}",
       "source.streams[0]: '$projections': streams starting with '$'"},
      {R"({"name":"p","source":{"stream_prefixes":[""]},"rules":[)" + ok_rule + "]}",
       "source.stream_prefixes[0]: must not be empty"},
      {R"({"name":"p","source":{"event_types":["A"]},"rules":[{"event_types":["B"],
          "keys":[{"parts":[{"literal":"a"}]}],"operations":[{"field":"n","count":{}}]}]})",
       "rules[0].event_types[0]: 'B' is not among source.event_types"},
      {with_rule(R"({"operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys: at least one key"},
      {with_rule(R"({"keys":[{"parts":[]}],"operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts: at least one part"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"},{"literal":"b"},
          {"time":{"unit":"dya"}}]}],"operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[2].time.unit: unknown time unit 'dya'"},
      {with_rule(R"({"keys":[{"parts":[{"data":"customer/id"}]}],
          "operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[0].data: JSON pointer 'customer/id' must be empty or start"},
      {with_rule(R"({"keys":[{"parts":[{"data":"/a~2"}]}],
          "operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[0].data: JSON pointer '/a~2': '~' must be followed by 0 or 1"},
      {with_rule(R"({"keys":[{"parts":[{"event":"color"}]}],
          "operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[0].event: unknown event field 'color'"},
      {with_rule(R"({"keys":[{"parts":[{"time":{"unit":"day","data":"/a",
          "metadata":"/b"}}]}],"operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[0].time: set data or metadata, not both"},
      {with_rule(R"({"keys":[{"parts":[{}]}],"operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[0]: empty: set one of literal"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}]})"),
       "rules[0].operations: at least one operation"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],"operations":[{"field":"n"}]})"),
       "rules[0].operations[0]: empty: set one of count"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"a b","count":{}}]})"),
       "rules[0].operations[0].field: 'a b' must be 1-64 characters"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"n","count":{}},{"field":"n","sum":{"data":"/x"}}]})"),
       "rules[0].operations[1].field: 'n' is already a count field (rules[0].operations[0])"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"n","delete":{}}]})"),
       "rules[0].operations[0].field: delete takes no field"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"n","sum":{}}]})"),
       "rules[0].operations[0].sum: empty: set one of data, metadata, event, constant"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"n","max":{"constant":"\"x\""}}]})"),
       "rules[0].operations[0].max.constant: must be a number"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"n","sum":{"event":"stream"}}]})"),
       "rules[0].operations[0].sum.event: 'stream' is text; sum needs a number"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"n","last":{"constant":"open"}}]})"),
       "rules[0].operations[0].last.constant: not a JSON value"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"d","set":{}}]})"),
       "rules[0].operations[0].set.fields: at least one field"},
      {with_rule(R"({"keys":[{"parts":[{"literal":"a"}]}],
          "operations":[{"field":"d","set":{"fields":{"x":{"event":"when"}}}}]})"),
       "rules[0].operations[0].set.fields[\"x\"].event: unknown event field 'when'"},
      {absl::StrCat(R"({"name":"p","rules":[)", many_rules, "]}"),
       absl::StrCat("rules: ", kRulesMax + 1, " entries, more than the limit of ", kRulesMax),
       absl::StatusCode::kResourceExhausted},
      {with_rule(R"({"keys":[{"parts":[{"literal":")" + std::string(kTextBytesMax + 1, 'a') +
                 R"("}]}],"operations":[{"field":"n","count":{}}]})"),
       "rules[0].keys[0].parts[0].literal: 1025 bytes, more than the limit of 1024",
       absl::StatusCode::kResourceExhausted},
      {absl::StrCat(R"({"name":"p","source":{"streams":[)",
                    [] {
                      std::string s;
                      for (int i = 0; i < 70; ++i) {
                        absl::StrAppend(&s, i ? "," : "", "\"", std::string(1000, 'x'), "\"");
                      }
                      return s;
                    }(),
                    "]},\"rules\":[", ok_rule, "]}"),
       "definition: ", absl::StatusCode::kResourceExhausted},
  };
  for (const Refused& c : cases) {
    absl::StatusOr<Definition> compiled = Compile(ParseDefinition(c.json));
    ASSERT_FALSE(compiled.ok()) << c.json;
    EXPECT_EQ(compiled.status().code(), c.code) << compiled.status();
    EXPECT_THAT(std::string(compiled.status().message()), HasSubstr(c.message)) << c.json;
  }
  STRATA_EXPECT_OK(Compile(ParseDefinition(OrdersDefinitionJson("orders", "fail"))));
}

TEST(CompileTest, CanonicalIgnoresDefaultsAndMapOrder) {
  v1::ProjectionDefinition a = ParseDefinition(OrdersDefinitionJson("orders", "fail"));
  v1::ProjectionDefinition b = a;
  b.clear_on_bad_event();
  EXPECT_EQ(Canonical(a), Canonical(b));
  b.set_on_bad_event("skip");
  EXPECT_NE(Canonical(a), Canonical(b));
}

// Folds the generated events through `projection` into `writer`, as the log
// would number them.
absl::Status ApplyAll(const std::vector<OrderEvent>& events, DefinedProjection& projection,
                      MapWriter& writer, std::vector<Placed>* placed) {
  *placed = testing::PlaceOrders(events);
  for (size_t i = 0; i < events.size(); ++i) {
    absl::Status s = projection.Apply(testing::OrderView(events[i], (*placed)[i]), writer);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

TEST(DefinedProjectionTest, FoldEqualsIndependentFoldAndSkipsBadEvents) {
  absl::StatusOr<Definition> def =
      Compile(ParseDefinition(OrdersDefinitionJson("orders", "skip")));
  ASSERT_TRUE(def.ok()) << def.status();
  DefinedProjection projection(*def, 1);
  const std::vector<OrderEvent> events = GenerateOrders(3000, 7, 40);
  MapWriter writer;
  std::vector<Placed> placed;
  STRATA_ASSERT_OK(ApplyAll(events, projection, writer, &placed));
  const testing::OrdersFold expected = FoldOrders(events, placed, events.size(), /*skip=*/true);
  ASSERT_GT(expected.skipped, 10u);
  EXPECT_EQ(AllRows(writer), expected.Rows());
  absl::StatusOr<SkipInfo> skipped = ReadSkipInfo(writer);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->skipped, expected.skipped);
  EXPECT_EQ(skipped->first, expected.first_skipped);
  EXPECT_EQ(skipped->last, expected.last_skipped);
  EXPECT_THAT(skipped->last_error,
              HasSubstr(absl::StrCat("bad event at position ", expected.last_skipped)));
}

// The same fold on a replaying thread, through a shared JsonEvents: each event
// parsed into the thread's own reused event gives the same rows.
TEST(DefinedProjectionTest, ReplayFoldThroughSharedEventsEqualsIndependentFold) {
  absl::StatusOr<Definition> def = Compile(ParseDefinition(OrdersDefinitionJson("orders", "skip")));
  ASSERT_TRUE(def.ok()) << def.status();
  auto shared = std::make_shared<JsonEvents>();
  DefinedProjection projection(*def, 1, shared);
  const std::vector<OrderEvent> events = GenerateOrders(3000, 7, 40);
  MapWriter writer;
  std::vector<Placed> placed;
  {
    const LongRangeFold replay;
    STRATA_ASSERT_OK(ApplyAll(events, projection, writer, &placed));
  }
  const testing::OrdersFold expected = FoldOrders(events, placed, events.size(), /*skip=*/true);
  ASSERT_GT(expected.skipped, 10u);
  EXPECT_EQ(AllRows(writer), expected.Rows());
  EXPECT_EQ(shared->hits() + shared->misses(), 0u);  // the ring was not used
}

TEST(DefinedProjectionTest, FailPolicyStopsAtTheFirstBadEventSayingWhy) {
  absl::StatusOr<Definition> def =
      Compile(ParseDefinition(OrdersDefinitionJson("orders", "fail")));
  ASSERT_TRUE(def.ok()) << def.status();
  DefinedProjection projection(*def, 1);
  OrderEvent placed_ok;
  placed_ok.stream = "order-1";
  placed_ok.type = "OrderPlaced";
  placed_ok.metadata = R"({"tenant":"t1"})";
  placed_ok.data = R"({"customer":{"id":"c"},"amount":5,"placed_at":0})";
  struct Case {
    std::string data;
    std::string metadata;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"customer":{"id":"c"},"amount":"12","placed_at":0})", R"({"tenant":"t1"})",
       "rules[0].operations[1].sum: /amount is a string, not a number"},
      {R"({"amount":12,"placed_at":0})", R"({"tenant":"t1"})",
       "rules[0].keys[0].parts[1]: data has nothing at /customer/id"},
      {R"({"customer":{"id":{"x":1}},"amount":1,"placed_at":0})", R"({"tenant":"t1"})",
       "rules[0].keys[0].parts[1]: /customer/id is an object, not a string, number or boolean"},
      {R"({"customer":{"id":"c"},"amount":1,"placed_at":"yesterday"})", R"({"tenant":"t1"})",
       "rules[0].keys[0].parts[2]: /placed_at is not an RFC 3339 time"},
      {R"({"customer":{"id":"c"},"amount":1,"placed_at":true})", R"({"tenant":"t1"})",
       "rules[0].keys[0].parts[2]: /placed_at is a boolean, not an RFC 3339 time or epoch"},
      {"{not json", R"({"tenant":"t1"})", "data: invalid JSON"},
      {R"({"customer":{"id":"c"},"amount":1,"placed_at":0})", "",
       "rules[4].keys[1].parts[1]: metadata is empty, not JSON"},
      {R"({"customer":{"id":")" + std::string(2000, 'k') + R"("},"amount":1,"placed_at":0})",
       R"({"tenant":"t1"})", "rules[0].keys[0]: the key is 2010 bytes, more than the limit"},
  };
  for (const Case& c : cases) {
    MapWriter writer;
    std::vector<Placed> placed;
    STRATA_ASSERT_OK(ApplyAll({placed_ok}, projection, writer, &placed));
    const auto before = writer.state;
    OrderEvent bad = placed_ok;
    bad.data = c.data;
    bad.metadata = c.metadata;
    absl::Status s = ApplyAll({bad}, projection, writer, &placed);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("bad event at position 1 (stream 'order-1' version 1, type "
                          "'OrderPlaced'): "));
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message));
    EXPECT_EQ(writer.state, before) << "a bad event must write nothing: " << c.message;
  }
  // Not JSON at all: the content type says so.
  MapWriter writer;
  EventView view;
  view.position = 9;
  view.stream = "order-2";
  view.type = "OrderShipped";
  view.content_type = "application/octet-stream";
  view.data = "\x01\x02";
  view.metadata = R"({"tenant":"t1"})";
  absl::Status s = projection.Apply(view, writer);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("rules[2].operations[0].set.fields[\"carrier\"]: data has content type "
                        "'application/octet-stream', not application/json"));
}

TEST(DefinedProjectionTest, FailPolicyFoldMatchesUpToTheFirstBadEvent) {
  absl::StatusOr<Definition> def =
      Compile(ParseDefinition(OrdersDefinitionJson("orders", "fail")));
  ASSERT_TRUE(def.ok());
  DefinedProjection projection(*def, 1);
  const std::vector<OrderEvent> events = GenerateOrders(400, 11, 60);
  MapWriter writer;
  std::vector<Placed> placed;
  absl::Status s = ApplyAll(events, projection, writer, &placed);
  const testing::OrdersFold expected = FoldOrders(events, placed, events.size(), false);
  ASSERT_TRUE(expected.failed_at.has_value());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("bad event at position ", *expected.failed_at, " ")));
  EXPECT_EQ(AllRows(writer), expected.Rows());
}

TEST(ScanRowsTest, PrefixStartEndAndPages) {
  MapWriter w;
  for (const std::vector<std::string>& key :
       std::vector<std::vector<std::string>>{{""}, {"", "x"}, {"a"}, {"a", "1"}, {"a", "2"},
                                             {"ab"}, {"b", "1"}}) {
    w.Add(FieldKey(EncodeKey(key), kCounterField, "n"), 1);
  }
  w.Put(kSkippedCountKey, EncodeCounter(3));
  auto range = [](std::vector<std::string> prefix, std::vector<std::string> start,
                  std::vector<std::string> end) {
    ScanRange r;
    r.prefix = std::move(prefix);
    r.start = std::move(start);
    r.end = std::move(end);
    return r;
  };
  auto keys = [&](ScanRange range) {
    std::vector<std::vector<std::string>> out;
    absl::StatusOr<ScanResult> r = ScanRows(w, range);
    EXPECT_TRUE(r.ok()) << r.status();
    for (const Row& row : r->rows) out.push_back(row.key);
    return out;
  };
  using Keys = std::vector<std::vector<std::string>>;
  EXPECT_EQ(keys(range({}, {}, {})),
            (Keys{{""}, {"", "x"}, {"a"}, {"a", "1"}, {"a", "2"}, {"ab"}, {"b", "1"}}));
  // [""] is a key like any other: as a prefix, an end, and a page's last row.
  EXPECT_EQ(keys(range({""}, {}, {})), (Keys{{""}, {"", "x"}}));
  EXPECT_EQ(keys(range({}, {}, {""})), Keys{});
  EXPECT_EQ(keys(range({}, {}, {"a"})), (Keys{{""}, {"", "x"}}));
  EXPECT_EQ(keys(range({"a"}, {}, {})), (Keys{{"a"}, {"a", "1"}, {"a", "2"}}));
  EXPECT_EQ(keys(range({"a"}, {"a", "1"}, {})), (Keys{{"a", "1"}, {"a", "2"}}));
  EXPECT_EQ(keys(range({}, {"a", "2"}, {"b"})), (Keys{{"a", "2"}, {"ab"}}));
  ScanRange page;
  page.limit = 1;
  absl::StatusOr<ScanResult> first = ScanRows(w, page);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->last, "");  // the row [""]
  page.after = first->last;
  EXPECT_EQ(keys(page), (Keys{{"", "x"}}));
  page.limit = 2;
  page.after = EncodeKey({"a"});
  EXPECT_EQ(keys(page), (Keys{{"a", "1"}, {"a", "2"}}));
  page.limit = 10;
  absl::StatusOr<ScanResult> last = ScanRows(w, page);
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->more);
}

}  // namespace
}  // namespace strata::defined

namespace strata::defined {
namespace {

TEST(DefinedProjectionTest, TimePartsOfEveryUnitInUtc) {
  absl::StatusOr<Definition> def = Compile(testing::ParseDefinition(R"({"name":"t","rules":[{
      "keys":[{"parts":[{"time":{"unit":"minute"}},{"time":{"unit":"hour"}},
                        {"time":{"unit":"day"}},{"time":{"unit":"month"}},
                        {"time":{"unit":"year"}},{"time":{"unit":"day","data":"/at"}}]}],
      "operations":[{"field":"n","count":{}}]}]})"));
  ASSERT_TRUE(def.ok()) << def.status();
  DefinedProjection projection(*def, 1);
  struct Case {
    int64_t recorded_at_us;
    std::string at;  // JSON
    std::vector<std::string> key;
  };
  for (const Case& c : std::vector<Case>{
           {1'709'251'199'999'999, R"("2024-03-01T00:30:00+01:00")",  // 2024-02-29T23:59:59.999999Z
            {"2024-02-29T23:59", "2024-02-29T23", "2024-02-29", "2024-02", "2024", "2024-02-29"}},
           {-60'000'000, "-1",  // 1969-12-31T23:59:00Z
            {"1969-12-31T23:59", "1969-12-31T23", "1969-12-31", "1969-12", "1969", "1969-12-31"}},
           {0, R"("2000-12-31T23:59:59Z")",
            {"1970-01-01T00:00", "1970-01-01T00", "1970-01-01", "1970-01", "1970", "2000-12-31"}},
       }) {
    MapWriter writer;
    EventView e;
    e.position = 1;
    e.stream = "s";
    e.type = "T";
    e.content_type = "application/json";
    const std::string data = absl::StrCat(R"({"at":)", c.at, "}");
    e.data = data;
    e.recorded_at_us = c.recorded_at_us;
    STRATA_ASSERT_OK(projection.Apply(e, writer));
    ScanRange all;
    absl::StatusOr<ScanResult> rows = ScanRows(writer, all);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->rows.size(), 1u);
    EXPECT_EQ(rows->rows[0].key, c.key);
  }
}

}  // namespace
}  // namespace strata::defined
