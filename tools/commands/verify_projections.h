// Offline integrity check of a projection store (projections/FORMAT.md),
// read-only: the catalog's records, each generation's column family and
// checkpoint (never beyond the log's head), and with `deep` each read model
// recomputed from the log (its current state at the checkpoint and every
// durable snapshot) and compared key by key. Not thread-safe.
#ifndef STRATA_TOOLS_COMMANDS_VERIFY_PROJECTIONS_H_
#define STRATA_TOOLS_COMMANDS_VERIFY_PROJECTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/verify.h"

namespace strata::cli {

struct GenerationCheck {
  std::string name;
  uint32_t version = 0;
  uint64_t generation = 0;
  std::string state;
  uint64_t checkpoint = 0;
  uint64_t snapshots = 0;
  // With deep: "match", "differs" or "skipped" (see the notes); empty otherwise.
  std::string deep;
};

struct ProjectionVerifyReport {
  bool present = false;  // a projection store exists
  std::vector<GenerationCheck> generations;
  std::vector<std::string> findings;
  std::vector<std::string> notes;  // not problems: what was skipped and why
};

// Checks the projection store in `dir` against `log` (open read-only).
// Unavailable when another process holds the store; NotFound-free: a missing
// store gives present = false.
absl::StatusOr<ProjectionVerifyReport> VerifyProjectionStore(const std::string& dir,
                                                             const ReadOnlyLog* log, bool deep);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_VERIFY_PROJECTIONS_H_
