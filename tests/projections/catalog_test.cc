// The projection catalog's record codec (projections/runtime/catalog.h):
// FlatBuffers round trip, the legacy text records of older stores, and
// damaged bytes refused as DataLoss naming what is wrong.
#include "projections/runtime/catalog.h"

#include <string>

#include "gtest/gtest.h"

namespace strata::catalog {
namespace {

TEST(CatalogTest, RecordRoundTrips) {
  const CatalogRecord r{"link_clicks", 3, GenerationState::kFailed, "p/link_clicks/v3/g7", 42,
                        "bad event\nat 42"};
  absl::StatusOr<CatalogRecord> back = DecodeRecord(EncodeRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
}

TEST(CatalogTest, LegacyTextRecordsAreRead) {
  absl::StatusOr<CatalogRecord> r = DecodeRecord(
      "name=link_details\nversion=1\nstate=live\ncf=p/link_details/v1/g1\nerror_position=0\n"
      "error=\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (CatalogRecord{"link_details", 1, GenerationState::kLive,
                               "p/link_details/v1/g1", 0, ""}));
}

TEST(CatalogTest, DamagedRecordsAreDataLoss) {
  std::string bytes = EncodeRecord({"x", 1, GenerationState::kLive, "p/x/v1/g1", 0, ""});
  for (const std::string& damaged :
       {std::string("garbage"), bytes.substr(0, bytes.size() / 2), std::string(),
        std::string("name=x\nversion=1\nstate=lost\ncf=c\n"), std::string("name=x\nversion=1\n")}) {
    absl::StatusOr<CatalogRecord> r = DecodeRecord(damaged);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << damaged;
  }
  EXPECT_EQ(DecodeRecord("name=x\nversion=1\nstate=lost\ncf=c\n").status().message(),
            "catalog record: bad state 'lost'");
  EXPECT_EQ(DecodeRecord(EncodeRecord({"", 1, GenerationState::kLive, "c", 0, ""}))
                .status()
                .message(),
            "catalog record: no name");
}

TEST(CatalogTest, GenerationKeys) {
  EXPECT_EQ(GenerationKey(258), std::string("gen/\0\0\0\0\0\0\x01\x02", 12));
  EXPECT_EQ(ParseGenerationKey(GenerationKey(258)), 258u);
  EXPECT_EQ(ParseGenerationKey("gen/123"), std::nullopt);
  EXPECT_EQ(ParseGenerationKey("next_generation"), std::nullopt);
}

}  // namespace
}  // namespace strata::catalog
