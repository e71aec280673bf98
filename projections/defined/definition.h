// A projection definition (schemas/definition.proto) checked and compiled
// into the form DefinedProjection folds events with.
//
// Compile refuses a definition with InvalidArgument naming the field
// ("rules[0].keys[1].parts[2].time.unit: unknown time unit 'dya'", or
// ResourceExhausted for a limit), so whatever compiles can be folded.
//
// Thread-safety: a Definition is immutable once compiled.
#ifndef STRATA_PROJECTIONS_DEFINED_DEFINITION_H_
#define STRATA_PROJECTIONS_DEFINED_DEFINITION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event.h"
#include "projections/defined/value.h"
#include "schemas/definition.pb.h"

namespace strata::defined {

// Limits, each refused with a clear error.
inline constexpr size_t kDefinitionBytesMax = 64 << 10;  // serialized definition
inline constexpr size_t kRulesMax = 64;
inline constexpr size_t kKeysPerRuleMax = 16;
inline constexpr size_t kKeyPartsMax = 8;
inline constexpr size_t kOperationsPerRuleMax = 32;
inline constexpr size_t kSetFieldsMax = 64;
inline constexpr size_t kSourceEntriesMax = 256;   // prefixes, streams or types, each
inline constexpr size_t kTextBytesMax = 1024;      // a pointer, literal, prefix or type
inline constexpr size_t kKeyBytesMax = 1024;       // a row's encoded key (checked per event)
inline constexpr size_t kValueBytesMax = 16 << 10;     // one value (checked per event)
inline constexpr size_t kDocumentBytesMax = 64 << 10;  // a set field's object (per event)
inline constexpr uint64_t kSnapshotIntervalMin = 100;
inline constexpr uint64_t kSnapshotIntervalMax = 1'000'000;

enum class EventAttribute {
  kStream,
  kCategory,       // the stream name before the first '-' (all of it without one)
  kStreamId,       // after the first '-' (empty without one)
  kEventType,
  kPosition,
  kStreamVersion,
  kRecordedAt,     // microseconds since the Unix epoch
};

enum class TimeUnit { kMinute, kHour, kDay, kMonth, kYear };

// Where a key part or an operation's value comes from.
struct Source {
  enum class Kind { kConstant, kData, kMetadata, kAttribute, kTime } kind = Kind::kConstant;
  Value constant;                 // kConstant (a string for a key's literal)
  std::string pointer;            // kData, kMetadata; kTime when time_field
  EventAttribute attribute = EventAttribute::kStream;  // kAttribute
  TimeUnit unit = TimeUnit::kDay;                      // kTime
  bool time_in_metadata = false;  // kTime with a pointer: into metadata, not data
  bool time_field = false;        // kTime: read from `pointer`, not recorded_at
  std::string path;               // the field in the definition, for errors
  // Key parts: equal parts (in any key of any rule) share a slot, so an
  // event computes each one once.
  size_t slot = 0;

  bool ReadsData() const;
  bool ReadsMetadata() const;
};

enum class OperationKind { kCount, kSum, kMin, kMax, kFirst, kLast, kSet, kDelete };

struct Operation {
  OperationKind kind = OperationKind::kCount;
  std::string field;                                // not kDelete
  Source value;                                     // kSum .. kLast
  std::vector<std::pair<std::string, Source>> set;  // kSet, by name
  std::string path;
};

struct Rule {
  std::vector<std::string> event_types;  // empty: every event the source reads
  std::vector<std::vector<Source>> keys;
  std::vector<Operation> operations;
  bool reads_data = false;
  bool reads_metadata = false;
  std::string path;  // "rules[N]"
};

// A script definition (script.h): the Lua source and how events partition.
struct ScriptSpec {
  std::string lua;
  enum class Partition { kStream, kCategory, kFunction } partition = Partition::kStream;
};

struct Definition {
  std::string name;
  std::vector<std::string> stream_prefixes;
  std::vector<std::string> streams;
  std::vector<std::string> event_types;
  std::vector<Rule> rules;
  bool skip_bad_events = false;
  size_t key_part_slots = 0;  // distinct key parts (Source::slot)
  std::optional<ScriptSpec> script;  // set: a script instead of rules
  uint64_t snapshot_interval_events = 0;  // 0: the runtime's

  // Whether the source reads `event` (never a '$' system stream).
  bool Reads(const EventView& event) const;
};

// Checks `proto` and compiles it.
absl::StatusOr<Definition> Compile(const v1::ProjectionDefinition& proto);

// `proto` with defaults made explicit, so that two definitions that mean the
// same compare equal with Canonical().
v1::ProjectionDefinition Normalized(v1::ProjectionDefinition proto);
// Deterministic bytes of Normalized(proto).
std::string Canonical(const v1::ProjectionDefinition& proto);

// Whether `name` is a valid defined projection name: [a-z0-9_]{1,64}.
bool ValidName(absl::string_view name);

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_DEFINITION_H_
