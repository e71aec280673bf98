// JsonEvents (json_events.h): the ring of parsed events by position, each
// event's data (JSON, or through a JsonView: DataAsJson) and metadata parsed on
// first use, the byte count that bounds the ring, and ParsedEventRef's holds.
#include "projections/defined/json_events.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "projections/projection.h"

namespace strata::defined {
namespace {

constexpr absl::string_view kJsonContentType = "application/json";

// A slot's parsed form bigger than this is freed when the slot is reused, so
// one huge event does not hold its memory until its slot's next big one.
constexpr size_t kKeepBytesMax = 256 << 10;

}  // namespace

absl::StatusOr<std::optional<absl::string_view>> DataAsJson(const EventView& event,
                                                            const JsonViews* views,
                                                            std::string* viewed) {
  if (absl::StartsWith(event.content_type, kJsonContentType)) return event.data;
  if (views == nullptr) return std::nullopt;
  auto view = views->find(event.content_type);
  if (view == views->end()) return std::nullopt;
  absl::StatusOr<std::string> json = view->second(event);
  if (!json.ok()) {
    if (json.status().code() != absl::StatusCode::kInvalidArgument) return json.status();
    return absl::InvalidArgumentError(absl::StrCat("data: ", json.status().message()));
  }
  *viewed = *std::move(json);
  return absl::string_view(*viewed);
}

ParsedEvent::~ParsedEvent() {
  if (owner_ != nullptr) {
    owner_->bytes_.fetch_sub(data_.capacity_bytes() + metadata_.capacity_bytes(),
                             std::memory_order_relaxed);
  }
}

absl::StatusOr<const ParsedJson*> ParsedEvent::Data(const EventView& event) {
  absl::MutexLock lock(&mu_);
  if (!data_done_) {
    const size_t before = data_.capacity_bytes();
    std::string viewed;
    absl::StatusOr<std::optional<absl::string_view>> text = DataAsJson(event, views_, &viewed);
    if (!text.ok()) {
      data_error_ = text.status();
    } else if (!text->has_value()) {
      data_absent_ = true;
    } else {
      data_.Parse(**text);
    }
    Charge(data_, before);
    data_done_ = true;
  }
  if (!data_error_.ok()) return data_error_;
  if (data_absent_) return nullptr;
  return &data_;
}

const ParsedJson& ParsedEvent::Metadata(const EventView& event) {
  absl::MutexLock lock(&mu_);
  if (!metadata_done_) {
    const size_t before = metadata_.capacity_bytes();
    metadata_.Parse(event.metadata);
    Charge(metadata_, before);
    metadata_done_ = true;
  }
  return metadata_;
}

bool ParsedEvent::Holds(const EventView& event) const {
  return position_ == event.position && event_id_ == event.event_id &&
         data_size_ == event.data.size() && metadata_size_ == event.metadata.size();
}

void ParsedEvent::Reuse(const EventView& event) {
  absl::MutexLock lock(&mu_);
  position_ = event.position;
  event_id_ = event.event_id;
  data_size_ = event.data.size();
  metadata_size_ = event.metadata.size();
  data_done_ = false;
  metadata_done_ = false;
  data_error_ = absl::OkStatus();
  data_absent_ = false;
  for (ParsedJson* json : {&data_, &metadata_}) {
    if (json->capacity_bytes() <= kKeepBytesMax) continue;
    const size_t before = json->capacity_bytes();
    json->Release();
    Charge(*json, before);
  }
}

void ParsedEvent::Charge(const ParsedJson& json, size_t before) {
  if (owner_ == nullptr) return;
  const size_t now = json.capacity_bytes();
  if (now >= before) {
    owner_->bytes_.fetch_add(now - before, std::memory_order_relaxed);
  } else {
    owner_->bytes_.fetch_sub(before - now, std::memory_order_relaxed);
  }
}

JsonEvents::JsonEvents(JsonViews views, size_t slots, size_t bytes_max)
    : views_(std::move(views)), bytes_max_(bytes_max), slots_(slots) {}

std::shared_ptr<JsonEvents> JsonEvents::OrUnshared(std::shared_ptr<JsonEvents> events) {
  return events != nullptr ? std::move(events) : std::make_shared<JsonEvents>(JsonViews{}, 0);
}

ParsedEventRef::ParsedEventRef(std::shared_ptr<ParsedEvent> event) : event_(std::move(event)) {
  if (event_ != nullptr) event_->holders_.fetch_add(1, std::memory_order_relaxed);
}

ParsedEventRef& ParsedEventRef::operator=(ParsedEventRef&& other) noexcept {
  if (this != &other) {
    reset();
    event_ = std::move(other.event_);
  }
  return *this;
}

ParsedEventRef::~ParsedEventRef() { reset(); }

void ParsedEventRef::reset() {
  if (event_ == nullptr) return;
  // Release: this holder's reads of the event come before any reuse of it.
  event_->holders_.fetch_sub(1, std::memory_order_release);
  event_.reset();
}

ParsedEventRef JsonEvents::For(const EventView& event) {
  if (slots_.empty()) return ParsedEventRef(std::make_shared<ParsedEvent>(&views_, nullptr));
  if (LongRangeFold::OnThisThread()) {
    // A replay: nobody else reads these events now. Parse into this thread's
    // own event, whose memory stays warm, instead of turning over a slot of
    // the ring (each cold) and evicting what live projections share.
    thread_local std::shared_ptr<ParsedEvent> own;
    if (own == nullptr || own->views_ != &views_ ||
        own->holders_.load(std::memory_order_acquire) != 0) {
      own = std::make_shared<ParsedEvent>(&views_, nullptr);
    }
    own->Reuse(event);
    return ParsedEventRef(own);
  }
  Slot& slot = slots_[event.position % slots_.size()];
  absl::MutexLock lock(&slot.mu);
  // Nobody holds the slot's previous event, and nobody can take it without
  // this lock: its memory may serve another. (Acquire: the last holder's reads
  // of it come before whatever follows.)
  const bool unheld =
      slot.event != nullptr && slot.event->holders_.load(std::memory_order_acquire) == 0;
  if (slot.event != nullptr && slot.event->Holds(event)) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return ParsedEventRef(slot.event);
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  if (bytes() >= bytes_max_) {
    // Over the memory bound: free the slot's previous event if nobody holds
    // it, and parse this one for its caller alone.
    if (unheld) slot.event.reset();
    return ParsedEventRef(std::make_shared<ParsedEvent>(&views_, nullptr));
  }
  if (unheld) {
    slot.event->Reuse(event);
  } else {
    slot.event = std::make_shared<ParsedEvent>(&views_, this);
    slot.event->Reuse(event);
  }
  return ParsedEventRef(slot.event);
}

}  // namespace strata::defined
