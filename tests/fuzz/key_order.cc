// key_order: the log's keys sort in memcmp order exactly as their logical
// order, for arbitrary positions, versions and stream names.
//
// Input: [a: u64][b: u64][stream 1: length byte + bytes][version 1: u64]
//        [stream 2: length byte + bytes][version 2: u64][rest: a raw key].
// NUL bytes of the stream names become 0x01 (names never hold NUL: the
// validator rejects them), so every input tests something.
//
// Properties: PositionKey(a) vs PositionKey(b) compares as a vs b and decodes
// back to a; for one stream, keys compare as versions; for two different
// streams, every key of one sorts on the same side of every key of the other
// (no interleaving), on the side of the byte-wise order of the names, and
// StreamKeyEnd(s) lies after every key of s and not after any key of a
// stream sorting after s. ParseStreamKey splits every StreamKey back and
// never crashes on the raw key.
#include <algorithm>
#include <cstring>

#include "absl/strings/escaping.h"
#include "engine/internal/codec.h"
#include "tests/fuzz/fuzz_targets.h"

namespace strata::fuzz {
namespace {

int Sign(int c) { return (c > 0) - (c < 0); }

// memcmp order of two keys, as RocksDB's default bytewise comparator.
int Compare(const std::string& x, const std::string& y) {
  const int c = std::memcmp(x.data(), y.data(), std::min(x.size(), y.size()));
  if (c != 0) return Sign(c);
  return (x.size() > y.size()) - (x.size() < y.size());
}

template <typename T>
int Logical(const T& x, const T& y) {
  return (x > y) - (x < y);
}

std::string Show(absl::string_view s) { return absl::StrCat("'", absl::CHexEscape(s), "'"); }

void CheckParse(const std::string& stream, StreamVersion version) {
  const std::string key = internal::StreamKey(stream, version);
  absl::string_view parsed_stream;
  StreamVersion parsed_version = 0;
  STRATA_FUZZ_CHECK(internal::ParseStreamKey(key, &parsed_stream, &parsed_version),
                    "ParseStreamKey rejects StreamKey(", Show(stream), ", ", version, ")");
  STRATA_FUZZ_CHECK(parsed_stream == stream && parsed_version == version,
                    "ParseStreamKey(StreamKey(", Show(stream), ", ", version, ")) gives ",
                    Show(parsed_stream), ", ", parsed_version);
}

}  // namespace

int FuzzKeyOrder(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint64_t a = in.U64();
  const uint64_t b = in.U64();
  std::string s1 = in.String(300);
  const StreamVersion v1 = in.U64();
  std::string s2 = in.String(300);
  const StreamVersion v2 = in.U64();
  const std::string raw = in.Rest();
  std::replace(s1.begin(), s1.end(), '\0', '\x01');
  std::replace(s2.begin(), s2.end(), '\0', '\x01');

  // Positions.
  const std::string ka = internal::PositionKey(a);
  const std::string kb = internal::PositionKey(b);
  STRATA_FUZZ_CHECK(ka.size() == 8, "PositionKey is ", ka.size(), " bytes");
  STRATA_FUZZ_CHECK(Compare(ka, kb) == Logical(a, b), "PositionKey order of ", a, " and ", b);
  STRATA_FUZZ_CHECK(internal::GetBigEndian64(ka.data()) == a, "PositionKey(", a,
                    ") decodes to ", internal::GetBigEndian64(ka.data()));

  CheckParse(s1, v1);
  CheckParse(s2, v2);

  // One stream: version order.
  STRATA_FUZZ_CHECK(
      Compare(internal::StreamKey(s1, v1), internal::StreamKey(s1, v2)) == Logical(v1, v2),
      "StreamKey order within ", Show(s1), " of versions ", v1, " and ", v2);

  // Two streams: no interleaving, name order, and StreamKeyEnd between them.
  if (s1 != s2) {
    const int names = Compare(s1, s2);  // byte-wise, as unsigned chars
    const std::string keys1[] = {internal::StreamKey(s1, 0), internal::StreamKey(s1, v1),
                                 internal::StreamKey(s1, v2), internal::StreamKey(s1, UINT64_MAX)};
    const std::string keys2[] = {internal::StreamKey(s2, 0), internal::StreamKey(s2, v1),
                                 internal::StreamKey(s2, v2), internal::StreamKey(s2, UINT64_MAX)};
    for (const std::string& k1 : keys1) {
      for (const std::string& k2 : keys2) {
        STRATA_FUZZ_CHECK(Compare(k1, k2) == names, "keys of ", Show(s1), " and ", Show(s2),
                          " interleave or disagree with the name order: ", Show(k1), " vs ",
                          Show(k2));
      }
    }
    const std::string& low = names < 0 ? s1 : s2;
    const std::string& high = names < 0 ? s2 : s1;
    const std::string low_end = internal::StreamKeyEnd(low);
    STRATA_FUZZ_CHECK(Compare(internal::StreamKey(low, UINT64_MAX), low_end) < 0,
                      "StreamKeyEnd(", Show(low), ") is not after its last key");
    STRATA_FUZZ_CHECK(Compare(low_end, internal::StreamKey(high, 0)) <= 0, "StreamKeyEnd(",
                      Show(low), ") is after the first key of ", Show(high));
  }

  // Arbitrary bytes as a key: no crash, and a split that rebuilds the key.
  absl::string_view stream;
  StreamVersion version = 0;
  if (internal::ParseStreamKey(raw, &stream, &version)) {
    STRATA_FUZZ_CHECK(internal::StreamKey(stream, version) == raw,
                      "ParseStreamKey split of ", Show(raw), " does not rebuild it");
  }
  return 0;
}

}  // namespace strata::fuzz
