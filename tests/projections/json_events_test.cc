// JsonEvents: an event read by several defined projections through one
// JsonEvents is parsed once; identity, eviction, the memory bound and
// concurrent first reads.
#include "projections/defined/json_events.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/definition.h"
#include "projections/defined/rows.h"
#include "tests/projections/counter_projection.h"
#include "tests/projections/defined_fixtures.h"

namespace strata::defined {
namespace {

using ::strata::testing::AllRows;
using ::strata::testing::FoldOrders;
using ::strata::testing::GenerateOrders;
using ::strata::testing::MapWriter;
using ::strata::testing::OrderEvent;
using ::strata::testing::OrdersDefinitionJson;
using ::strata::testing::OrderView;
using ::strata::testing::ParseDefinition;
using ::strata::testing::Placed;
using ::strata::testing::PlaceOrders;

// (`data` must outlive the view: a literal or a named string.)
EventView JsonEvent(GlobalPosition position, absl::string_view data) {
  EventView e;
  e.position = position;
  e.stream = "s-1";
  e.type = "T";
  e.content_type = "application/json";
  e.data = data;
  return e;
}

// Folds `events` into each projection in turn, event by event, as live
// workers do; returns each projection's rows.
std::vector<std::vector<Row>> FoldTogether(const std::vector<OrderEvent>& events,
                                           const std::vector<DefinedProjection*>& projections) {
  std::vector<MapWriter> writers(projections.size());
  const std::vector<Placed> placed = PlaceOrders(events);
  for (size_t i = 0; i < events.size(); ++i) {
    const EventView view = OrderView(events[i], placed[i]);
    for (size_t j = 0; j < projections.size(); ++j) {
      EXPECT_TRUE(projections[j]->Apply(view, writers[j]).ok());
    }
  }
  std::vector<std::vector<Row>> rows;
  for (const MapWriter& w : writers) rows.push_back(AllRows(w));
  return rows;
}

TEST(JsonEventsTest, ProjectionsSharingItParseEachEventOnce) {
  absl::StatusOr<Definition> a = Compile(ParseDefinition(OrdersDefinitionJson("orders", "skip")));
  absl::StatusOr<Definition> b = Compile(ParseDefinition(OrdersDefinitionJson("again", "skip")));
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<OrderEvent> events = GenerateOrders(2000, 11, 40);

  // Alone: how many events the definition parses.
  auto alone = std::make_shared<JsonEvents>();
  DefinedProjection only(*a, 1, alone);
  const std::vector<Row> expected_rows = FoldTogether(events, {&only})[0];
  const uint64_t parsed_alone = alone->misses();
  ASSERT_GT(parsed_alone, 1000u);
  EXPECT_EQ(alone->hits(), 0u);
  EXPECT_EQ(expected_rows,
            FoldOrders(events, PlaceOrders(events), events.size(), /*skip=*/true).Rows());

  // Two projections through one JsonEvents: the second reads what the first
  // parsed, and both fold exactly as alone.
  auto shared = std::make_shared<JsonEvents>();
  DefinedProjection first(*a, 1, shared);
  DefinedProjection second(*b, 1, shared);
  const std::vector<std::vector<Row>> rows = FoldTogether(events, {&first, &second});
  EXPECT_EQ(rows[0], expected_rows);
  EXPECT_EQ(rows[1], expected_rows);
  EXPECT_EQ(shared->misses(), parsed_alone);
  EXPECT_EQ(shared->hits(), parsed_alone);

  // Without a shared one (null), each projection parses for itself.
  DefinedProjection own_a(*a, 1);
  DefinedProjection own_b(*b, 1);
  const std::vector<std::vector<Row>> own = FoldTogether(events, {&own_a, &own_b});
  EXPECT_EQ(own[0], expected_rows);
  EXPECT_EQ(own[1], expected_rows);
}

TEST(JsonEventsTest, KeepsAnEventByPositionAndIdentityAndReplacesItsSlot) {
  JsonEvents events({}, /*slots=*/4);
  const std::string one = R"({"n":1})";
  const std::string two = R"({"n":2})";
  ParsedEventRef p1 = events.For(JsonEvent(1, one));
  absl::StatusOr<const ParsedJson*> d1 = p1->Data(JsonEvent(1, one));
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(**(*d1)->Find("/n"), Value::Int(1));
  EXPECT_EQ(events.For(JsonEvent(1, one)), p1);
  EXPECT_EQ(events.hits(), 1u);
  // Same position, another event (another log, say): not the same.
  EventView other = JsonEvent(1, two);
  other.event_id = EventId::Random();
  ParsedEventRef p_other = events.For(other);
  EXPECT_NE(p_other, p1);
  EXPECT_EQ(**(*p_other->Data(other))->Find("/n"), Value::Int(2));
  // Position 5 takes slot 1 again, reusing the unheld event there; position
  // 1 then gets a new one, as p5 is held.
  ParsedEvent* const slot1 = p_other.get();
  p1.reset();
  p_other.reset();
  ParsedEventRef p5 = events.For(JsonEvent(5, two));
  EXPECT_EQ(p5.get(), slot1);
  EXPECT_EQ(**(*p5->Data(JsonEvent(5, two)))->Find("/n"), Value::Int(2));
  EXPECT_NE(events.For(JsonEvent(1, one)), p5);
  EXPECT_EQ(events.misses(), 3u + 1u);
  EXPECT_GT(events.bytes(), 0u);
}

// On a thread folding a long range (a replay), events are parsed into the
// thread's own event, reused while no one holds it, and the ring is left
// alone: no hit, no miss, no bytes.
TEST(JsonEventsTest, AReplayParsesForItselfAndLeavesTheRingAlone) {
  JsonEvents events({}, /*slots=*/4);
  const std::string one = R"({"n":1})";
  const std::string two = R"({"n":2})";
  ParsedEventRef live = events.For(JsonEvent(1, one));
  ASSERT_TRUE(live->Data(JsonEvent(1, one)).ok());
  EXPECT_EQ(events.misses(), 1u);
  const size_t bytes = events.bytes();
  {
    const LongRangeFold replay;
    EXPECT_TRUE(LongRangeFold::OnThisThread());
    ParsedEventRef r1 = events.For(JsonEvent(1, one));
    EXPECT_NE(r1, live);  // not the ring's, though the ring holds position 1
    EXPECT_EQ(**(*r1->Data(JsonEvent(1, one)))->Find("/n"), Value::Int(1));
    ParsedEvent* const own = r1.get();
    // Held: the next event gets another one.
    ParsedEventRef r2 = events.For(JsonEvent(2, two));
    EXPECT_NE(r2.get(), own);
    EXPECT_EQ(**(*r2->Data(JsonEvent(2, two)))->Find("/n"), Value::Int(2));
    EXPECT_EQ(**(*r1->Data(JsonEvent(1, one)))->Find("/n"), Value::Int(1));
    // Let go: reused for the next event, with that event's data.
    ParsedEvent* const second = r2.get();
    r1.reset();
    r2.reset();
    ParsedEventRef r3 = events.For(JsonEvent(3, one));
    EXPECT_EQ(r3.get(), second);
    EXPECT_EQ(**(*r3->Data(JsonEvent(3, one)))->Find("/n"), Value::Int(1));
  }
  EXPECT_FALSE(LongRangeFold::OnThisThread());
  EXPECT_EQ(events.hits(), 0u);
  EXPECT_EQ(events.misses(), 1u);
  EXPECT_EQ(events.bytes(), bytes);
  EXPECT_EQ(events.For(JsonEvent(1, one)), live);  // following the head again: shared
  EXPECT_EQ(events.hits(), 1u);
}

TEST(JsonEventsTest, DataOfOtherContentTypesErrorsAndViews) {
  JsonViews views;
  views["application/x-view"] = [](const EventView& e) -> absl::StatusOr<std::string> {
    if (e.data == "bad") return absl::InvalidArgumentError("not a view of it");
    return absl::StrCat(R"({"viewed":")", e.data, R"("})");
  };
  JsonEvents events(std::move(views));
  EventView binary = JsonEvent(1, "\x01\x02");
  binary.content_type = "application/octet-stream";
  EXPECT_EQ(*events.For(binary)->Data(binary), nullptr);
  EventView viewed = JsonEvent(2, "abc");
  viewed.content_type = "application/x-view";
  EXPECT_EQ(**(*events.For(viewed)->Data(viewed))->Find("/viewed"), Value::String("abc"));
  EventView refused = JsonEvent(3, "bad");
  refused.content_type = "application/x-view";
  absl::StatusOr<const ParsedJson*> d = events.For(refused)->Data(refused);
  EXPECT_EQ(d.status(), absl::InvalidArgumentError("data: not a view of it"));
  EventView broken = JsonEvent(4, R"({"a":1,)");
  broken.metadata = R"({"m":true})";
  ParsedEventRef parsed = events.For(broken);
  EXPECT_FALSE((*parsed->Data(broken))->status().ok());
  EXPECT_EQ(**parsed->Metadata(broken).Find("/m"), Value::Bool(true));
}

TEST(JsonEventsTest, BeyondItsBytesNothingMoreIsKept) {
  JsonEvents events({}, /*slots=*/16, /*bytes_max=*/1);
  const std::string data = R"({"n":1})";
  ParsedEventRef first = events.For(JsonEvent(1, data));
  ASSERT_TRUE(first->Data(JsonEvent(1, data)).ok());
  EXPECT_GE(events.bytes(), 1u);
  ParsedEventRef second = events.For(JsonEvent(2, data));
  ASSERT_TRUE(second->Data(JsonEvent(2, data)).ok());
  // Over the bound: position 2 was parsed for its caller alone.
  EXPECT_NE(events.For(JsonEvent(2, data)), second);
  EXPECT_EQ(events.For(JsonEvent(1, data)), first);
  const size_t kept = events.bytes();
  first.reset();
  second.reset();
  EXPECT_EQ(events.bytes(), kept);  // the slot still holds position 1
}

TEST(JsonEventsTest, ConcurrentFirstReadersParseOnce) {
  JsonEvents events;
  std::string data = "{";
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&data, i ? "," : "", "\"k", i, "\":", i);
  data += "}";
  const EventView e = JsonEvent(42, data);
  std::vector<std::thread> threads;
  std::vector<const ParsedJson*> seen(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<const ParsedJson*> d = events.For(e)->Data(e);
      seen[t] = d.ok() ? *d : nullptr;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(events.misses(), 1u);
  EXPECT_EQ(events.hits(), 7u);
  for (const ParsedJson* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(**seen[0]->Find("/k1999"), Value::Int(1999));
}

// Readers on several threads walk positions that share few slots, so slots
// are reused while others read: each reader must see its own event's values
// (and under ThreadSanitizer, no reuse may race a holder's reads).
TEST(JsonEventsTest, SlotsReusedUnderConcurrentReaders) {
  JsonEvents events({}, /*slots=*/2);
  std::vector<std::string> data;
  for (int p = 0; p < 64; ++p) data.push_back(absl::StrCat(R"({"p":)", p, "}"));
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        for (int p = 0; p < 64; ++p) {
          const EventView e = JsonEvent(p, data[p]);
          ParsedEventRef parsed = events.For(e);
          absl::StatusOr<const ParsedJson*> d = parsed->Data(e);
          if (!d.ok() || **(*d)->Find("/p") != Value::Int(p)) ++wrong[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
  EXPECT_EQ(events.hits() + events.misses(), 4u * 200u * 64u);
}

}  // namespace
}  // namespace strata::defined
