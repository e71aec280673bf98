// Key and record encoding: big-endian keys sort in numeric order, stream keys
// of different streams never interleave, CRC32C matches the standard check
// value, UTF-8 validation, and every damaged record decodes to DATA_LOSS
// (never a crash or wrong data).
#include "engine/internal/codec.h"

#include <random>

#include "engine/base/validate.h"
#include "gtest/gtest.h"

namespace strata::internal {
namespace {

TEST(CodecTest, PositionKeysSortNumerically) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    uint64_t a = rng() >> (rng() % 64);
    uint64_t b = rng() >> (rng() % 64);
    EXPECT_EQ(a < b, PositionKey(a) < PositionKey(b)) << a << " " << b;
    EXPECT_EQ(GetBigEndian64(PositionKey(a).data()), a);
  }
}

TEST(CodecTest, StreamKeysOfOneStreamAreContiguousAndOrdered) {
  // "a" < "a\x01" < "ab": no key of "ab" or "a\x01" falls between two keys of "a".
  EXPECT_LT(StreamKey("a", UINT64_MAX), StreamKey("a\x01", 0));
  EXPECT_LT(StreamKey("a", UINT64_MAX), StreamKey("ab", 0));
  EXPECT_LT(StreamKey("a", 5), StreamKey("a", 6));
  EXPECT_LT(StreamKey("a", 255), StreamKey("a", 256));
  EXPECT_LE(StreamKey("a", UINT64_MAX), StreamKeyEnd("a"));
  EXPECT_LT(StreamKeyEnd("a"), StreamKey("a\x01", 0));
  absl::string_view stream;
  StreamVersion version = 0;
  const std::string key = StreamKey("link-42", 77);  // the views point into it
  ASSERT_TRUE(ParseStreamKey(key, &stream, &version));
  EXPECT_EQ(stream, "link-42");
  EXPECT_EQ(version, 77u);
  EXPECT_FALSE(ParseStreamKey("short", &stream, &version));
}

TEST(CodecTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(CodecTest, RecordRoundTripsEveryField) {
  EventView in;
  in.position = 42;
  in.stream = "link-1";
  in.stream_version = 7;
  in.event_id = EventId::Random();
  in.type = "ClickRecorded";
  in.content_type = "application/octet-stream";
  in.data = absl::string_view("a\0b", 3);
  in.metadata = "{}";
  in.recorded_at_us = -5;
  const std::string value = EncodeRecord(in);
  std::string scratch;
  EventView out;
  ASSERT_TRUE(DecodeRecord(value, 42, &scratch, &out).ok());
  EXPECT_EQ(out.ToRecorded(), in.ToRecorded());
  // The wrong key position is detected.
  EXPECT_EQ(DecodeRecord(value, 43, &scratch, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, EveryFlippedByteAndEveryTruncationIsDataLoss) {
  EventView in;
  in.position = 9;
  in.stream = "s";
  in.event_id = EventId::Random();
  in.type = "T";
  in.data = "payload";
  const std::string value = EncodeRecord(in);
  std::string scratch;
  EventView out;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string damaged = value;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    EXPECT_EQ(DecodeRecord(damaged, 9, &scratch, &out).code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  for (size_t n = 0; n < value.size(); ++n) {
    EXPECT_EQ(DecodeRecord(value.substr(0, n), 9, &scratch, &out).code(),
              absl::StatusCode::kDataLoss)
        << "length " << n;
  }
}

TEST(ValidateTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));                  // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));          // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // beyond U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1"));          // bad continuation
}

}  // namespace
}  // namespace strata::internal
