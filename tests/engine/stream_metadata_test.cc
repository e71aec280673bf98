// Stream metadata and deletion (engine/stream_metadata.h) through EventLog's
// public API, against a real RocksDB store in a temporary directory: soft
// delete and the appends after it, tombstones (also after reopening), the
// expected-version checks of a deletion, $tb / $maxCount / $maxAge on stream
// reads (forwards, backwards, as of a past position), the validation of
// metastream appends, and the events the log records for all of it.
#include "engine/stream_metadata.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/read_options.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using ::strata::testing::StreamFrom;
using ::strata::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kNowUs = 1'800'000'000'000'000;

NewEvent Ev(std::string type, std::string data = "{}") {
  NewEvent e;
  e.type = std::move(type);
  e.content_type = "application/json";
  e.data = std::move(data);
  return e;
}

NewEvent Metadata(std::string json) { return Ev(std::string(kMetadataEventType), json); }

std::vector<NewEvent> Events(int n) {
  std::vector<NewEvent> events;
  for (int i = 0; i < n; ++i) events.push_back(Ev("Placed"));
  return events;
}

std::vector<StreamVersion> Versions(const absl::StatusOr<std::vector<RecordedEvent>>& events) {
  std::vector<StreamVersion> out;
  if (!events.ok()) return {999999};
  for (const RecordedEvent& e : *events) out.push_back(e.stream_version);
  return out;
}

class StreamMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.clock_us = [this] { return now_us_.load(); };
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  void Open() {
    log_.reset();
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir_.Sub("db"), options_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  AppendResult MustAppend(const std::string& stream, std::vector<NewEvent> events) {
    absl::StatusOr<AppendResult> r =
        log_->Append(stream, ExpectedVersion::Any(), std::move(events));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : AppendResult{};
  }
  absl::StatusOr<std::vector<RecordedEvent>> Read(const std::string& stream,
                                                  ReadStreamOptions o = StreamFrom(0)) {
    return log_->ReadStream(stream, o);
  }

  TempDir dir_;
  std::atomic<int64_t> now_us_{kNowUs};
  EventLogOptions options_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(StreamMetadataTest, SoftDeleteHidesTheStreamUntilLaterAppendsContinueItsVersions) {
  MustAppend("order-1", Events(3));  // positions 1-3, versions 0-2
  absl::StatusOr<AppendResult> deleted =
      log_->DeleteStream("order-1", ExpectedVersion::Exact(2), DeleteMode::kSoft);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->first_position, 4u);
  EXPECT_EQ(deleted->last_position, 4u);
  EXPECT_EQ(deleted->last_version, 0u);  // the first event of $$order-1

  absl::StatusOr<std::vector<RecordedEvent>> read = Read("order-1");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(read.status().message(),
            "stream 'order-1' is deleted (its versions up to 2 are truncated by $tb 3)");
  absl::StatusOr<StreamInfo> info = log_->GetStreamInfo("order-1");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->last_version, 2u);
  EXPECT_TRUE(info->soft_deleted);
  EXPECT_FALSE(info->readable());
  StreamMetadata expected;
  expected.truncate_before = 3;
  EXPECT_EQ(info->metadata, expected);

  // The log keeps the deletion as an event of the metastream.
  absl::StatusOr<RecordedEvent> marker = log_->ReadEvent(4);
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(marker->stream, "$$order-1");
  EXPECT_EQ(marker->type, "$metadata");
  EXPECT_EQ(marker->data, R"({"$tb":3})");

  // Appends go on after the last version; what they add is visible.
  absl::StatusOr<AppendResult> more = log_->Append("order-1", ExpectedVersion::Exact(2), Events(2));
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->first_position, 5u);
  EXPECT_EQ(more->last_version, 4u);
  EXPECT_THAT(Versions(Read("order-1")), ElementsAre(3, 4));
  EXPECT_THAT(Versions(Read("order-1", StreamFrom(kReadFromEnd, ReadDirection::kBackward))),
              ElementsAre(4, 3));

  // As of a past position, the metadata of that time applies.
  ReadStreamOptions before = StreamFrom(0);
  before.as_of_position = 3;
  EXPECT_THAT(Versions(Read("order-1", before)), ElementsAre(0, 1, 2));
  ReadStreamOptions at_delete = StreamFrom(0);
  at_delete.as_of_position = 4;
  EXPECT_EQ(Read("order-1", at_delete).status().code(), absl::StatusCode::kNotFound);

  // Still so after reopening.
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(Versions(Read("order-1")), ElementsAre(3, 4));
}

TEST_F(StreamMetadataTest, SoftDeleteKeepsTheOtherMetadataKeys) {
  MustAppend("order-2", Events(2));
  MustAppend("$$order-2", {Metadata(R"({"$maxCount":5, "owner":{"team":"ops"},"$tb":1})")});
  ASSERT_TRUE(log_->DeleteStream("order-2", ExpectedVersion::Any(), DeleteMode::kSoft).ok());
  absl::StatusOr<std::vector<RecordedEvent>> meta =
      Read("$$order-2", StreamFrom(kReadFromEnd, ReadDirection::kBackward, 1));
  ASSERT_TRUE(meta.ok()) << meta.status();
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].data, R"({"$tb":2,"$maxCount":5,"owner":{"team":"ops"}})");
}

TEST_F(StreamMetadataTest, TombstoneRefusesReadsAndWritesForGood) {
  MustAppend("order-3", Events(2));
  absl::StatusOr<AppendResult> tomb =
      log_->DeleteStream("order-3", ExpectedVersion::StreamExists(), DeleteMode::kTombstone);
  ASSERT_TRUE(tomb.ok()) << tomb.status();
  EXPECT_EQ(tomb->first_position, 3u);

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "before reopening" : "after reopening");
    absl::StatusOr<std::vector<RecordedEvent>> read = Read("order-3");
    EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(read.status().message(), "stream 'order-3' is deleted (tombstoned at position 3)");
    absl::StatusOr<AppendResult> append =
        log_->Append("order-3", ExpectedVersion::Any(), Events(1));
    EXPECT_EQ(append.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(append.status().message(),
              "append stream 'order-3': stream 'order-3' is deleted (tombstoned) for good");
    absl::StatusOr<AppendResult> meta =
        log_->Append("$$order-3", ExpectedVersion::Any(), {Metadata("{}")});
    EXPECT_EQ(meta.status().message(),
              "append stream '$$order-3': stream 'order-3' is deleted (tombstoned) for good");
    absl::StatusOr<AppendResult> again =
        log_->DeleteStream("order-3", ExpectedVersion::Any(), DeleteMode::kSoft);
    EXPECT_EQ(again.status().message(),
              "delete stream 'order-3': stream 'order-3' is deleted (tombstoned) for good");
    absl::StatusOr<StreamInfo> info = log_->GetStreamInfo("order-3");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->tombstoned_at, 3u);
    EXPECT_EQ(log_->Head(), 3u);  // nothing refused was written
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  absl::StatusOr<RecordedEvent> marker = log_->ReadEvent(3);
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->stream, "$$order-3");
  EXPECT_EQ(marker->type, "$streamDeleted");
}

TEST_F(StreamMetadataTest, AnAppendQueuedBehindATombstoneIsRefused) {
  MustAppend("order-4", Events(1));
  absl::Notification deleted, appended;
  absl::StatusOr<AppendResult> tomb, append;
  // Queued back to back: committed in one group or two, the append follows.
  log_->DeleteStreamAsync("order-4", ExpectedVersion::Any(), DeleteMode::kTombstone,
                          [&](absl::StatusOr<AppendResult> r) {
                            tomb = std::move(r);
                            deleted.Notify();
                          });
  log_->AppendAsync("order-4", ExpectedVersion::Any(), Events(1),
                    [&](absl::StatusOr<AppendResult> r) {
                      append = std::move(r);
                      appended.Notify();
                    });
  deleted.WaitForNotification();
  appended.WaitForNotification();
  EXPECT_TRUE(tomb.ok()) << tomb.status();
  EXPECT_EQ(append.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log_->Head(), 2u);
}

TEST_F(StreamMetadataTest, DeletionChecksTheExpectedVersionOfTheStream) {
  MustAppend("order-5", Events(3));
  absl::StatusOr<AppendResult> stale =
      log_->DeleteStream("order-5", ExpectedVersion::Exact(1), DeleteMode::kTombstone);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(),
            "delete stream 'order-5': expected version 1, stream is at 2");
  // The version the check found travels with the error.
  EXPECT_EQ(CurrentVersionOf(stale.status()), std::optional<std::optional<StreamVersion>>(2));
  EXPECT_EQ(CurrentVersionOf(absl::AbortedError("other")), std::nullopt);
  absl::StatusOr<AppendResult> no_stream =
      log_->DeleteStream("order-5", ExpectedVersion::NoStream(), DeleteMode::kSoft);
  EXPECT_EQ(no_stream.status().message(),
            "delete stream 'order-5': expected version no_stream, stream is at 2");
  EXPECT_EQ(log_->Head(), 3u);
  EXPECT_THAT(Versions(Read("order-5")), ElementsAre(0, 1, 2));

  // A stream that never existed can be deleted expecting no stream.
  absl::StatusOr<AppendResult> exists =
      log_->DeleteStream("order-none", ExpectedVersion::StreamExists(), DeleteMode::kSoft);
  EXPECT_EQ(CurrentVersionOf(exists.status()), std::optional<std::optional<StreamVersion>>(
                                                   std::optional<StreamVersion>()));
  absl::StatusOr<AppendResult> missing =
      log_->DeleteStream("order-none", ExpectedVersion::NoStream(), DeleteMode::kTombstone);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(Read("order-none").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StreamMetadataTest, TruncateBeforeAndMaxCountLimitWhatStreamReadsSee) {
  MustAppend("order-6", Events(6));  // versions 0-5
  MustAppend("$$order-6", {Metadata(R"({"$tb":2})")});
  EXPECT_THAT(Versions(Read("order-6")), ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(Versions(Read("order-6", StreamFrom(1, ReadDirection::kForward, 2))),
              ElementsAre(2, 3));
  EXPECT_THAT(Versions(Read("order-6", StreamFrom(kReadFromEnd, ReadDirection::kBackward))),
              ElementsAre(5, 4, 3, 2));
  EXPECT_THAT(Versions(Read("order-6", StreamFrom(1, ReadDirection::kBackward))), IsEmpty());

  MustAppend("$$order-6", {Metadata(R"({"$tb":2,"$maxCount":3})")});
  EXPECT_THAT(Versions(Read("order-6")), ElementsAre(3, 4, 5));
  MustAppend("$$order-6", {Metadata(R"({"$maxCount":10})")});  // replaces: no $tb now
  EXPECT_THAT(Versions(Read("order-6")), ElementsAre(0, 1, 2, 3, 4, 5));
  // The whole log keeps everything.
  ReadAllOptions all;
  absl::StatusOr<std::vector<RecordedEvent>> everything = log_->ReadAll(all);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->size(), 9u);
}

TEST_F(StreamMetadataTest, MaxAgeHidesOldEventsWhereverTheReadStarts) {
  std::vector<NewEvent> events = Events(5);
  for (int i = 0; i < 5; ++i) events[i].recorded_at_us = kNowUs - (100 - 20 * i) * 1'000'000LL;
  MustAppend("order-7", std::move(events));  // recorded 100, 80, 60, 40, 20 s ago
  MustAppend("$$order-7", {Metadata(R"({"$maxAge":50})")});
  EXPECT_THAT(Versions(Read("order-7")), ElementsAre(3, 4));
  // One event from the start: the first visible, past the hidden ones.
  EXPECT_THAT(Versions(Read("order-7", StreamFrom(0, ReadDirection::kForward, 1))), ElementsAre(3));
  EXPECT_THAT(Versions(Read("order-7", StreamFrom(kReadFromEnd, ReadDirection::kBackward, 5))),
              ElementsAre(4, 3));
  now_us_ += 30'000'000;  // 30 s later only the newest is young enough
  EXPECT_THAT(Versions(Read("order-7")), ElementsAre(4));
  // An age beyond the clock's ("forever") hides nothing.
  MustAppend("$$order-7", {Metadata(R"({"$maxAge":18446744073709551615})")});
  EXPECT_THAT(Versions(Read("order-7")), ElementsAre(0, 1, 2, 3, 4));
  // Tools see what is stored, metadata or not.
  MustAppend("$$order-7", {Metadata(R"({"$tb":4})")});
  ReadStreamOptions raw = StreamFrom(0);
  raw.apply_metadata = false;
  EXPECT_THAT(Versions(Read("order-7", raw)), ElementsAre(0, 1, 2, 3, 4));
}

TEST_F(StreamMetadataTest, MetastreamAppendsHoldValidMetadataOnly) {
  struct Case {
    std::string stream;
    NewEvent event;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"$$order-8", Ev("Placed"),
       "events[0].type: metastream '$$order-8' holds only '$metadata' events, not 'Placed' (a "
       "stream is deleted through DeleteStream)"},
      {"$$order-8", Ev("$streamDeleted"),
       "events[0].type: metastream '$$order-8' holds only '$metadata' events, not "
       "'$streamDeleted' (a stream is deleted through DeleteStream)"},
      {"$$order-8", Metadata(R"({"$maxCount":2.5})"),
       "events[0].data.$maxCount: must be an integer >= 1, not 2.5"},
      {"$$order-8", Metadata(R"({"$maxAge":0})"),
       "events[0].data.$maxAge: must be an integer >= 1, not 0"},
      {"$$order-8", Metadata(R"({"$tb":-1})"),
       "events[0].data.$tb: must be an integer >= 0, not -1"},
      {"$$order-8", Metadata("[1]"), "events[0].data: stream metadata must be a JSON object"},
      {"$$order-8", Metadata("{"),
       "events[0].data: stream metadata is not valid JSON (The JSON document has an improper "
       "structure: missing or superfluous commas, braces, missing keys, etc.)"},
      {"$$", Metadata("{}"), "stream: '$$' is a metastream prefix with no stream"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    absl::StatusOr<AppendResult> r = log_->Append(c.stream, ExpectedVersion::Any(), {c.event});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.error);
  }
  absl::StatusOr<AppendResult> meta_delete =
      log_->DeleteStream("$$order-8", ExpectedVersion::Any(), DeleteMode::kSoft);
  EXPECT_EQ(meta_delete.status().message(),
            "stream: '$$order-8' is a metastream; delete the stream it describes");
  EXPECT_EQ(log_->Head(), 0u);
}

}  // namespace
}  // namespace strata
