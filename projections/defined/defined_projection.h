// DefinedProjection: a Projection whose fold is a compiled Definition, so the
// runtime builds, cuts over, time-travels and rebuilds it like any other.
//
// Each event the source reads is parsed at most once (data and metadata each,
// lazily, with simdjson) for all of the definition's rules, and for all the
// other defined projections reading it through the same JsonEvents. Data is
// read when its content type is application/json, or one of the JsonViews
// given (the link domain's FlatBuffers events, say). Every
// key and value of every rule is computed before anything is written, into a
// small staging log, so a bad event (a missing field, a wrong type, invalid
// JSON, a key or document over its limit) writes nothing: under "fail" Apply
// returns InvalidArgument naming the position, the rule's field and what was
// wrong; under "skip" only the skip bookkeeping (rows.h) changes.
//
// Thread-safety: Apply may run on several threads at once (the worker, and
// replays for reads as of a past position); its scratch is per thread.
#ifndef STRATA_PROJECTIONS_DEFINED_DEFINED_PROJECTION_H_
#define STRATA_PROJECTIONS_DEFINED_DEFINED_PROJECTION_H_

#include <memory>
#include <optional>
#include <string>

#include "projections/defined/definition.h"
#include "projections/defined/json_events.h"
#include "projections/projection.h"

namespace strata::defined {

// What a definition does with a bad event (`bad`, InvalidArgument): under
// "fail" the error naming the position; under "skip" OK after counting it in
// the skip bookkeeping (rows.h).
absl::Status BadEvent(const Definition& definition, const EventView& event,
                      const absl::Status& bad, ProjectionWriter& writer);

class DefinedProjection : public Projection {
 public:
  // `events` (shared with the other defined projections of the log) parses
  // the events and knows the views that let rules read the data of other
  // content types as if it were JSON. Null: a JsonEvents of its own, without
  // views, that keeps nothing.
  DefinedProjection(Definition definition, ProjectionVersion version,
                    std::shared_ptr<JsonEvents> events = nullptr);

  std::string name() const override { return definition_.name; }
  ProjectionVersion version() const override { return version_; }
  uint64_t snapshot_interval_events() const override {
    return definition_.snapshot_interval_events;
  }
  absl::Status Apply(const EventView& event, ProjectionWriter& writer) override;

  const Definition& definition() const { return definition_; }

 private:
  const Definition definition_;
  const ProjectionVersion version_;
  const std::shared_ptr<JsonEvents> events_;
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_DEFINED_PROJECTION_H_
