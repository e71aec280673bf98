// The log's key and record encoding (codec.h, engine/FORMAT.md): big-endian
// keys, index runs, CRC32C (SSE4.2 when the CPU has it, else a table), and
// EventRecord FlatBuffers with their checksum trailer.
#include "engine/internal/codec.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/index_streams.h"
#include "schemas/event_record_generated.h"

namespace strata::internal {
namespace {

constexpr size_t kCrcBytes = 4;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

uint32_t Crc32cSoftware(uint32_t crc, const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, const uint8_t* p,
                                                          size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p);
    ++p;
    --n;
  }
  return c32;
}
#endif

absl::string_view ToView(const flatbuffers::String* s) {
  return s == nullptr ? absl::string_view() : absl::string_view(s->data(), s->size());
}
absl::string_view ToView(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? absl::string_view()
                      : absl::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

}  // namespace

std::string PositionKey(GlobalPosition position) {
  std::string key;
  key.reserve(8);
  PutBigEndian64(&key, position);
  return key;
}

std::string StreamKey(absl::string_view stream, StreamVersion version) {
  std::string key;
  key.reserve(stream.size() + 9);
  key.append(stream.data(), stream.size());
  key.push_back('\0');
  PutBigEndian64(&key, version);
  return key;
}

std::string IndexKeyName(char kind, absl::string_view name) {
  std::string out(1, kind);
  out.append(name.data(), name.size());
  return out;
}

std::string EncodeIndexRun(const IndexRun& run) {
  std::string out;
  PutBigEndian64(&out, run.first_position);
  PutBigEndian64(&out, run.count);
  return out;
}

bool DecodeIndexRun(absl::string_view value, IndexRun* run) {
  if (value.size() != 16) return false;
  run->first_position = GetBigEndian64(value.data());
  run->count = GetBigEndian64(value.data() + 8);
  return run->first_position > 0 && run->count > 0;
}

absl::InlinedVector<std::string, 2> IndexKeyNamesOf(absl::string_view stream,
                                                    absl::string_view type) {
  absl::InlinedVector<std::string, 2> names;
  ForEachIndexOf(stream, type, [&](IndexKind kind, absl::string_view name) {
    names.push_back(IndexKeyName(static_cast<char>(kind), name));
  });
  return names;
}

std::string IndexStreamOfKeyName(absl::string_view key_name) {
  if (key_name.empty()) return "";
  const absl::string_view prefix = key_name[0] == static_cast<char>(IndexKind::kCategory)
                                       ? kCategoryStreamPrefix
                                       : kEventTypeStreamPrefix;
  return absl::StrCat(prefix, key_name.substr(1));
}

std::string StreamKeyEnd(absl::string_view stream) {
  std::string key(stream);
  key.push_back('\x01');
  return key;
}

bool ParseStreamKey(absl::string_view key, absl::string_view* stream, StreamVersion* version) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  *stream = key.substr(0, key.size() - 9);
  *version = GetBigEndian64(key.data() + key.size() - 8);
  return true;
}

uint32_t Crc32c(absl::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  if (hardware) return ~Crc32cHardware(~0u, p, data.size());
#endif
  return ~Crc32cSoftware(~0u, p, data.size());
}

std::string EncodeRecord(const EventView& event) {
  flatbuffers::FlatBufferBuilder fbb(256 + event.data.size() + event.metadata.size());
  auto stream = fbb.CreateString(event.stream.data(), event.stream.size());
  auto type = fbb.CreateString(event.type.data(), event.type.size());
  auto content_type = fbb.CreateString(event.content_type.data(), event.content_type.size());
  auto metadata = fbb.CreateVector(reinterpret_cast<const uint8_t*>(event.metadata.data()),
                                   event.metadata.size());
  auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>(event.data.data()),
                               event.data.size());
  fbs::Uuid id(flatbuffers::span<const uint8_t, 16>(event.event_id.bytes.data(), 16));
  fbs::EventRecordBuilder b(fbb);
  b.add_position(event.position);
  b.add_stream(stream);
  b.add_stream_version(event.stream_version);
  b.add_event_id(&id);
  b.add_type(type);
  b.add_content_type(content_type);
  b.add_recorded_at_us(event.recorded_at_us);
  b.add_metadata(metadata);
  b.add_data(data);
  fbb.Finish(b.Finish(), fbs::EventRecordIdentifier());
  std::string value(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  uint32_t crc = Crc32c(value);
  char trailer[kCrcBytes];
  for (size_t i = 0; i < kCrcBytes; ++i) trailer[i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  value.append(trailer, kCrcBytes);
  return value;
}

absl::Status DecodeRecord(absl::string_view value, GlobalPosition expected_position,
                          std::string* scratch, EventView* out) {
  if (value.size() < kCrcBytes + 8) {
    return absl::DataLossError(
        absl::StrCat("event record at position ", expected_position, " is truncated (",
                     value.size(), " bytes)"));
  }
  absl::string_view body = value.substr(0, value.size() - kCrcBytes);
  uint32_t stored = 0;
  for (size_t i = 0; i < kCrcBytes; ++i) {
    stored |= static_cast<uint32_t>(static_cast<uint8_t>(value[body.size() + i])) << (8 * i);
  }
  if (Crc32c(body) != stored) {
    return absl::DataLossError(
        absl::StrCat("event record at position ", expected_position, ": checksum mismatch"));
  }
  // FlatBuffers reads scalars in place, so the buffer must be aligned.
  if (reinterpret_cast<uintptr_t>(body.data()) % 8 != 0) {
    scratch->assign(body.data(), body.size());
    body = *scratch;
  }
  const auto* buf = reinterpret_cast<const uint8_t*>(body.data());
  flatbuffers::Verifier verifier(buf, body.size());
  if (!fbs::VerifyEventRecordBuffer(verifier)) {
    return absl::DataLossError(absl::StrCat("event record at position ", expected_position,
                                            " fails FlatBuffers verification"));
  }
  const fbs::EventRecord* r = fbs::GetEventRecord(buf);
  if (r->position() != expected_position || r->event_id() == nullptr || r->stream() == nullptr ||
      r->type() == nullptr) {
    return absl::DataLossError(absl::StrCat("event record at position ", expected_position,
                                            " is inconsistent (it says position ",
                                            r->position(), ")"));
  }
  out->position = r->position();
  out->stream = ToView(r->stream());
  out->stream_version = r->stream_version();
  std::memcpy(out->event_id.bytes.data(), r->event_id()->bytes()->data(), 16);
  out->type = ToView(r->type());
  out->content_type = ToView(r->content_type());
  out->recorded_at_us = r->recorded_at_us();
  out->metadata = ToView(r->metadata());
  out->data = ToView(r->data());
  return absl::OkStatus();
}

}  // namespace strata::internal
