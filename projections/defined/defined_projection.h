// DefinedProjection: a Projection whose fold is a compiled Definition, so the
// runtime builds, cuts over, time-travels and rebuilds it like any other.
//
// Each event the source reads is parsed at most once (data and metadata each,
// lazily, with simdjson On-Demand) for all of the definition's rules. Every
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

#include <string>

#include "projections/defined/definition.h"
#include "projections/projection.h"

namespace strata::defined {

class DefinedProjection : public Projection {
 public:
  DefinedProjection(Definition definition, ProjectionVersion version)
      : definition_(std::move(definition)), version_(version) {}

  std::string name() const override { return definition_.name; }
  ProjectionVersion version() const override { return version_; }
  absl::Status Apply(const EventView& event, ProjectionWriter& writer) override;

  const Definition& definition() const { return definition_; }

 private:
  const Definition definition_;
  const ProjectionVersion version_;
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_DEFINED_PROJECTION_H_
