// strata: the operator's command-line tool (projections, log inspection,
// time-travel queries, verify, export/import, demo). The commands live in
// tools/commands/; `strata --help` lists them.
#include "tools/commands/commands.h"
#include "tools/commands/common.h"

int main(int argc, char** argv) {
  strata::cli::InstallInterruptHandler();
  return strata::cli::RunCli(argc, argv);
}
