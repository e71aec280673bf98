// The strata CLI's subcommands. Each Run* function takes the arguments after
// its command words and returns the process exit code (see common.h); each
// *Spec function describes the command for parsing and --help.
#ifndef STRATA_TOOLS_COMMANDS_COMMANDS_H_
#define STRATA_TOOLS_COMMANDS_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/commands/args.h"

namespace strata::cli {

using Argv = std::vector<std::string>;

const CommandSpec& ProjectionsListSpec();
const CommandSpec& ProjectionsStatusSpec();
const CommandSpec& ProjectionsRebuildSpec();
int RunProjectionsList(const Argv& argv);
int RunProjectionsStatus(const Argv& argv);
int RunProjectionsRebuild(const Argv& argv);

const CommandSpec& ProjectionsDefineSpec();
const CommandSpec& ProjectionsDefinitionSpec();
const CommandSpec& ProjectionsDeleteSpec();
const CommandSpec& ProjectionsGetSpec();
const CommandSpec& ProjectionsScanSpec();
int RunProjectionsDefine(const Argv& argv);
int RunProjectionsDefinition(const Argv& argv);
int RunProjectionsDelete(const Argv& argv);
int RunProjectionsGet(const Argv& argv);
int RunProjectionsScan(const Argv& argv);

const CommandSpec& StreamsReadSpec();
const CommandSpec& StreamsDeleteSpec();
const CommandSpec& LogReadSpec();
const CommandSpec& LogTailSpec();
int RunStreamsRead(const Argv& argv);
int RunStreamsDelete(const Argv& argv);
int RunLogRead(const Argv& argv);
int RunLogTail(const Argv& argv);

const CommandSpec& LinksGetSpec();
const CommandSpec& LinksAnalyticsSpec();
int RunLinksGet(const Argv& argv);
int RunLinksAnalytics(const Argv& argv);

const CommandSpec& VerifySpec();
int RunVerify(const Argv& argv);

const CommandSpec& ExportSpec();
const CommandSpec& ImportSpec();
int RunExport(const Argv& argv);
int RunImport(const Argv& argv);

const CommandSpec& DemoSpec();
int RunDemo(const Argv& argv);

const CommandSpec& BackupSpec();
int RunBackup(const Argv& argv);

const CommandSpec& TokensNewSpec();
int RunTokensNew(const Argv& argv);

// Shared by projections rebuild and define: the newest generation of `name`
// (0 when none), and following a newer one until it is live (with `wait`),
// printing its progress as `what` ("rebuild link_clicks"); returns the exit code.
class Connection;
absl::StatusOr<uint64_t> NewestGeneration(Connection& c, const std::string& name);
int FollowBuild(Connection& c, const std::string& name, uint64_t previous_generation, bool wait,
                bool json, const std::string& what);

// The whole CLI: dispatches argv[1..] to a subcommand.
int RunCli(int argc, char** argv);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_COMMANDS_H_
