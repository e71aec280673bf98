// One malformed domain event must not take the link read models down. Found
// while building the history harness: Streams.Append let any client write
// any type to the domain's "clicks-<id>" streams; LinkClicksProjection::Apply
// answers a payload that does not verify with DataLoss, and an Apply error
// stops the projection, so one bad append took GetLinkAnalytics down for every
// link, and a rebuild failed again at the same position. The fix: streams with
// the domain's prefixes (links::kDomainStreamPrefixes) are written only through
// LinkCommands. This test sends the bad append, expects INVALID_ARGUMENT naming
// the stream, and expects every link still served, also after a rebuild.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "schemas/strata.grpc.pb.h"
#include "tests/reliability/history_stratad.h"
#include "tests/testutil/temp_dir.h"

namespace strata::reliability {
namespace {

TEST(HistoryDomainPoisonTest, MalformedClickAppendedDirectlyIsRefusedAndLinksStayServed) {
  testing::TempDir dir;
  StratadProcess::Options so;
  so.data_dir = dir.Sub("data");
  so.log_path = dir.Sub("stratad.log");
  auto server = StratadProcess::Start(so);
  ASSERT_TRUE(server.ok() && (*server)->listening());
  auto channel = NewChannel((*server)->address());
  auto streams = strata::v1::Streams::NewStub(channel);
  auto commands = strata::v1::LinkCommands::NewStub(channel);
  auto queries = strata::v1::LinkQueries::NewStub(channel);
  History history;
  Op create;
  create.link_id = "good";
  create.request_id = "create-good";
  ASSERT_TRUE(RecordedCreateLink(history, *commands, create, absl::Seconds(10)).ok());

  // A client of the generic API writes a "click" that is not a ClickRecorded
  // table. The log accepts it (it does not know the domain).
  strata::v1::AppendRequest bad;
  bad.set_stream("clicks-other");
  bad.mutable_expected_version()->set_kind(strata::v1::ExpectedVersion::ANY);
  auto* e = bad.add_events();
  e->set_type("ClickRecorded");
  e->set_data("not a flatbuffer");
  strata::v1::AppendResponse appended;
  {
    grpc::ClientContext ctx;
    const grpc::Status refused = streams->Append(&ctx, bad, &appended);
    ASSERT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << StatusText(refused);
    EXPECT_NE(refused.error_message().find("stream: 'clicks-other'"), std::string::npos)
        << refused.error_message();
  }
  // The same through a link stream.
  bad.set_stream("link-other");
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(streams->Append(&ctx, bad, &appended).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Other streams are the generic API's.
  bad.set_stream("orders-1");
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(streams->Append(&ctx, bad, &appended).ok());
  }

  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  auto analytics = [&](strata::v1::GetLinkAnalyticsResponse* out) {
    strata::v1::GetLinkAnalyticsRequest request;
    request.set_link_id("good");
    request.set_from_date(absl::FormatCivilTime(today - 1));
    request.set_to_date(absl::FormatCivilTime(today));
    request.set_min_position(appended.last_position());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return queries->GetLinkAnalytics(&ctx, request, out);
  };
  strata::v1::GetLinkAnalyticsResponse response;
  grpc::Status s = analytics(&response);
  EXPECT_TRUE(s.ok()) << "an unrelated link's analytics: " << StatusText(s);

  // A rebuild replays the log and serves the same answers.
  auto admin = strata::v1::Projections::NewStub(channel);
  strata::v1::RebuildProjectionRequest rebuild;
  rebuild.set_name("link_clicks");
  strata::v1::RebuildProjectionResponse rebuilt;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(admin->RebuildProjection(&ctx, rebuild, &rebuilt).ok());
  }
  s = analytics(&response);
  EXPECT_TRUE(s.ok()) << "after RebuildProjection: " << StatusText(s);
}

}  // namespace
}  // namespace strata::reliability
