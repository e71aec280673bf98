// The projection store's catalog (projections/FORMAT.md): the `catalog`
// column family with one record per generation, as the runtime writes it and
// as `strata verify` reads it, through this one codec. Records are the
// FlatBuffers table of schemas/catalog.fbs; the text records of stores
// written before it (key=value lines) are still read. Thread-safe (pure).
#ifndef STRATA_PROJECTIONS_RUNTIME_CATALOG_H_
#define STRATA_PROJECTIONS_RUNTIME_CATALOG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "projections/projection.h"
#include "projections/runtime/runtime.h"

namespace strata::catalog {

inline constexpr char kCatalogCf[] = "catalog";
inline constexpr char kNextGenerationKey[] = "next_generation";
inline constexpr char kGenerationKeyPrefix[] = "gen/";

// "gen/" + id, big-endian; and back (nullopt for another key).
std::string GenerationKey(uint64_t id);
std::optional<uint64_t> ParseGenerationKey(absl::string_view key);

struct CatalogRecord {
  std::string name;
  ProjectionVersion projection_version = 0;
  GenerationState state = GenerationState::kBuilding;
  std::string column_family;
  GlobalPosition error_position = 0;
  std::string error;
  friend bool operator==(const CatalogRecord&, const CatalogRecord&) = default;
};

std::string EncodeRecord(const CatalogRecord& record);
// DataLoss naming what is wrong: not a record, an unknown state, no name or
// column family.
absl::StatusOr<CatalogRecord> DecodeRecord(absl::string_view bytes);

// "building", "live", "failed", "retired" -> the state.
std::optional<GenerationState> ParseGenerationState(absl::string_view name);

}  // namespace strata::catalog

#endif  // STRATA_PROJECTIONS_RUNTIME_CATALOG_H_
