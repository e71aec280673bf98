// JsonEvents: the JSON of events as defined projections read it, parsed once
// for all of them.
//
// Every defined projection of one log (the registry's, rules and scripts
// alike) reads events through one JsonEvents. It keeps the parsed data and
// metadata of the most recent events it was asked for, in a ring of slots by
// log position, so the projections folding the same new events, each on its
// own worker, parse each event once between them. An event's data and
// metadata are each parsed on first use, by the first projection that needs
// them, while any other needing them at the same moment waits for that parse.
//
// Memory is bounded: at most `slots` events and `bytes_max` bytes of parsed
// form are kept; beyond the bytes, events are parsed for their reader alone.
// A projection that replays the past (a rebuild, a read as of a past
// position) mostly misses and replaces slots: the cost is one lock and one
// slot's turnover per event.
//
// Thread-safety: every method may be called from any thread.
#ifndef STRATA_PROJECTIONS_DEFINED_JSON_EVENTS_H_
#define STRATA_PROJECTIONS_DEFINED_JSON_EVENTS_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/event.h"
#include "projections/defined/json.h"

namespace strata::defined {

// A content type other than JSON whose events defined projections can read:
// the function gives an event's data as a JSON text (InvalidArgument when it
// cannot, which makes the event a bad one).
using JsonView = std::function<absl::StatusOr<std::string>(const EventView&)>;
using JsonViews = std::map<std::string, JsonView, std::less<>>;

class JsonEvents;
class ParsedEventRef;

// One event's parsed data and metadata, shared by its readers.
class ParsedEvent {
 public:
  ParsedEvent(const JsonViews* views, JsonEvents* owner) : views_(views), owner_(owner) {}
  ~ParsedEvent();
  ParsedEvent(const ParsedEvent&) = delete;
  ParsedEvent& operator=(const ParsedEvent&) = delete;

  // The event's data, parsed: nullptr when its content type is neither JSON
  // nor one of the views; a view's error as DataAsJson gives it. `event` must
  // be the event this was made for.
  absl::StatusOr<const ParsedJson*> Data(const EventView& event);
  // The event's metadata, parsed.
  const ParsedJson& Metadata(const EventView& event);

 private:
  friend class JsonEvents;
  friend class ParsedEventRef;
  // Whether this holds `event` (by position, id and sizes).
  bool Holds(const EventView& event) const;
  // Makes this one for `event`, keeping its memory.
  void Reuse(const EventView& event);
  // Adds the growth of `json`'s memory since `before` to the owner's count.
  void Charge(const ParsedJson& json, size_t before);

  const JsonViews* const views_;
  JsonEvents* const owner_;  // null: not in the cache, nothing counted
  GlobalPosition position_ = 0;
  EventId event_id_{};
  size_t data_size_ = 0;
  size_t metadata_size_ = 0;
  // How many ParsedEventRefs hold this: JsonEvents reuses its memory for
  // another event only at 0. Each holder's release (a decrement) orders its
  // reads before the reuse, which reads the count with acquire.
  std::atomic<uint32_t> holders_{0};
  absl::Mutex mu_;
  bool data_done_ ABSL_GUARDED_BY(mu_) = false;
  bool metadata_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status data_error_;  // written before data_done_
  bool data_absent_ = false;
  ParsedJson data_;
  ParsedJson metadata_;
};

// A reader's hold on one ParsedEvent: while any is held, JsonEvents does not
// reuse that event's memory for another. Move-only.
class ParsedEventRef {
 public:
  ParsedEventRef() = default;
  explicit ParsedEventRef(std::shared_ptr<ParsedEvent> event);
  ParsedEventRef(ParsedEventRef&& other) noexcept = default;
  ParsedEventRef& operator=(ParsedEventRef&& other) noexcept;
  ~ParsedEventRef();

  ParsedEvent* get() const { return event_.get(); }
  ParsedEvent* operator->() const { return event_.get(); }
  explicit operator bool() const { return event_ != nullptr; }
  // Lets the event go (this holds nothing after).
  void reset();
  friend bool operator==(const ParsedEventRef& a, const ParsedEventRef& b) {
    return a.get() == b.get();
  }

 private:
  std::shared_ptr<ParsedEvent> event_;
};

class JsonEvents {
 public:
  static constexpr size_t kSlotsDefault = 4096;
  static constexpr size_t kBytesMaxDefault = 32 << 20;

  // `slots` 0: nothing is kept, each call parses for its caller alone.
  explicit JsonEvents(JsonViews views = {}, size_t slots = kSlotsDefault,
                      size_t bytes_max = kBytesMaxDefault);
  JsonEvents(const JsonEvents&) = delete;
  JsonEvents& operator=(const JsonEvents&) = delete;

  // `events`, or when null one without views that keeps nothing (each call
  // parses for its caller alone).
  static std::shared_ptr<JsonEvents> OrUnshared(std::shared_ptr<JsonEvents> events);

  // The parsed form of `event`: the one another reader already made when it is
  // still kept, else a new one (kept for the next reader while memory allows).
  ParsedEventRef For(const EventView& event);

  const JsonViews& views() const { return views_; }
  // What the ring holds now, in bytes of parsed form.
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // How many For calls found the event already there, and how many did not.
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  friend class ParsedEvent;

  struct Slot {
    absl::Mutex mu;
    std::shared_ptr<ParsedEvent> event ABSL_GUARDED_BY(mu);
  };

  const JsonViews views_;
  const size_t bytes_max_;
  std::atomic<size_t> bytes_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  // Last: its events count their bytes in bytes_ until they are destroyed.
  std::vector<Slot> slots_;
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_JSON_EVENTS_H_
