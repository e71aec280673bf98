// Index streams ($ce-<category>, $et-<type>; engine/index_streams.h) through
// EventLog's public API on a real RocksDB store: which events each holds and
// with which versions, reads in both directions and as of a past position,
// LogCursor pages, the refusal of writes to them, versions continuing after a
// reopen and across one commit group, and a log written before index streams
// existed being indexed at open (and resuming an interrupted run).
#include "engine/index_streams.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/base/logger.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/internal/codec.h"
#include "engine/log_cursor.h"
#include "engine/options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/testutil/plain_store.h"
#include "tests/testutil/read_options.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using ::strata::testing::StreamFrom;
using ::strata::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

NewEvent Ev(std::string type) {
  NewEvent e;
  e.type = std::move(type);
  e.content_type = "application/json";
  e.data = "{}";
  return e;
}

// What a read of an index stream says of each event: its position, its
// version in the index, its own stream and version.
struct Entry {
  GlobalPosition position;
  StreamVersion index_version;
  std::string stream;
  StreamVersion stream_version;
  friend bool operator==(const Entry&, const Entry&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Entry& e) {
    return os << "{" << e.position << ", " << e.index_version << ", " << e.stream << ", "
              << e.stream_version << "}";
  }
};

std::vector<Entry> Entries(const absl::StatusOr<std::vector<RecordedEvent>>& events) {
  EXPECT_TRUE(events.ok()) << events.status();
  std::vector<Entry> out;
  if (!events.ok()) return out;
  for (const RecordedEvent& e : *events) {
    EXPECT_TRUE(e.index_version.has_value()) << "position " << e.position;
    out.push_back({e.position, e.index_version.value_or(999), e.stream, e.stream_version});
  }
  return out;
}

class IndexStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }
  void Open(bool read_only = false) {
    log_.reset();
    EventLogOptions options;
    options.read_only = read_only;
    options.logger = LineLogger(false, [this](const std::string& line) {
      absl::MutexLock lock(&lines_mu_);
      lines_.push_back(line);
    });
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir_.Sub("db"), options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  void MustAppend(const std::string& stream, const std::string& type) {
    absl::StatusOr<AppendResult> r = log_->Append(stream, ExpectedVersion::Any(), {Ev(type)});
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Positions 1-8 (see each line).
  void AppendSample() {
    MustAppend("order-1", "Placed");     // 1
    MustAppend("order-2", "Placed");     // 2
    MustAppend("user-1", "Registered");  // 3
    MustAppend("order-1", "Shipped");    // 4
    MustAppend("nodash", "Placed");      // 5: no category
    MustAppend("-lead", "Placed");       // 6: no category
    absl::StatusOr<AppendResult> meta =  // 7: a metastream: not indexed
        log_->Append("$$order-2", ExpectedVersion::Any(), {[] {
                       NewEvent e = Ev("$metadata");
                       e.data = R"({"$maxCount":1})";
                       return e;
                     }()});
    ASSERT_TRUE(meta.ok()) << meta.status();
    MustAppend("order-3", "Placed");  // 8
  }
  std::vector<Entry> Read(const std::string& stream, ReadStreamOptions o = StreamFrom(0)) {
    return Entries(log_->ReadStream(stream, o));
  }
  // Closes the log, opens its store with plain RocksDB and runs `fn` on it.
  void WithStore(const std::function<void(strata::testing::PlainStore&)>& fn) {
    log_.reset();
    strata::testing::PlainStore store(dir_.Sub("db"));
    ASSERT_NE(store.db(), nullptr);
    fn(store);
  }
  void WithIndexes(const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
    WithStore([&](strata::testing::PlainStore& store) { fn(store.db(), store.cf("indexes")); });
  }
  bool Logged(absl::string_view text) {
    absl::MutexLock lock(&lines_mu_);
    for (const std::string& line : lines_) {
      if (absl::StrContains(line, text)) return true;
    }
    return false;
  }

  absl::Mutex lines_mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(lines_mu_);
  TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

const std::vector<Entry> kOrders = {
    {1, 0, "order-1", 0}, {2, 1, "order-2", 0}, {4, 2, "order-1", 1}, {8, 3, "order-3", 0}};
const std::vector<Entry> kPlaced = {{1, 0, "order-1", 0},
                                    {2, 1, "order-2", 0},
                                    {5, 2, "nodash", 0},
                                    {6, 3, "-lead", 0},
                                    {8, 4, "order-3", 0}};

TEST(IndexStreamNamesTest, ParseAndCategories) {
  EXPECT_EQ(ParseIndexStream("$ce-order")->kind, IndexKind::kCategory);
  EXPECT_EQ(ParseIndexStream("$ce-order")->name, "order");
  EXPECT_EQ(ParseIndexStream("$et-Placed")->kind, IndexKind::kEventType);
  EXPECT_EQ(ParseIndexStream("$et-Placed")->name, "Placed");
  EXPECT_FALSE(ParseIndexStream("$ce-").has_value());
  EXPECT_FALSE(ParseIndexStream("ce-order").has_value());
  EXPECT_FALSE(ParseIndexStream("$$order-1").has_value());
  EXPECT_EQ(CategoryOf("order-1"), "order");
  EXPECT_EQ(CategoryOf("order-1-b"), "order");
  EXPECT_EQ(CategoryOf("nodash"), std::nullopt);
  EXPECT_EQ(CategoryOf("-lead"), std::nullopt);
  EXPECT_EQ(CategoryOf("$ce-order"), std::nullopt);
  const IndexStream orders = *ParseIndexStream("$ce-order");
  EXPECT_TRUE(orders.Holds("order-9", "Any"));
  EXPECT_FALSE(orders.Holds("orders-9", "Any"));
  EXPECT_EQ(orders.Narrowing().stream_prefix, "order-");
  const IndexStream placed = *ParseIndexStream("$et-Placed");
  EXPECT_TRUE(placed.Holds("nodash", "Placed"));
  EXPECT_FALSE(placed.Holds("$$nodash", "Placed"));
  EXPECT_THAT(placed.Narrowing().event_types, ElementsAre("Placed"));
}

TEST_F(IndexStreamsTest, EachIndexHoldsItsEventsInLogOrderWithDenseVersions) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  // A stream's metadata does not filter its index entries ($maxCount 1 on
  // order-2 still shows position 2 in $ce-order).
  EXPECT_EQ(Read("$ce-order"), kOrders);
  EXPECT_EQ(Read("$ce-user"), (std::vector<Entry>{{3, 0, "user-1", 0}}));
  EXPECT_EQ(Read("$et-Placed"), kPlaced);
  EXPECT_EQ(Read("$et-Shipped"), (std::vector<Entry>{{4, 0, "order-1", 1}}));
  EXPECT_THAT(Read("$et-$metadata"), IsEmpty());
  EXPECT_THAT(Read("$ce-nodash"), IsEmpty());
  EXPECT_THAT(Read("$ce-"), IsEmpty());  // a stream of that name, not an index
  // The originals, as they are.
  absl::StatusOr<std::vector<RecordedEvent>> one = log_->ReadStream("$et-Shipped", StreamFrom(0));
  ASSERT_TRUE(one.ok()) << one.status();
  absl::StatusOr<RecordedEvent> original = log_->ReadEvent(4);
  ASSERT_TRUE(original.ok()) << original.status();
  RecordedEvent expected = *original;
  expected.index_version = 0;
  EXPECT_EQ(one->front(), expected);
}

TEST_F(IndexStreamsTest, ReadsBackwardsFromAVersionWithCountsAndAsOfAPosition) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  EXPECT_EQ(Read("$ce-order", StreamFrom(kReadFromEnd, ReadDirection::kBackward)),
            (std::vector<Entry>{kOrders[3], kOrders[2], kOrders[1], kOrders[0]}));
  EXPECT_EQ(Read("$ce-order", StreamFrom(2, ReadDirection::kBackward, 2)),
            (std::vector<Entry>{kOrders[2], kOrders[1]}));
  EXPECT_EQ(Read("$et-Placed", StreamFrom(3, ReadDirection::kForward, 1)),
            (std::vector<Entry>{kPlaced[3]}));
  EXPECT_THAT(Read("$et-Placed", StreamFrom(5)), IsEmpty());
  ReadStreamOptions as_of = StreamFrom(kReadFromEnd, ReadDirection::kBackward);
  as_of.as_of_position = 4;
  EXPECT_EQ(Read("$ce-order", as_of), (std::vector<Entry>{kOrders[2], kOrders[1], kOrders[0]}));
  absl::StatusOr<StreamInfo> info = log_->GetStreamInfo("$ce-order");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->last_version, 3u);
  EXPECT_FALSE(info->metadata.has_value());
  info = log_->GetStreamInfo("$ce-order", 3);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->last_version, 1u);
  info = log_->GetStreamInfo("$ce-nobody");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->last_version, std::nullopt);
  absl::StatusOr<std::optional<StreamVersion>> last = log_->StreamLastVersion("$et-Placed");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, 4u);
  EXPECT_EQ(log_->StreamExists("$et-Placed").value(), true);
  EXPECT_EQ(log_->StreamExists("$ce-order").value(), true);
  EXPECT_EQ(log_->StreamExists("$ce-nobody").value(), false);
}

// One append of 5 events is one run per index: reads start, stop and turn
// inside it.
TEST_F(IndexStreamsTest, ReadsWithinARunOfOneAppend) {
  MustAppend("order-1", "Placed");  // 1
  std::vector<NewEvent> five;
  for (int i = 0; i < 5; ++i) five.push_back(Ev(i == 2 ? "Paid" : "Placed"));
  ASSERT_TRUE(log_->Append("order-2", ExpectedVersion::Any(), std::move(five)).ok());  // 2-6
  MustAppend("order-3", "Placed");                                                     // 7
  const std::vector<Entry> all = {{1, 0, "order-1", 0}, {2, 1, "order-2", 0}, {3, 2, "order-2", 1},
                                  {4, 3, "order-2", 2}, {5, 4, "order-2", 3}, {6, 5, "order-2", 4},
                                  {7, 6, "order-3", 0}};
  EXPECT_EQ(Read("$ce-order"), all);
  EXPECT_EQ(Read("$ce-order", StreamFrom(3, ReadDirection::kForward, 2)),
            (std::vector<Entry>{all[3], all[4]}));
  EXPECT_EQ(Read("$ce-order", StreamFrom(4, ReadDirection::kBackward, 3)),
            (std::vector<Entry>{all[4], all[3], all[2]}));
  ReadStreamOptions as_of = StreamFrom(kReadFromEnd, ReadDirection::kBackward, 2);
  as_of.as_of_position = 4;
  EXPECT_EQ(Read("$ce-order", as_of), (std::vector<Entry>{all[3], all[2]}));
  as_of = StreamFrom(2);
  as_of.as_of_position = 4;
  EXPECT_EQ(Read("$ce-order", as_of), (std::vector<Entry>{all[2], all[3]}));
  // Types split the append into runs: Placed, Paid, Placed.
  EXPECT_EQ(
      Read("$et-Placed", StreamFrom(2)),
      (std::vector<Entry>{
          {3, 2, "order-2", 1}, {5, 3, "order-2", 3}, {6, 4, "order-2", 4}, {7, 5, "order-3", 0}}));
  EXPECT_EQ(Read("$et-Paid"), (std::vector<Entry>{{4, 0, "order-2", 2}}));
  for (GlobalPosition p = 1; p <= 7; ++p) {
    absl::StatusOr<StreamInfo> info = log_->GetStreamInfo("$ce-order", p);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->last_version, p - 1) << "as of " << p;
  }
  // The next append continues the versions after the run.
  MustAppend("order-4", "Paid");  // 8
  EXPECT_EQ(Read("$ce-order", StreamFrom(7)), (std::vector<Entry>{{8, 7, "order-4", 0}}));
  EXPECT_EQ(Read("$et-Paid", StreamFrom(1)), (std::vector<Entry>{{8, 1, "order-4", 0}}));
}

TEST_F(IndexStreamsTest, CursorPagesThroughAnIndexInBothDirections) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  for (ReadDirection direction : {ReadDirection::kForward, ReadDirection::kBackward}) {
    CursorOptions o;
    o.stream = "$et-Placed";
    o.direction = direction;
    absl::StatusOr<LogCursor> cursor = log_->NewCursor(o);
    ASSERT_TRUE(cursor.ok()) << cursor.status();
    std::vector<RecordedEvent> all;
    while (!cursor->done()) ASSERT_TRUE(cursor->Next(2, &all).ok());
    std::vector<Entry> expected = kPlaced;
    if (direction == ReadDirection::kBackward) std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(Entries(all), expected);
  }
}

TEST_F(IndexStreamsTest, IndexStreamsAreReadOnly) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  for (const char* stream : {"$ce-order", "$et-Placed", "$$$ce-order"}) {
    NewEvent e = Ev(stream[1] == '$' ? "$metadata" : "Placed");
    absl::StatusOr<AppendResult> r = log_->Append(stream, ExpectedVersion::Any(), {e});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << stream;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("is an index stream")) << stream;
  }
  absl::StatusOr<AppendResult> d =
      log_->DeleteStream("$ce-order", ExpectedVersion::Any(), DeleteMode::kSoft);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Read("$ce-order"), kOrders);
  EXPECT_EQ(log_->Head(), 8u);
}

TEST_F(IndexStreamsTest, VersionsContinueAfterAReopenAndWithinOneGroup) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  ASSERT_NO_FATAL_FAILURE(Open());
  MustAppend("order-4", "Placed");  // 9
  EXPECT_EQ(Read("$ce-order", StreamFrom(4)), (std::vector<Entry>{{9, 4, "order-4", 0}}));
  EXPECT_EQ(Read("$et-Placed", StreamFrom(5)), (std::vector<Entry>{{9, 5, "order-4", 0}}));
  // Appends queued together (likely one group): still dense, in log order.
  constexpr int kAppends = 200;
  absl::Mutex mu;
  int done = 0;
  absl::Notification all_done;
  for (int i = 0; i < kAppends; ++i) {
    log_->AppendAsync(absl::StrCat("cart-", i % 7), ExpectedVersion::Any(), {Ev("Added")},
                      [&](absl::StatusOr<AppendResult> r) {
                        EXPECT_TRUE(r.ok()) << r.status();
                        absl::MutexLock lock(&mu);
                        if (++done == kAppends) all_done.Notify();
                      });
  }
  all_done.WaitForNotification();
  const std::vector<Entry> carts = Read("$ce-cart");
  ASSERT_EQ(carts.size(), static_cast<size_t>(kAppends));
  for (int i = 0; i < kAppends; ++i) {
    EXPECT_EQ(carts[i].index_version, static_cast<StreamVersion>(i));
    EXPECT_EQ(carts[i].position, 10u + i);
  }
  EXPECT_EQ(Entries(log_->ReadStream("$et-Added", StreamFrom(0))).size(),
            static_cast<size_t>(kAppends));
}

TEST_F(IndexStreamsTest, AnOlderLogIsIndexedAtOpenAndAnInterruptedRunResumes) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  // As a log written before index streams: no `indexes` column family.
  log_.reset();
  {
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.Sub("db"), &names).ok());
    EXPECT_THAT(names, ::testing::Contains("indexes"));
  }
  ASSERT_NO_FATAL_FAILURE(WithIndexes([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    ASSERT_TRUE(db->DropColumnFamily(cf).ok());
  }));
  // Read-only, it cannot index: index streams say so; the rest reads.
  ASSERT_NO_FATAL_FAILURE(Open(/*read_only=*/true));
  absl::StatusOr<std::vector<RecordedEvent>> refused = log_->ReadStream("$ce-order", StreamFrom(0));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("open it once read-write"));
  EXPECT_EQ(log_->ReadStream("order-1", StreamFrom(0))->size(), 2u);
  // Read-write: indexed at open, as if it had been all along.
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Read("$ce-order"), kOrders);
  EXPECT_EQ(Read("$et-Placed"), kPlaced);
  // An interrupted run: indexed up to position 3 only. (One run per event:
  // each was its own append.)
  ASSERT_NO_FATAL_FAILURE(WithIndexes([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    for (const auto& [kind, name, from] :
         {std::tuple('c', "order", 2), std::tuple('t', "Placed", 2),
          std::tuple('t', "Shipped", 0)}) {
      const std::string key_name = internal::IndexKeyName(kind, name);
      ASSERT_TRUE(db->DeleteRange({}, cf, internal::StreamKey(key_name, from),
                                  internal::StreamKeyEnd(key_name))
                      .ok());
    }
    const rocksdb::Slice state(internal::kIndexesStateKey.data(),
                               internal::kIndexesStateKey.size());
    ASSERT_TRUE(db->Put({}, cf, state, internal::PositionKey(3)).ok());
  }));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Read("$ce-order"), kOrders);
  EXPECT_EQ(Read("$et-Placed"), kPlaced);
  EXPECT_EQ(Read("$et-Shipped"), (std::vector<Entry>{{4, 0, "order-1", 1}}));
  MustAppend("order-5", "Placed");
  EXPECT_EQ(Read("$ce-order", StreamFrom(4)), (std::vector<Entry>{{9, 4, "order-5", 0}}));
}

TEST_F(IndexStreamsTest, AnIndexOfAnUnknownFormatIsRebuiltAndShadowedStreamsNamed) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  ASSERT_NO_FATAL_FAILURE(WithStore([](strata::testing::PlainStore& store) {
    rocksdb::DB* db = store.db();
    // An earlier format: one key per event, an 8-byte position each.
    const rocksdb::Slice state(internal::kIndexesStateKey.data(),
                               internal::kIndexesStateKey.size());
    ASSERT_TRUE(db->Put({}, store.cf("indexes"), state, "complete").ok());
    ASSERT_TRUE(db->Put({}, store.cf("indexes"),
                        internal::StreamKey(internal::IndexKeyName('c', "order"), 0),
                        internal::PositionKey(1))
                    .ok());
    // A stream an older engine let through, named like an index stream.
    ASSERT_TRUE(db->Put({}, store.cf("streams"), internal::StreamKey("$ce-legacy", 0),
                        internal::PositionKey(1))
                    .ok());
  }));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_TRUE(Logged("unknown format; rebuilding"));
  EXPECT_TRUE(Logged("stream '$ce-legacy'"));
  EXPECT_EQ(Read("$ce-order"), kOrders);
  EXPECT_EQ(Read("$et-Placed"), kPlaced);
}

TEST_F(IndexStreamsTest, ALogThatCannotBeIndexedOpensWithoutIndexStreams) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  ASSERT_NO_FATAL_FAILURE(WithStore([](strata::testing::PlainStore& store) {
    rocksdb::DB* db = store.db();
    ASSERT_TRUE(db->DropColumnFamily(store.cf("indexes")).ok());
    std::string value;
    ASSERT_TRUE(db->Get({}, store.cf("events"), internal::PositionKey(3), &value).ok());
    value[value.size() / 2] ^= 0x01;
    ASSERT_TRUE(db->Put({}, store.cf("events"), internal::PositionKey(3), value).ok());
  }));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_TRUE(Logged("cannot index the log's events"));
  absl::StatusOr<std::vector<RecordedEvent>> refused = log_->ReadStream("$ce-order", StreamFrom(0));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("failed when it was opened: event record at position 3"));
  // Everything else serves: reads of undamaged events, appends.
  EXPECT_EQ(log_->ReadStream("order-1", StreamFrom(0))->size(), 2u);
  MustAppend("order-9", "Placed");
  EXPECT_EQ(log_->ReadStream("order-9", StreamFrom(0))->size(), 1u);
}

}  // namespace
}  // namespace strata
