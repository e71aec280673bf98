// DefinitionRegistry (registry.h): loading "$projections" and registering each
// definition with the runtime, Define and Delete as appended records, and Get
// and Scan of rows (a page token is tied to the generation of the first page).
#include "projections/defined/registry.h"

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/coding.h"
#include "engine/base/macros.h"
#include "google/protobuf/util/json_util.h"
#include "projections/defined/defined_projection.h"
#include "projections/defined/script.h"

namespace strata::defined {
namespace {

constexpr char kPageTokenFormat = '\x02';

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  const auto s = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("definition to JSON: ", s.ToString()));
  }
  return out;
}

absl::Status FromJson(absl::string_view json, google::protobuf::Message* message,
                      GlobalPosition position) {
  const auto s = google::protobuf::util::JsonStringToMessage(
      std::string(json), message, google::protobuf::util::JsonParseOptions());
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("\"", kDefinitionsStream, "\" event at position ",
                                            position, " is not a readable record: ",
                                            s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckKeyParts(absl::string_view field, const std::vector<std::string>& parts,
                           bool required) {
  if (required && parts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at least one key part"));
  }
  if (parts.size() > kKeyPartsMax) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", parts.size(),
                                                   " parts, more than a key has (",
                                                   kKeyPartsMax, ")"));
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].size() > kKeyBytesMax) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: ", parts[i].size(),
                                                     " bytes, more than a key holds (",
                                                     kKeyBytesMax, ")"));
    }
  }
  return absl::OkStatus();
}

// A page token: format byte, the first page's position and the generation it
// read (u64 BE each), then the last row's encoded key.
std::string EncodePageToken(GlobalPosition position, uint64_t generation,
                            absl::string_view after) {
  std::string raw(1, kPageTokenFormat);
  internal::PutBigEndian64(&raw, position);
  internal::PutBigEndian64(&raw, generation);
  raw.append(after.data(), after.size());
  return absl::WebSafeBase64Escape(raw);
}

absl::Status DecodePageToken(absl::string_view token, GlobalPosition* position,
                             uint64_t* generation, std::string* after) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 17 ||
      raw[0] != kPageTokenFormat || !DecodeKey(absl::string_view(raw).substr(17)).has_value()) {
    return absl::InvalidArgumentError(
        "page_token: malformed; pass the next_page_token of the previous page unchanged");
  }
  *position = internal::GetBigEndian64(raw.data() + 1);
  *generation = internal::GetBigEndian64(raw.data() + 9);
  *after = raw.substr(17);
  return absl::OkStatus();
}

// The generation of `name` that answers reads (0: none).
uint64_t LiveGeneration(const ProjectionRuntime& runtime, const std::string& name) {
  for (const ProjectionStatus& st : runtime.Status()) {
    if (st.name == name && st.state == GenerationState::kLive) return st.generation;
  }
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DefinitionRegistry>> DefinitionRegistry::Open(
    EventLog* log, ProjectionRuntime* runtime, RegistryOptions options) {
  if (log == nullptr || runtime == nullptr) {
    return absl::InvalidArgumentError("definition registry: log and runtime are required");
  }
  options.logger = OrDefault(std::move(options.logger));
  std::unique_ptr<DefinitionRegistry> registry(
      new DefinitionRegistry(log, runtime, std::move(options)));
  STRATA_RETURN_IF_ERROR(registry->Load());
  return registry;
}

absl::Status DefinitionRegistry::Load() {
  STRATA_ASSIGN_OR_RETURN(std::vector<RecordedEvent> events,
                          log_->ReadStream(kDefinitionsStream, ReadStreamOptions()));
  absl::MutexLock define_lock(&define_mu_);
  absl::MutexLock lock(&mu_);
  for (const RecordedEvent& e : events) {
    stream_version_ = e.stream_version;
    if (e.type == kProjectionDefinedType) {
      v1::ProjectionDefinedRecord record;
      STRATA_RETURN_IF_ERROR(FromJson(e.data, &record, e.position));
      History& h = histories_[record.definition().name()];
      h.versions.push_back(StoredDefinition{record.definition(), record.projection_version(),
                                            e.position, e.recorded_at_us, false});
      h.deleted = false;
      h.canonical = Canonical(record.definition());
    } else if (e.type == kProjectionDeletedType) {
      v1::ProjectionDeletedRecord record;
      STRATA_RETURN_IF_ERROR(FromJson(e.data, &record, e.position));
      histories_[record.name()].deleted = true;
    }
  }
  // Versions each projection has in the store: an older one still live while
  // the newest builds needs its code too, to keep up and to replay reads.
  std::map<std::string, std::set<ProjectionVersion>> stored;
  for (const ProjectionStatus& st : runtime_->Status()) {
    stored[st.name].insert(st.projection_version);
  }
  for (const auto& [name, h] : histories_) {
    if (h.deleted) {
      // Deleted before a crash could drop its state: drop it now.
      STRATA_RETURN_IF_ERROR(runtime_->Drop(name));
      continue;
    }
    for (const StoredDefinition& d : h.versions) {
      const bool newest = &d == &h.versions.back();
      if (!newest && stored[name].count(d.projection_version) == 0) continue;
      absl::StatusOr<defined::Definition> compiled = Compile(d.definition);
      if (!compiled.ok()) {
        options_.logger->Log(LogLevel::kError, "projections",
                             absl::StrCat("defined projection ", name, " v", d.projection_version,
                                          " (position ", d.position,
                                          ") no longer compiles, not registered: ",
                                          compiled.status().ToString()));
        continue;
      }
      absl::Status s =
          runtime_->Register(MakeProjection(*std::move(compiled), d.projection_version, events_));
      // An older version the store has already replaced is refused: fine.
      if (!s.ok() && !(s.code() == absl::StatusCode::kFailedPrecondition && !newest)) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> DefinitionRegistry::AppendRecord(
    const char* type, const google::protobuf::Message& record) {
  STRATA_ASSIGN_OR_RETURN(std::string json, ToJson(record));
  NewEvent event;
  event.type = type;
  event.content_type = "application/json";
  event.data = std::move(json);
  // Only this registry writes the stream (clients may not): expecting its
  // last version catches anything else that did.
  const ExpectedVersion expected = stream_version_.has_value()
                                       ? ExpectedVersion::Exact(*stream_version_)
                                       : ExpectedVersion::NoStream();
  STRATA_ASSIGN_OR_RETURN(AppendResult appended,
                          log_->Append(kDefinitionsStream, expected, {std::move(event)}));
  stream_version_ = appended.last_version;
  return appended;
}

absl::StatusOr<DefineResult> DefinitionRegistry::Define(
    const v1::ProjectionDefinition& definition) {
  STRATA_ASSIGN_OR_RETURN(defined::Definition compiled, Compile(definition));
  const std::string& name = compiled.name;
  if (IsBuiltIn(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: '", name, "' is a built-in projection; choose another name"));
  }
  const std::string canonical = Canonical(definition);
  absl::MutexLock define_lock(&define_mu_);
  ProjectionVersion version = 1;
  {
    absl::MutexLock lock(&mu_);
    auto it = histories_.find(name);
    if (it != histories_.end() && !it->second.deleted && it->second.canonical == canonical) {
      const StoredDefinition& current = it->second.versions.back();
      return DefineResult{current.projection_version, false, current.position};
    }
    const bool defined_now = it != histories_.end() && !it->second.deleted;
    if (!defined_now) {
      const size_t count = std::count_if(histories_.begin(), histories_.end(),
                                         [](const auto& kv) { return !kv.second.deleted; });
      if (count >= options_.projections_max) {
        return absl::ResourceExhaustedError(
            absl::StrCat("name: '", name, "' would be defined projection number ", count + 1,
                         ", more than the limit of ", options_.projections_max,
                         "; delete one first"));
      }
    }
    if (it != histories_.end() && !it->second.versions.empty()) {
      version = it->second.versions.back().projection_version + 1;
    }
  }
  v1::ProjectionDefinedRecord record;
  record.set_projection_version(version);
  *record.mutable_definition() = Normalized(definition);
  STRATA_ASSIGN_OR_RETURN(AppendResult appended, AppendRecord(kProjectionDefinedType, record));
  {
    absl::MutexLock lock(&mu_);
    History& h = histories_[name];
    h.versions.push_back(StoredDefinition{record.definition(), version,
                                          appended.last_position, 0, false});
    // recorded_at is the log's: read it back rather than guess.
    absl::StatusOr<RecordedEvent> stored = log_->ReadEvent(appended.last_position);
    if (stored.ok()) h.versions.back().defined_at_us = stored->recorded_at_us;
    h.deleted = false;
    h.canonical = canonical;
  }
  STRATA_RETURN_IF_ERROR(runtime_->Register(MakeProjection(std::move(compiled), version, events_)));
  options_.logger->Log(LogLevel::kInfo, "projections",
                       absl::StrCat("defined projection ", name, " v", version, " (position ",
                                    appended.last_position, ")"));
  return DefineResult{version, true, appended.last_position};
}

absl::StatusOr<StoredDefinition> DefinitionRegistry::Definition(
    const std::string& name, std::optional<ProjectionVersion> version) const {
  absl::MutexLock lock(&mu_);
  auto it = histories_.find(name);
  if (it == histories_.end() || it->second.versions.empty()) {
    return absl::NotFoundError(absl::StrCat("name: no projection '", name,
                                            "' was ever defined"));
  }
  const History& h = it->second;
  const StoredDefinition* found = &h.versions.back();
  if (version.has_value()) {
    found = nullptr;
    for (const StoredDefinition& d : h.versions) {
      if (d.projection_version == *version) found = &d;
    }
    if (found == nullptr) {
      return absl::NotFoundError(absl::StrCat("projection_version: ", name, " has versions 1-",
                                              h.versions.back().projection_version, ", not ",
                                              *version));
    }
  }
  StoredDefinition out = *found;
  out.deleted = h.deleted;
  return out;
}

absl::StatusOr<GlobalPosition> DefinitionRegistry::Delete(const std::string& name) {
  absl::MutexLock define_lock(&define_mu_);
  ProjectionVersion version = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = histories_.find(name);
    if (it == histories_.end() || it->second.deleted) {
      if (IsBuiltIn(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("name: '", name, "' is built in; only defined projections can be deleted"));
      }
      return absl::NotFoundError(absl::StrCat("name: no defined projection '", name, "'",
                                              it == histories_.end() ? "" : " (deleted already)"));
    }
    version = it->second.versions.back().projection_version;
  }
  v1::ProjectionDeletedRecord record;
  record.set_name(name);
  record.set_projection_version(version);
  STRATA_ASSIGN_OR_RETURN(AppendResult appended, AppendRecord(kProjectionDeletedType, record));
  {
    absl::MutexLock lock(&mu_);
    histories_[name].deleted = true;
  }
  STRATA_RETURN_IF_ERROR(runtime_->Drop(name));
  options_.logger->Log(LogLevel::kInfo, "projections",
                       absl::StrCat("deleted projection ", name, " v", version, " (position ",
                                    appended.last_position, ")"));
  return appended.last_position;
}

bool DefinitionRegistry::IsBuiltIn(const std::string& name) const {
  return std::find(options_.built_in_names.begin(), options_.built_in_names.end(), name) !=
         options_.built_in_names.end();
}

bool DefinitionRegistry::IsDefined(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = histories_.find(name);
  return it != histories_.end() && !it->second.deleted;
}

absl::Status DefinitionRegistry::CheckQueryable(const std::string& name) const {
  if (IsDefined(name)) return absl::OkStatus();
  if (IsBuiltIn(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "projection: '", name, "' is built in, with its own queries (LinkQueries)"));
  }
  if (name.empty()) return absl::InvalidArgumentError("projection: required");
  return absl::NotFoundError(absl::StrCat("projection: no defined projection '", name, "'"));
}

absl::StatusOr<SkipInfo> DefinitionRegistry::Skipped(const std::string& name) const {
  SkipInfo info;
  STRATA_RETURN_IF_ERROR(runtime_->Read(
      {name}, std::nullopt,
      [&](absl::Span<const StateReader* const> readers, GlobalPosition) -> absl::Status {
        STRATA_ASSIGN_OR_RETURN(info, ReadSkipInfo(*readers[0]));
        return absl::OkStatus();
      }));
  return info;
}

absl::StatusOr<RowAnswer> DefinitionRegistry::Get(const std::string& name,
                                                  const std::vector<std::string>& key,
                                                  std::optional<GlobalPosition> as_of) const {
  STRATA_RETURN_IF_ERROR(CheckQueryable(name));
  STRATA_RETURN_IF_ERROR(CheckKeyParts("key", key, /*required=*/true));
  RowAnswer answer;
  STRATA_RETURN_IF_ERROR(runtime_->Read(
      {name}, as_of,
      [&](absl::Span<const StateReader* const> readers, GlobalPosition position) -> absl::Status {
        STRATA_ASSIGN_OR_RETURN(answer.row, GetRow(*readers[0], key));
        answer.position = position;
        return absl::OkStatus();
      }));
  return answer;
}

absl::StatusOr<ScanAnswer> DefinitionRegistry::Scan(const std::string& name,
                                                    const ScanRequest& request) const {
  STRATA_RETURN_IF_ERROR(CheckQueryable(name));
  STRATA_RETURN_IF_ERROR(CheckKeyParts("key_prefix", request.prefix, false));
  STRATA_RETURN_IF_ERROR(CheckKeyParts("start", request.start, false));
  STRATA_RETURN_IF_ERROR(CheckKeyParts("end", request.end, false));
  if (request.limit > kScanLimitMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", request.limit, " is more than the most a page holds (",
                     kScanLimitMax, ")"));
  }
  ScanRange range;
  range.prefix = request.prefix;
  range.start = request.start;
  range.end = request.end;
  range.limit = request.limit == 0 ? kScanLimitDefault : request.limit;
  std::optional<GlobalPosition> as_of = request.as_of;
  // The generation read: a page token continues only the generation that
  // answered the first page (not a new version cut over since).
  const uint64_t generation = LiveGeneration(*runtime_, name);
  if (!request.page_token.empty()) {
    GlobalPosition token_position = 0;
    uint64_t token_generation = 0;
    std::string after;
    STRATA_RETURN_IF_ERROR(
        DecodePageToken(request.page_token, &token_position, &token_generation, &after));
    range.after = std::move(after);
    if (token_generation != generation) {
      return absl::FailedPreconditionError(absl::StrCat(
          "page_token: projection ", name, " was rebuilt or redefined since the first page (",
          "generation ", token_generation, ", now ", generation, "); scan again from the start"));
    }
    if (as_of.has_value() && *as_of != token_position) {
      return absl::InvalidArgumentError(absl::StrCat(
          "as_of_position: ", *as_of, " differs from the page token's position ", token_position,
          "; a page token continues the first page's read"));
    }
    as_of = token_position;
  }
  ScanAnswer answer;
  STRATA_RETURN_IF_ERROR(runtime_->Read(
      {name}, as_of,
      [&](absl::Span<const StateReader* const> readers, GlobalPosition position) -> absl::Status {
        STRATA_ASSIGN_OR_RETURN(ScanResult result, ScanRows(*readers[0], range));
        answer.rows = std::move(result.rows);
        if (result.more) {
          answer.next_page_token = EncodePageToken(position, generation, result.last);
        }
        answer.position = position;
        return absl::OkStatus();
      }));
  if (LiveGeneration(*runtime_, name) != generation) {
    // Cut over during the read: which generation answered is unknown.
    return absl::UnavailableError(absl::StrCat("projection ", name,
                                               " cut over to a new generation during the scan; "
                                               "retry"));
  }
  return answer;
}

}  // namespace strata::defined
