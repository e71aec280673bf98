// ScriptProjection: a defined projection whose fold is a Lua 5.4 script, run
// in a sandbox.
//
// The script defines handlers per event type and, optionally, how a new
// partition starts and how events are partitioned:
//
//   function init() return {clicks = 0} end          -- default: {}
//   on = {}
//   function on.ClickRecorded(state, event)          -- may mutate or return
//     state.clicks = state.clicks + 1
//     emit({"by_country", event.data.country}, state.clicks)  -- an extra row
//   end
//   function partition(event) return event.data.link_id end  -- partition_by "function"
//
// `event` has position, stream, stream_version, type, recorded_at
// (microseconds), data and metadata (decoded JSON, or the JSON view of the
// link domain's events; nil otherwise). Each partition's state is a row
// ["state", partition] with the field "state"; emit(key, value) writes the row
// at `key` (a string or a list of 1-8 strings, not starting with "state") with
// the field "value". States and values are stored as JSON with sorted keys
// (a table whose keys are 1..n is an array), so a replay gives the same bytes.
//
// Sandbox: only the base library without load/loadfile/dofile/require/
// collectgarbage/print/next, string, table, math without random, and utf8; no
// io, os, debug or package; scripts load as text only (no bytecode). pairs()
// visits keys in sorted order (numbers, then strings), so nothing depends on
// Lua's randomized hashing. Each event may run kScriptInstructionsMax
// instructions; each projection's Lua memory is capped at
// kScriptMemoryBytesMax. A script error, a runaway loop or a memory bomb is a
// bad event under the definition's on_bad_event, reported with the Lua
// message, the line and the position.
//
// Thread-safety: Apply may run on several threads at once; each call borrows a
// Lua state of its own from a pool.
#ifndef STRATA_PROJECTIONS_DEFINED_SCRIPT_H_
#define STRATA_PROJECTIONS_DEFINED_SCRIPT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/definition.h"

namespace strata::defined {

inline constexpr size_t kScriptBytesMax = 256 << 10;
inline constexpr int64_t kScriptInstructionsMax = 10'000'000;  // per event
inline constexpr size_t kScriptMemoryBytesMax = 64 << 20;      // per Lua state
inline constexpr size_t kScriptStateBytesMax = 256 << 10;      // a partition's encoded state

// Loads `script` in a sandbox and checks that it defines an `on` table of
// handlers (and `partition` when it must): InvalidArgument naming the field
// ("script.lua: orders.lua:3: unexpected symbol near 'x'") otherwise.
absl::Status CheckScript(const ScriptSpec& script, absl::string_view name);

class ScriptProjection : public Projection {
 public:
  // `events` as for DefinedProjection (null: one of its own that keeps nothing).
  ScriptProjection(Definition definition, ProjectionVersion version,
                   std::shared_ptr<JsonEvents> events = nullptr);
  ~ScriptProjection() override;

  std::string name() const override { return definition_.name; }
  ProjectionVersion version() const override { return version_; }
  uint64_t snapshot_interval_events() const override {
    return definition_.snapshot_interval_events;
  }
  absl::Status Apply(const EventView& event, ProjectionWriter& writer) override;

  class Vm;

 private:
  std::unique_ptr<Vm> Borrow();
  void Return(std::unique_ptr<Vm> vm);

  const Definition definition_;
  const ProjectionVersion version_;
  const std::shared_ptr<JsonEvents> events_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Vm>> idle_ ABSL_GUARDED_BY(mu_);
};

// The projection `definition` describes: a ScriptProjection when it has a
// script, else a DefinedProjection.
std::shared_ptr<Projection> MakeProjection(Definition definition, ProjectionVersion version,
                                           std::shared_ptr<JsonEvents> events);

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_SCRIPT_H_
