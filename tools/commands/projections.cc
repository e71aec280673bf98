// strata projections list | status NAME | rebuild NAME [--wait]
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/links_api.h"
#include "engine/base/macros.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

std::vector<FlagSpec> CommonFlags(const std::string& offline_help) {
  return {ServerFlag(), DataDirFlag(offline_help), JsonFlag(), TimeoutFlag()};
}

absl::StatusOr<std::vector<v1::ProjectionInfo>> List(Connection& c) {
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  v1::ListProjectionsResponse response;
  grpc::Status s = c.projections().ListProjections(ctx.get(), {}, &response);
  if (!s.ok()) return Explain(c, s);
  return std::vector<v1::ProjectionInfo>(response.projections().begin(),
                                         response.projections().end());
}

// The server's projections, or with --data_dir those stored in the data
// directory, opened read-only (as the server left them: no worker runs).
absl::StatusOr<std::vector<v1::ProjectionInfo>> ListFor(const Args& args) {
  if (std::optional<std::string> dir = args.Get("data-dir"); dir.has_value()) {
    STRATA_ASSIGN_OR_RETURN(OfflineStore store, OpenOfflineStore(*dir));
    std::vector<v1::ProjectionInfo> infos;
    for (const ProjectionStatus& st : store.runtime->Status()) {
      api::ToProto(st, &infos.emplace_back());
    }
    return infos;
  }
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::Open(args));
  return List(*c);
}

void WriteInfo(JsonWriter& w, const v1::ProjectionInfo& p) {
  w.BeginObject();
  w.Key("name").String(p.name());
  w.Key("version").Uint(p.version());
  w.Key("generation").Uint(p.generation());
  w.Key("state").String(p.state());
  w.Key("checkpoint").Uint(p.checkpoint());
  w.Key("head").Uint(p.head());
  w.Key("lag").Uint(p.lag());
  w.Key("events_per_second").Double(std::round(p.events_per_second() * 10) / 10);
  w.Key("progress").Double(std::floor(p.progress() * 10000) / 10000);
  if (p.has_seconds_left()) {
    w.Key("seconds_left").Double(std::round(p.seconds_left() * 10) / 10);
  } else {
    w.Key("seconds_left").Null();
  }
  w.Key("error").String(p.error());
  w.Key("error_position").Uint(p.error_position());
  w.EndObject();
}

std::string InfosJson(const std::vector<v1::ProjectionInfo>& infos) {
  JsonWriter w;
  w.BeginObject().Key("projections").BeginArray();
  for (const auto& p : infos) WriteInfo(w, p);
  w.EndArray().EndObject();
  return w.str() + "\n";
}

std::string Percent(double progress) {
  // Floor, so that 99.97% never shows as 100%.
  return absl::StrCat(static_cast<int>(std::floor(std::clamp(progress, 0.0, 1.0) * 100)), "%");
}

std::string Rate(double events_per_second) {
  if (events_per_second < 0.5) return "-";
  return absl::StrCat(FormatCount(static_cast<uint64_t>(std::llround(events_per_second))), "/s");
}

std::string Left(const v1::ProjectionInfo& p) {
  return p.has_seconds_left() ? FormatSeconds(p.seconds_left()) : "-";
}

std::string ErrorLines(const std::vector<v1::ProjectionInfo>& infos) {
  std::string out;
  for (const auto& p : infos) {
    if (p.error().empty()) continue;
    absl::StrAppend(&out, "\n", p.name(), " v", p.version(), " generation ", p.generation(),
                    " failed at position ", p.error_position(), ": ", p.error(), "\n");
  }
  return out;
}

std::string InfosTable(const std::vector<v1::ProjectionInfo>& infos) {
  if (infos.empty()) return "(no projections)\n";
  Table t({"NAME", "VERSION", "GENERATION", "STATE", "CHECKPOINT", "HEAD", "LAG", "RATE",
           "PROGRESS", "LEFT"});
  for (size_t c : {1, 2, 4, 5, 6, 7, 8, 9}) t.AlignRight(c);
  for (const auto& p : infos) {
    t.AddRow({p.name(), absl::StrCat(p.version()), absl::StrCat(p.generation()), p.state(),
              FormatCount(p.checkpoint()), FormatCount(p.head()), FormatCount(p.lag()),
              Rate(p.events_per_second()), Percent(p.progress()), Left(p)});
  }
  return t.Render() + ErrorLines(infos);
}

std::string InfoBlock(const v1::ProjectionInfo& p) {
  std::string out = absl::StrCat("name:        ", p.name(), "\n");
  absl::StrAppend(&out, "version:     ", p.version(), "\n");
  absl::StrAppend(&out, "generation:  ", p.generation(), "\n");
  absl::StrAppend(&out, "state:       ", p.state(), "\n");
  absl::StrAppend(&out, "checkpoint:  ", FormatCount(p.checkpoint()), "\n");
  absl::StrAppend(&out, "head:        ", FormatCount(p.head()), "\n");
  absl::StrAppend(&out, "lag:         ", FormatCount(p.lag()), "\n");
  absl::StrAppend(&out, "rate:        ", Rate(p.events_per_second()), "\n");
  absl::StrAppend(&out, "progress:    ", Percent(p.progress()), "\n");
  absl::StrAppend(&out, "time left:   ", Left(p), "\n");
  if (!p.error().empty()) {
    absl::StrAppend(&out, "error:       at position ", p.error_position(), ": ", p.error(), "\n");
  }
  return out;
}

std::vector<v1::ProjectionInfo> Named(const std::vector<v1::ProjectionInfo>& infos,
                                      const std::string& name) {
  std::vector<v1::ProjectionInfo> out;
  for (const auto& p : infos) {
    if (p.name() == name) out.push_back(p);
  }
  return out;
}

absl::Status NotRegistered(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("projection '", name, "' is not registered"));
}

}  // namespace

const CommandSpec& ProjectionsListSpec() {
  static const CommandSpec spec{
      "projections list",
      "[--json]",
      "List projections: version, state, checkpoint, head, lag, rate.",
      "Offline (--data_dir) the read models are opened in process, so the rate is 0.",
      CommonFlags("a data directory, opened read-only in process"),
      0,
      0};
  return spec;
}

const CommandSpec& ProjectionsStatusSpec() {
  static const CommandSpec spec{
      "projections status",
      "NAME [--json]",
      "Show one projection: version, state, checkpoint, head, lag, rate, progress.",
      "",
      CommonFlags("a data directory, opened read-only in process"),
      1,
      1};
  return spec;
}

const CommandSpec& ProjectionsRebuildSpec() {
  static const CommandSpec spec{
      "projections rebuild",
      "NAME [--wait] [--json]",
      "Rebuild a projection's read model from the start of the log.",
      "The live read model keeps answering until the new one catches up and takes over (the\n"
      "cut-over). With --wait, follow the rebuild to the cut-over: a progress bar (percent, "
      "events/s, time\n"
      "left) on a terminal, plain progress lines on stderr otherwise. Ctrl-C stops following;\n"
      "the server carries on. With --data_dir the rebuild runs in this process (the server must\n"
      "be stopped) and the command always waits; Ctrl-C stops it cleanly, and stratad resumes it\n"
      "on its next start.",
      [] {
        std::vector<FlagSpec> f = CommonFlags(
            "rebuild in process on a stopped server's data "
            "directory");
        f.push_back({"wait", "", "follow the rebuild until it is live", false});
        return f;
      }(),
      1,
      1};
  return spec;
}

int RunProjectionsList(const Argv& argv) {
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(ProjectionsListSpec(), argv, &code);
  if (!args) return code;
  absl::StatusOr<std::vector<v1::ProjectionInfo>> infos = ListFor(*args);
  if (!infos.ok()) return Fail(infos.status());
  WriteAll(stdout, args->Has("json") ? InfosJson(*infos) : InfosTable(*infos));
  return kExitOk;
}

int RunProjectionsStatus(const Argv& argv) {
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(ProjectionsStatusSpec(), argv, &code);
  if (!args) return code;
  const std::string name = args->positional()[0];
  absl::StatusOr<std::vector<v1::ProjectionInfo>> infos = ListFor(*args);
  if (!infos.ok()) return Fail(infos.status());
  std::vector<v1::ProjectionInfo> named = Named(*infos, name);
  if (named.empty()) return Fail(NotRegistered(name));
  if (args->Has("json")) {
    WriteAll(stdout, InfosJson(named));
  } else {
    std::string out;
    for (size_t i = 0; i < named.size(); ++i) {
      if (i > 0) out += "\n";
      out += InfoBlock(named[i]);
    }
    WriteAll(stdout, out);
  }
  return kExitOk;
}

int RunProjectionsRebuild(const Argv& argv) {
  const CommandSpec& spec = ProjectionsRebuildSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  if (!args) return code;
  const std::string name = args->positional()[0];
  const bool json = args->Has("json");
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  const bool wait = args->Has("wait") || c.offline();

  absl::StatusOr<uint64_t> previous_generation = NewestGeneration(c, name);
  if (!previous_generation.ok()) return Fail(previous_generation.status());
  {
    auto ctx = c.Context();
    CancelOnInterrupt cancel(ctx.get());
    v1::RebuildProjectionRequest request;
    request.set_name(name);
    v1::RebuildProjectionResponse response;
    grpc::Status s = c.projections().RebuildProjection(ctx.get(), request, &response);
    if (!s.ok()) return Fail(Explain(c, s));
  }
  return FollowBuild(c, name, *previous_generation, wait, json, absl::StrCat("rebuild ", name));
}

absl::StatusOr<uint64_t> NewestGeneration(Connection& c, const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(std::vector<v1::ProjectionInfo> infos, List(c));
  uint64_t newest = 0;
  for (const auto& p : Named(infos, name)) newest = std::max<uint64_t>(newest, p.generation());
  return newest;
}

int FollowBuild(Connection& c, const std::string& name, uint64_t previous_generation, bool wait,
                bool json, const std::string& what) {
  const absl::Time start = absl::Now();
  Progress progress(what, isatty(STDERR_FILENO) != 0);
  v1::ProjectionInfo current;
  auto interrupted = [&] {
    progress.Finish();
    WriteAll(
        stderr,
        c.offline()
            ? absl::StrCat("strata: interrupted: the ", what, " stopped at position ",
                           FormatCount(current.checkpoint()), " of ", FormatCount(current.head()),
                           "; stratad resumes it on its next start\n")
            : absl::StrCat("strata: interrupted: stopped following; the server carries on "
                           "with the ",
                           what, "\n"));
    return kExitInterrupted;
  };
  while (true) {
    if (Interrupted()) return interrupted();
    absl::StatusOr<std::vector<v1::ProjectionInfo>> infos = List(c);
    if (!infos.ok() && Interrupted()) return interrupted();
    if (!infos.ok()) return Fail(infos.status());
    const v1::ProjectionInfo* mine = nullptr;
    for (const auto& p : *infos) {
      if (p.name() == name && p.generation() > previous_generation &&
          (mine == nullptr || p.generation() > mine->generation())) {
        mine = &p;
      }
    }
    if (mine == nullptr) {
      return FailWith(absl::StrCat("the ", what,
                                   " was replaced by another one; see: strata projections status ",
                                   name));
    }
    current = *mine;
    if (current.state() == "failed") {
      progress.Finish();
      return FailWith(absl::StrCat(name, " v", current.version(), " generation ",
                                   current.generation(), " failed at position ",
                                   current.error_position(), ": ", current.error()));
    }
    if (!wait || current.state() == "live") break;
    progress.Update(
        current.checkpoint(), current.head(), current.events_per_second(),
        current.has_seconds_left() ? std::optional<double>(current.seconds_left()) : std::nullopt);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (wait) {
    progress.Update(current.checkpoint(), current.head(), current.events_per_second(), 0.0);
    progress.Finish();
  }
  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("name").String(name);
    w.Key("version").Uint(current.version());
    w.Key("generation").Uint(current.generation());
    w.Key("state").String(current.state());
    w.Key("checkpoint").Uint(current.checkpoint());
    w.Key("head").Uint(current.head());
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
  } else if (current.state() == "live") {
    WriteAll(
        stdout,
        absl::StrCat(name, " v", current.version(), " generation ", current.generation(),
                     " is live at position ", FormatCount(current.checkpoint()), " (built in ",
                     absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))),
                     ")\n"));
  } else {
    WriteAll(stdout,
             absl::StrCat(name, " v", current.version(), " generation ", current.generation(),
                          " is ", current.state(), " (", Percent(current.progress()), " of ",
                          FormatCount(current.head()),
                          " events); follow it with: strata projections status ", name, "\n"));
  }
  return kExitOk;
}

}  // namespace strata::cli
