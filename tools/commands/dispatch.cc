// The strata CLI's command table and dispatch.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

struct Command {
  std::vector<std::string> words;
  const CommandSpec& (*spec)();
  int (*run)(const Argv& argv);
};

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {{"projections", "list"}, ProjectionsListSpec, RunProjectionsList},
      {{"projections", "status"}, ProjectionsStatusSpec, RunProjectionsStatus},
      {{"projections", "rebuild"}, ProjectionsRebuildSpec, RunProjectionsRebuild},
      {{"projections", "define"}, ProjectionsDefineSpec, RunProjectionsDefine},
      {{"projections", "definition"}, ProjectionsDefinitionSpec, RunProjectionsDefinition},
      {{"projections", "delete"}, ProjectionsDeleteSpec, RunProjectionsDelete},
      {{"projections", "get"}, ProjectionsGetSpec, RunProjectionsGet},
      {{"projections", "scan"}, ProjectionsScanSpec, RunProjectionsScan},
      {{"streams", "read"}, StreamsReadSpec, RunStreamsRead},
      {{"streams", "delete"}, StreamsDeleteSpec, RunStreamsDelete},
      {{"log", "read"}, LogReadSpec, RunLogRead},
      {{"log", "tail"}, LogTailSpec, RunLogTail},
      {{"links", "get"}, LinksGetSpec, RunLinksGet},
      {{"links", "analytics"}, LinksAnalyticsSpec, RunLinksAnalytics},
      {{"verify"}, VerifySpec, RunVerify},
      {{"export"}, ExportSpec, RunExport},
      {{"import"}, ImportSpec, RunImport},
      {{"demo"}, DemoSpec, RunDemo},
      {{"backup"}, BackupSpec, RunBackup},
      {{"tokens", "new"}, TokensNewSpec, RunTokensNew},
  };
  return commands;
}

// The command list, for `strata --help` (all) or `strata <group> --help`.
std::string Overview(const std::string& group) {
  std::string out;
  if (group.empty()) {
    out =
        "strata: the operator's tool for a Strata event store.\n"
        "It talks to a running server (--server HOST:PORT, default 127.0.0.1:50051) or opens a\n"
        "stopped server's data directory (--data_dir DIR, stratad's --data_dir).\n\n"
        "Usage: strata <command> [arguments] [flags]\n\nCommands:\n";
  } else {
    out = absl::StrCat("Usage: strata ", group, " <command> [arguments] [flags]\n\nCommands:\n");
  }
  size_t width = 0;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Command& c : Commands()) {
    if (!group.empty() && c.words[0] != group) continue;
    const CommandSpec& spec = c.spec();
    rows.emplace_back(spec.path, spec.summary);
    width = std::max(width, spec.path.size());
  }
  for (const auto& [path, summary] : rows) {
    absl::StrAppend(&out, "  ", path, std::string(width - path.size() + 2, ' '),
                    Truncate(summary, 100 - width - 4), "\n");
  }
  absl::StrAppend(&out,
                  "\nEvery command takes --help, and --json for scripts.\n"
                  "Exit codes: 0 ok; 1 findings or a failed request; 2 usage error; 130 "
                  "interrupted (Ctrl-C).\n");
  return out;
}

bool IsGroup(const std::string& word) {
  for (const Command& c : Commands()) {
    if (c.words.size() > 1 && c.words[0] == word) return true;
  }
  return false;
}

}  // namespace

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    WriteAll(stderr, Overview(""));
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    WriteAll(stdout, Overview(""));
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (args.size() < c.words.size()) continue;
    if (!std::equal(c.words.begin(), c.words.end(), args.begin())) continue;
    return c.run(Argv(args.begin() + c.words.size(), args.end()));
  }
  if (IsGroup(args[0])) {
    if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h")) {
      WriteAll(stdout, Overview(args[0]));
      return kExitOk;
    }
    const std::string what =
        args.size() < 2 ? absl::StrCat("strata ", args[0], ": missing command")
                        : absl::StrCat("strata ", args[0], ": unknown command '", args[1], "'");
    WriteAll(stderr, absl::StrCat(what, "\n\n", Overview(args[0])));
    return kExitUsage;
  }
  WriteAll(stderr, absl::StrCat("strata: unknown command '", args[0], "'\n\n", Overview("")));
  return kExitUsage;
}

}  // namespace strata::cli
