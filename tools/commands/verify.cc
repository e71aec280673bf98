// strata verify --data_dir DIR [--deep]
#include "engine/verify.h"

#include "absl/strings/str_cat.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"
#include "tools/commands/verify_projections.h"

namespace strata::cli {

const CommandSpec& VerifySpec() {
  static const CommandSpec spec{
      "verify",
      "--data_dir DIR [--deep] [--json]",
      "Check a stopped server's data directory offline (read-only).",
      "The log: RocksDB's checksums of every file; positions dense from 1; every record\n"
      "readable, with its CRC and position; every event's streams and event_ids index entries\n"
      "present and pointing back at it; every index entry pointing at a matching event; the\n"
      "$ce-/$et- index streams holding exactly the entries their events imply.\n"
      "Projections: catalog records, column families, checkpoints not beyond the log's head;\n"
      "with --deep each read model is recomputed from the log and compared at its checkpoint\n"
      "and at every durable snapshot. Every finding is printed; any finding exits 1.",
      {DataDirFlag("the data directory to check (stratad's --data_dir; required)"),
       {"deep", "", "also recompute each read model from the log and compare"},
       JsonFlag()},
      0,
      0};
  return spec;
}

int RunVerify(const Argv& argv) {
  const CommandSpec& spec = VerifySpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  if (!args) return code;
  std::optional<std::string> dir = args->Get("data-dir");
  if (!dir.has_value()) return UsageError(spec, "--data_dir DIR is required");
  const bool deep = args->Has("deep");
  const bool json = args->Has("json");
  if (absl::Status s = CheckHasLog(*dir); !s.ok()) return Fail(s);

  LogVerifyReport log_report;
  ProjectionVerifyReport projections;
  absl::StatusOr<std::unique_ptr<ReadOnlyLog>> log = ReadOnlyLog::Open(LogDir(*dir));
  if (absl::IsUnavailable(log.status())) return Fail(ExplainOpenError(*dir, log.status()));
  if (absl::IsDataLoss(log.status())) {
    log_report.findings.push_back(std::string(log.status().message()));
  } else if (!log.ok()) {
    return Fail(log.status());
  } else {
    log_report = (*log)->Verify();
    absl::StatusOr<ProjectionVerifyReport> p =
        VerifyProjectionStore(ProjectionsDir(*dir), log->get(), deep);
    if (absl::IsUnavailable(p.status())) return Fail(ExplainOpenError(*dir, p.status()));
    if (!p.ok()) return Fail(p.status());
    projections = std::move(*p);
  }
  if (Interrupted()) return Fail(absl::CancelledError("interrupted"));

  std::vector<std::string> findings = log_report.findings;
  findings.insert(findings.end(), projections.findings.begin(), projections.findings.end());
  const uint64_t omitted = log_report.findings_omitted;
  const bool ok = findings.empty() && omitted == 0;

  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("ok").Bool(ok);
    w.Key("log").BeginObject();
    w.Key("head").Uint(log_report.head);
    w.Key("events").Uint(log_report.events);
    w.Key("streams").Uint(log_report.streams);
    w.Key("event_ids").Uint(log_report.event_ids);
    w.Key("index_entries").Uint(log_report.index_entries);
    w.EndObject();
    w.Key("projections").BeginArray();
    for (const GenerationCheck& g : projections.generations) {
      w.BeginObject();
      w.Key("name").String(g.name);
      w.Key("version").Uint(g.version);
      w.Key("generation").Uint(g.generation);
      w.Key("state").String(g.state);
      w.Key("checkpoint").Uint(g.checkpoint);
      w.Key("snapshots").Uint(g.snapshots);
      if (g.deep.empty()) {
        w.Key("deep").Null();
      } else {
        w.Key("deep").String(g.deep);
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("findings").BeginArray();
    for (const std::string& f : findings) w.String(f);
    w.EndArray();
    w.Key("findings_omitted").Uint(omitted);
    w.Key("notes").BeginArray();
    for (const std::string& n : projections.notes) w.String(n);
    w.EndArray();
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
    return ok ? kExitOk : kExitFailure;
  }

  std::string out = absl::StrCat("log: ", FormatCount(log_report.events), " events in ",
                                 FormatCount(log_report.streams), " streams, head ",
                                 FormatCount(log_report.head), "\n");
  if (!projections.present) absl::StrAppend(&out, "projections: none\n");
  for (const GenerationCheck& g : projections.generations) {
    absl::StrAppend(&out, "projection ", g.name, " v", g.version, " generation ", g.generation,
                    ": ", g.state, " at position ", FormatCount(g.checkpoint), ", ", g.snapshots,
                    g.snapshots == 1 ? " snapshot" : " snapshots");
    if (!g.deep.empty()) absl::StrAppend(&out, "; recomputed from the log: ", g.deep);
    absl::StrAppend(&out, "\n");
  }
  for (const std::string& n : projections.notes) absl::StrAppend(&out, "note: ", n, "\n");
  for (const std::string& f : findings) absl::StrAppend(&out, "FINDING: ", f, "\n");
  if (omitted > 0) absl::StrAppend(&out, "FINDING: ... and ", omitted, " more in the log\n");
  const uint64_t total = findings.size() + omitted;
  if (ok) {
    absl::StrAppend(&out, "verify: OK, no findings in ", *dir, "\n");
  } else {
    absl::StrAppend(&out, "verify: ", total, total == 1 ? " finding" : " findings", " in ", *dir,
                    "\n");
  }
  WriteAll(stdout, out);
  return ok ? kExitOk : kExitFailure;
}

}  // namespace strata::cli
