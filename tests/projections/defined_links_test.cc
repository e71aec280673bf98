// The shipped link definitions (examples/projections/link_details.json and
// link_clicks.json) equal the built-in link read models key for key, folded
// by the real runtime over one log of the link domain's own events (read by
// the definitions through links::EventJson).
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "links/links.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/json.h"
#include "projections/defined/rows.h"
#include "projections/runtime/runtime.h"
#include "tests/projections/counter_projection.h"
#include "tests/projections/defined_fixtures.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using defined::Row;

std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(STRATA_SOURCE_DIR) + "/examples/projections/" + name);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

std::shared_ptr<Projection> Defined(const std::string& file) {
  absl::StatusOr<defined::Definition> def =
      defined::Compile(testing::ParseDefinition(ReadExample(file)));
  EXPECT_TRUE(def.ok()) << def.status();
  auto events = std::make_shared<defined::JsonEvents>(
      defined::JsonViews{{links::kContentType, links::EventJson}});
  return std::make_shared<defined::DefinedProjection>(*def, 1, events);
}

TEST(DefinedLinksTest, ShippedDefinitionsEqualTheBuiltInReadModelsKeyForKey) {
  strata::testing::TempDir dir;
  auto log = EventLog::Open(dir.Sub("log"));
  ASSERT_TRUE(log.ok()) << log.status();
  std::mt19937 rng(17);
  const int64_t start_us = 1'767'225'600'000'000;  // 2026-01-01
  const int64_t day_us = 86'400'000'000;
  const std::vector<std::string> countries = {"DE", "US", "FR", "", "JP"};
  const std::vector<std::string> devices = {"desktop", "mobile", "tablet", "bot", "other"};
  int64_t now = start_us;
  auto append = [&](const std::string& stream, const char* type, std::string data) {
    NewEvent e;
    e.type = type;
    e.content_type = links::kContentType;
    e.data = std::move(data);
    now += static_cast<int64_t>(rng() % 3'000'000'000ULL);  // up to 50 minutes later
    e.recorded_at_us = now;
    auto r = (*log)->Append(stream, ExpectedVersion::Any(), {std::move(e)});
    ASSERT_TRUE(r.ok()) << r.status();
  };
  const int links_count = 40;
  for (int i = 0; i < links_count; ++i) {
    const std::string id = absl::StrCat("l", i);
    append(links::LinkStream(id), links::kLinkCreatedType,
           links::EncodeLinkCreated(id, absl::StrCat("https://example.com/", id),
                                    i % 3 == 0 ? "" : "ann"));
  }
  for (int i = 0; i < 3000; ++i) {
    const std::string id = absl::StrCat("l", rng() % links_count);
    if (rng() % 50 == 0) {
      append(links::LinkStream(id), links::kDestinationUpdatedType,
             links::EncodeDestinationUpdated(id, absl::StrCat("https://example.org/", i)));
      continue;
    }
    // A third of the clicks carry no time (they count at recorded_at).
    const int64_t clicked_at =
        rng() % 3 == 0 ? 0 : start_us + static_cast<int64_t>(rng() % 90) * day_us + rng() % 1000;
    append(links::ClickStream(id), links::kClickRecordedType,
           links::EncodeClickRecorded(id, countries[rng() % countries.size()],
                                      devices[rng() % devices.size()], clicked_at));
  }

  ProjectionRuntimeOptions options;
  options.logger = NullLogger();
  options.snapshot_interval_events = 500;
  auto runtime = ProjectionRuntime::Open(dir.Sub("projections"), log->get(), options);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  for (auto& p : links::Projections()) STRATA_ASSERT_OK((*runtime)->Register(p));
  STRATA_ASSERT_OK((*runtime)->Register(Defined("link_details.json")));
  STRATA_ASSERT_OK((*runtime)->Register(Defined("link_clicks.json")));
  const std::vector<std::string> names = {links::kLinkDetailsProjection,
                                          links::kLinkClicksProjection, "links", "clicks"};
  for (const std::string& name : names) {
    STRATA_ASSERT_OK((*runtime)->WaitFor(name, (*log)->Head(), absl::Now() + absl::Seconds(60)));
  }
  STRATA_ASSERT_OK((*runtime)->Read(
      names, std::nullopt,
      [&](absl::Span<const StateReader* const> r, GlobalPosition) -> absl::Status {
        // link_clicks: the built-in's keys and counters, rebuilt from the rows.
        const std::map<std::string, std::string> built_in = testing::Dump(*r[1]);
        std::map<std::string, std::string> from_rows;
        defined::ScanRange all;
        all.limit = 1'000'000;
        absl::StatusOr<defined::ScanResult> clicks = defined::ScanRows(*r[3], all);
        EXPECT_TRUE(clicks.ok()) << clicks.status();
        for (const Row& row : clicks->rows) {
          std::vector<std::string> key = row.key;
          if (key[0] == "c" && key[3].empty()) key[3] = "-";  // the built-in's unknown country
          from_rows[absl::StrJoin(key, "/")] =
              EncodeCounter(static_cast<uint64_t>(row.values.at("clicks").i));
        }
        EXPECT_GT(built_in.size(), 2000u);
        EXPECT_EQ(from_rows.size(), built_in.size());
        EXPECT_EQ(from_rows, built_in);
        // link_details: every link's details, field for field.
        for (int i = 0; i < links_count; ++i) {
          const std::string id = absl::StrCat("l", i);
          absl::StatusOr<std::optional<links::LinkDetails>> expected =
              links::ReadLinkDetails(*r[0], id);
          EXPECT_TRUE(expected.ok() && expected->has_value()) << id;
          absl::StatusOr<std::optional<Row>> row = defined::GetRow(*r[2], {id});
          EXPECT_TRUE(row.ok() && row->has_value()) << id;
          if (!expected.ok() || !row.ok() || !expected->has_value() || !row->has_value()) continue;
          const links::LinkDetails& d = **expected;
          EXPECT_EQ((*row)->values.at("details").text,
                    absl::StrCat(R"({"created_at_us":)", d.created_at_us, R"(,"destination":")",
                                 d.destination, R"(","owner":")", d.owner,
                                 R"(","updated_at_us":)", d.updated_at_us,
                                 R"(,"version":)", d.version, "}"))
              << id;
        }
        return absl::OkStatus();
      }));
}

}  // namespace
}  // namespace strata
