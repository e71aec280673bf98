// The catalog record codec (catalog.h): FlatBuffers, and the legacy text form.
#include "projections/runtime/catalog.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/coding.h"
#include "flatbuffers/flatbuffers.h"
#include "schemas/catalog_generated.h"

namespace strata::catalog {
namespace {

// Stores written before the FlatBuffers record: "name=...\nversion=...\n...".
absl::StatusOr<CatalogRecord> DecodeText(absl::string_view text) {
  CatalogRecord r;
  bool have_state = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "name") {
      r.name = std::string(kv.second);
    } else if (kv.first == "version") {
      if (!absl::SimpleAtoi(kv.second, &r.projection_version)) {
        return absl::DataLossError("catalog record: bad version");
      }
    } else if (kv.first == "state") {
      std::optional<GenerationState> st = ParseGenerationState(kv.second);
      if (!st) {
        return absl::DataLossError(absl::StrCat("catalog record: bad state '", kv.second, "'"));
      }
      r.state = *st;
      have_state = true;
    } else if (kv.first == "cf") {
      r.column_family = std::string(kv.second);
    } else if (kv.first == "error_position") {
      if (!absl::SimpleAtoi(kv.second, &r.error_position)) {
        return absl::DataLossError("catalog record: bad error_position");
      }
    } else if (kv.first == "error") {
      r.error = std::string(kv.second);
    }
  }
  if (!have_state) return absl::DataLossError("catalog record: no state");
  return r;
}

}  // namespace

std::string GenerationKey(uint64_t id) {
  std::string key = kGenerationKeyPrefix;
  internal::PutBigEndian64(&key, id);
  return key;
}

std::optional<uint64_t> ParseGenerationKey(absl::string_view key) {
  if (!absl::ConsumePrefix(&key, kGenerationKeyPrefix) || key.size() != 8) return std::nullopt;
  return internal::GetBigEndian64(key.data());
}

std::optional<GenerationState> ParseGenerationState(absl::string_view name) {
  for (GenerationState st : {GenerationState::kBuilding, GenerationState::kLive,
                             GenerationState::kFailed, GenerationState::kRetired}) {
    if (name == GenerationStateName(st)) return st;
  }
  return std::nullopt;
}

std::string EncodeRecord(const CatalogRecord& r) {
  flatbuffers::FlatBufferBuilder b(256);
  auto name = b.CreateString(r.name);
  auto cf = b.CreateString(r.column_family);
  auto error = b.CreateString(r.error);
  b.Finish(fbs::CreateCatalogRecord(b, name, r.projection_version,
                                    static_cast<fbs::GenerationState>(r.state), cf,
                                    r.error_position, error));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

absl::StatusOr<CatalogRecord> DecodeRecord(absl::string_view bytes) {
  CatalogRecord r;
  if (absl::StartsWith(bytes, "name=")) {
    absl::StatusOr<CatalogRecord> text = DecodeText(bytes);
    if (!text.ok()) return text.status();
    r = std::move(*text);
  } else {
    // FlatBuffers wants its buffer aligned; a RocksDB value may not be.
    const std::string copy(bytes);
    flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(copy.data()), copy.size());
    if (!fbs::VerifyCatalogRecordBuffer(verifier)) {
      return absl::DataLossError("catalog record: not a CatalogRecord");
    }
    const fbs::CatalogRecord* fb = fbs::GetCatalogRecord(copy.data());
    const int state = static_cast<int>(fb->state());
    if (state < 0 || state > static_cast<int>(GenerationState::kRetired)) {
      return absl::DataLossError(absl::StrCat("catalog record: bad state ", state));
    }
    r.name = fb->name() != nullptr ? fb->name()->str() : "";
    r.projection_version = fb->projection_version();
    r.state = static_cast<GenerationState>(state);
    r.column_family = fb->column_family() != nullptr ? fb->column_family()->str() : "";
    r.error_position = fb->error_position();
    r.error = fb->error() != nullptr ? fb->error()->str() : "";
  }
  if (r.name.empty()) return absl::DataLossError("catalog record: no name");
  if (r.column_family.empty()) return absl::DataLossError("catalog record: no column family");
  return r;
}

}  // namespace strata::catalog
