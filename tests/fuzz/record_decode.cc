// record_decode: the stored-record decoder on arbitrary bytes, as a damaged or
// hostile store would hand them to it.
//
// Input: [mode: 1 byte][expected position: 8 bytes big-endian][stored value].
// mode bits 0-2 misalign the value in memory by 0-7 bytes (the decoder must copy
// misaligned records before FlatBuffers reads them); bit 3 rewrites the CRC32C
// trailer to match the body, so mutations get past the checksum and reach the
// FlatBuffers verifier and the field checks.
//
// Properties: DecodeRecord returns OK or DATA_LOSS, never crashes or reads
// outside the value (the value sits in an exactly-sized heap block, so ASan
// sees any over-read); a decoded record has the expected position, its views
// lie inside the value or the scratch copy, and re-encoding it decodes to the
// same fields. A decoded record is then folded by the link projections, as the
// projection runtime would: OK, DATA_LOSS or FAILED_PRECONDITION, and only
// NUL-free state keys.
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"
#include "engine/internal/codec.h"
#include "links/links.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/projections/counter_projection.h"

namespace strata::fuzz {
namespace {

bool Inside(absl::string_view part, absl::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool InsideEither(absl::string_view part, absl::string_view a, absl::string_view b) {
  return Inside(part, a) || Inside(part, b);
}

bool FoldStatusIsExpected(const absl::Status& s) {
  return s.ok() || absl::IsDataLoss(s) || absl::IsFailedPrecondition(s);
}

void CheckKeys(const testing::MapWriter& w) {
  for (const auto& [key, value] : w.state) {
    STRATA_FUZZ_CHECK(key.find('\0') == std::string::npos, "projection key with NUL: '",
                      absl::CHexEscape(key), "'");
  }
}

// Folds `event` with both link projections. A DestinationUpdated gets a
// LinkCreated of the same stream first, so its decoding is reached too.
void FoldLinks(const EventView& event) {
  testing::MapWriter details;
  testing::MapWriter clicks;
  links::LinkDetailsProjection details_projection;
  links::LinkClicksProjection clicks_projection;
  absl::string_view stream = event.stream;
  if (event.type == links::kDestinationUpdatedType && absl::ConsumePrefix(&stream, "link-") &&
      links::ValidateLinkId(stream).ok()) {
    const std::string created = links::EncodeLinkCreated(stream, "https://example.com/", "o");
    EventView first = event;
    first.type = links::kLinkCreatedType;
    first.data = created;
    absl::Status s = details_projection.Apply(first, details);
    STRATA_FUZZ_CHECK(s.ok(), "a well-formed LinkCreated does not fold: ", s.ToString());
  }
  absl::Status s = details_projection.Apply(event, details);
  STRATA_FUZZ_CHECK(FoldStatusIsExpected(s), "link_details fold: ", s.ToString());
  s = clicks_projection.Apply(event, clicks);
  STRATA_FUZZ_CHECK(FoldStatusIsExpected(s), "link_clicks fold: ", s.ToString());
  CheckKeys(details);
  CheckKeys(clicks);
  // What the fold wrote reads back without DATA_LOSS.
  stream = event.stream;
  if (absl::ConsumePrefix(&stream, "link-") && links::ValidateLinkId(stream).ok()) {
    absl::StatusOr<std::optional<links::LinkDetails>> read =
        links::ReadLinkDetails(details, stream);
    STRATA_FUZZ_CHECK(read.ok(), "link_details read back: ", read.status().ToString());
  }
}

}  // namespace

int FuzzRecordDecode(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint8_t mode = in.Byte();
  const GlobalPosition expected_position = in.U64();
  const std::string rest = in.Rest();

  const size_t offset = mode & 7;
  // Exactly sized: a read past the value is a heap overflow for ASan.
  std::unique_ptr<char[]> block(new char[offset + rest.size()]);
  std::memcpy(block.get() + offset, rest.data(), rest.size());
  if ((mode & 8) != 0 && rest.size() >= 4) {
    const size_t body_size = rest.size() - 4;
    const uint32_t crc = internal::Crc32c(absl::string_view(block.get() + offset, body_size));
    for (size_t i = 0; i < 4; ++i) {
      block[offset + body_size + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    }
  }
  const absl::string_view value(block.get() + offset, rest.size());
  std::string scratch;
  EventView view;
  absl::Status s = internal::DecodeRecord(value, expected_position, &scratch, &view);
  if (!s.ok()) {
    STRATA_FUZZ_CHECK(absl::IsDataLoss(s), "DecodeRecord error other than DATA_LOSS: ",
                      s.ToString());
    return 0;
  }
  STRATA_FUZZ_CHECK(view.position == expected_position, "decoded position ", view.position,
                    " != expected ", expected_position);
  for (absl::string_view field :
       {view.stream, view.type, view.content_type, view.data, view.metadata}) {
    STRATA_FUZZ_CHECK(InsideEither(field, value, scratch),
                      "a decoded view points outside the value and the scratch copy");
  }
  const RecordedEvent decoded = view.ToRecorded();  // reads every byte of every view

  const std::string encoded = internal::EncodeRecord(view);
  std::string scratch2;
  EventView view2;
  s = internal::DecodeRecord(encoded, expected_position, &scratch2, &view2);
  STRATA_FUZZ_CHECK(s.ok(), "re-encoded record does not decode: ", s.ToString());
  STRATA_FUZZ_CHECK(view2.ToRecorded() == decoded, "re-encoded record decodes differently");

  FoldLinks(view);
  return 0;
}

}  // namespace strata::fuzz
