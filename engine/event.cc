// EventId (random version 4 and time-ordered version 7 UUIDs, the canonical
// text form parsed and written) and the conversions between EventView and
// RecordedEvent. See event.h.
#include "engine/event.h"

#include <random>

#include "absl/strings/ascii.h"

namespace strata {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Fills bytes [from, 16) of `id` (`from`: 0 or 8) with this thread's random
// numbers.
void FillRandom(EventId& id, size_t from) {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  for (size_t i = from; i < id.bytes.size(); i += 8) {
    const uint64_t r = rng();
    for (size_t k = 0; k < 8; ++k) id.bytes[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
}

}  // namespace

EventId EventId::Random() {
  EventId id;
  FillRandom(id, 0);
  id.bytes[6] = (id.bytes[6] & 0x0F) | 0x40;  // version 4
  id.bytes[8] = (id.bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant
  return id;
}

EventId EventId::TimeOrdered(int64_t unix_ms, uint16_t counter) {
  EventId id;
  const uint64_t ms = static_cast<uint64_t>(unix_ms);
  for (size_t k = 0; k < 6; ++k) id.bytes[k] = static_cast<uint8_t>(ms >> (8 * (5 - k)));
  id.bytes[6] = static_cast<uint8_t>(0x70 | ((counter >> 8) & 0x0F));  // version 7
  id.bytes[7] = static_cast<uint8_t>(counter);
  FillRandom(id, 8);
  id.bytes[8] = (id.bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant
  return id;
}

EventId EventIdSequence::Next(int64_t now_us) {
  const int64_t ms = now_us / 1000;
  if (ms > ms_) {
    ms_ = ms;
    counter_ = 0;
  } else if (++counter_ > 0x0FFF) {
    ++ms_;  // this millisecond's ids are spent: borrow the next one
    counter_ = 0;
  }
  return EventId::TimeOrdered(ms_, counter_);
}

std::optional<EventId> EventId::Parse(absl::string_view text) {
  if (text.size() != 36) return std::nullopt;
  EventId id;
  size_t out = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = HexValue(text[i]);
    int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[out++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return id;
}

std::optional<EventId> EventId::FromBytes(absl::string_view raw) {
  if (raw.size() != 16) return std::nullopt;
  EventId id;
  for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(raw[i]);
  return id;
}

std::string EventId::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

bool EventId::IsNil() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

RecordedEvent EventView::ToRecorded() const {
  RecordedEvent e;
  e.position = position;
  e.stream = std::string(stream);
  e.stream_version = stream_version;
  e.event_id = event_id;
  e.type = std::string(type);
  e.content_type = std::string(content_type);
  e.data = std::string(data);
  e.metadata = std::string(metadata);
  e.recorded_at_us = recorded_at_us;
  return e;
}

EventView EventView::Of(const RecordedEvent& e) {
  EventView v;
  v.position = e.position;
  v.stream = e.stream;
  v.stream_version = e.stream_version;
  v.event_id = e.event_id;
  v.type = e.type;
  v.content_type = e.content_type;
  v.data = e.data;
  v.metadata = e.metadata;
  v.recorded_at_us = e.recorded_at_us;
  return v;
}

}  // namespace strata
