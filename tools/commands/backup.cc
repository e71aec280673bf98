// strata backup DIR: a consistent copy of a server's data directory.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {

const CommandSpec& BackupSpec() {
  static const CommandSpec spec{
      "backup",
      "DIR [--json]",
      "Write a consistent copy of the server's data to a new directory DIR.",
      "The server writes the copy on its own machine while it keeps serving: a RocksDB\n"
      "checkpoint of the projection store, then one of the event log (files are hard-linked\n"
      "when DIR is on the data directory's filesystem, so the copy is fast and small until the\n"
      "stores move on). DIR must not exist yet and its parent must; a relative DIR is made\n"
      "absolute here, which is right when the CLI runs on the server's machine. The copy is a\n"
      "data directory: restore it by starting `stratad --data_dir DIR` (or copying DIR to the\n"
      "new machine first). Read models in the copy resume from their checkpoints. With\n"
      "--data_dir the copy is made of a stopped server's data directory. Needs an admin token.",
      {ServerFlag(), DataDirFlag("copy a stopped server's data directory"), JsonFlag(),
       TimeoutFlag()},
      1,
      1};
  return spec;
}

int RunBackup(const Argv& argv) {
  const CommandSpec& spec = BackupSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  if (!args) return code;
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::absolute(args->positional()[0], ec);
  if (ec)
    return UsageError(spec, absl::StrCat("DIR '", args->positional()[0], "': ", ec.message()));
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  v1::BackupRequest request;
  request.set_dir(dir.lexically_normal().string());
  v1::BackupResponse response;
  grpc::Status s = c.admin().Backup(ctx.get(), request, &response);
  if (!s.ok()) return Fail(Explain(c, s));
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("dir").String(response.dir());
    w.Key("log_position").Uint(response.log_position());
    w.Key("bytes").Uint(response.bytes()).Key("seconds").Double(response.seconds()).EndObject();
    WriteAll(stdout, absl::StrCat(w.str(), "\n"));
    return kExitOk;
  }
  WriteAll(stdout,
           absl::StrCat("backup written to ", response.dir(), "\n  the log up to position ",
                        response.log_position(), " and the read models at their checkpoints, ",
                        absl::StrFormat("%.1f MiB in %.2f s", response.bytes() / 1048576.0,
                                        response.seconds()),
                        "\n  restore: stratad --data_dir ", response.dir(), "\n"));
  return kExitOk;
}

}  // namespace strata::cli
