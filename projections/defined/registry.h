// DefinitionRegistry: the read models users define at run time, and queries
// on them.
//
// Definitions are events in the system stream "$projections" (JSON data of
// ProjectionDefinedRecord / ProjectionDeletedRecord, schemas/definition.proto),
// so they survive restarts, keep their history and can be read as of a past
// position like any stream. Open replays that stream and registers the
// current definition of each projection with the runtime, which resumes or
// builds it. Define appends a new version only when the definition changed;
// the runtime builds it in the background while the previous version answers,
// then cuts over. Delete appends a ProjectionDeleted event and drops the
// projection's state; a later Define of the name starts at the next version.
//
// Thread-safety: all methods are thread-safe; Define and Delete are serialized.
#ifndef STRATA_PROJECTIONS_DEFINED_REGISTRY_H_
#define STRATA_PROJECTIONS_DEFINED_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/base/logger.h"
#include "engine/event_log.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/rows.h"
#include "projections/runtime/runtime.h"
#include "schemas/definition.pb.h"

namespace strata::defined {

inline constexpr char kDefinitionsStream[] = "$projections";
inline constexpr char kProjectionDefinedType[] = "ProjectionDefined";
inline constexpr char kProjectionDeletedType[] = "ProjectionDeleted";
inline constexpr size_t kScanLimitDefault = 100;
inline constexpr size_t kScanLimitMax = 1000;

struct RegistryOptions {
  // Most defined projections at once (deleted ones do not count). Default: 100.
  size_t projections_max = 100;
  // Names of the built-in projections, which definitions may not take.
  std::vector<std::string> built_in_names;
  // Default (null): TextLogger().
  std::shared_ptr<Logger> logger;
  // Content types besides JSON that definitions can read (defined_projection.h).
  std::shared_ptr<const JsonViews> json_views;
};

struct StoredDefinition {
  v1::ProjectionDefinition definition;
  ProjectionVersion projection_version = 0;
  GlobalPosition position = 0;  // of its event in "$projections"
  int64_t defined_at_us = 0;
  bool deleted = false;         // the projection was deleted after this definition
};

struct DefineResult {
  ProjectionVersion projection_version = 0;
  bool changed = false;          // false: identical to the current definition
  GlobalPosition position = 0;   // of the definition's event
};

struct RowAnswer {
  std::optional<Row> row;
  GlobalPosition position = 0;
};

struct ScanRequest {
  std::vector<std::string> prefix;
  std::vector<std::string> start;
  std::vector<std::string> end;
  size_t limit = 0;             // 0: kScanLimitDefault
  std::string page_token;
  std::optional<GlobalPosition> as_of;
};

struct ScanAnswer {
  std::vector<Row> rows;
  std::string next_page_token;  // empty: the last page
  GlobalPosition position = 0;
};

class DefinitionRegistry {
 public:
  // Replays "$projections" from `log` and registers every defined projection
  // with `runtime`; both must outlive the registry.
  static absl::StatusOr<std::unique_ptr<DefinitionRegistry>> Open(EventLog* log,
                                                                  ProjectionRuntime* runtime,
                                                                  RegistryOptions options = {});

  // InvalidArgument naming the field for a refused definition (a built-in
  // name too), ResourceExhausted over a limit.
  absl::StatusOr<DefineResult> Define(const v1::ProjectionDefinition& definition);
  // The newest definition of `name`, or its `version`. NotFound when never
  // defined (or no such version).
  absl::StatusOr<StoredDefinition> Definition(const std::string& name,
                                              std::optional<ProjectionVersion> version) const;
  // NotFound unless `name` is defined now. Returns the position of the
  // ProjectionDeleted event.
  absl::StatusOr<GlobalPosition> Delete(const std::string& name);

  // Whether `name` is a defined projection now (not deleted).
  bool IsDefined(const std::string& name) const;
  // Bad events `name`'s live version skipped.
  absl::StatusOr<SkipInfo> Skipped(const std::string& name) const;

  // One row, as of `as_of` or the live checkpoint. NotFound for a name that is
  // not a defined projection; InvalidArgument naming `key` for a bad key.
  absl::StatusOr<RowAnswer> Get(const std::string& name, const std::vector<std::string>& key,
                                std::optional<GlobalPosition> as_of) const;
  // Rows in key order, one consistent state per page: a page token carries
  // the first page's position.
  absl::StatusOr<ScanAnswer> Scan(const std::string& name, const ScanRequest& request) const;

 private:
  DefinitionRegistry(EventLog* log, ProjectionRuntime* runtime, RegistryOptions options)
      : log_(log),
        runtime_(runtime),
        options_(std::move(options)),
        events_(std::make_shared<JsonEvents>(options_.json_views != nullptr ? *options_.json_views
                                                                            : JsonViews{})) {}
  absl::Status Load();
  // Appends `record` as JSON to "$projections" as an event of `type`.
  absl::StatusOr<AppendResult> AppendRecord(const char* type,
                                            const google::protobuf::Message& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(define_mu_);
  absl::Status CheckQueryable(const std::string& name) const;
  bool IsBuiltIn(const std::string& name) const;
  struct History {
    std::vector<StoredDefinition> versions;  // ascending
    bool deleted = false;
    std::string canonical;                   // of the newest version
  };

  EventLog* const log_;
  ProjectionRuntime* const runtime_;
  const RegistryOptions options_;
  // Every defined projection of the log reads events through this one, so an
  // event is parsed once for all of them.
  const std::shared_ptr<JsonEvents> events_;
  absl::Mutex define_mu_;  // serializes Define and Delete (held across the append)
  mutable absl::Mutex mu_;
  std::map<std::string, History> histories_ ABSL_GUARDED_BY(mu_);
  std::optional<StreamVersion> stream_version_ ABSL_GUARDED_BY(define_mu_);  // of "$projections"
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_REGISTRY_H_
