// Command-line parsing shared by Strata's binaries: --help lists the
// program's own flags (Abseil's default would list only flags defined in a
// file named after the binary). Not thread-safe; call once at the top of main.
#ifndef STRATA_TOOLS_CLI_FLAGS_H_
#define STRATA_TOOLS_CLI_FLAGS_H_

#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace strata {

// Sets the usage text and parses argv; returns the positional arguments
// (argv[0] first). Exits 0 after printing help for --help.
inline std::vector<char*> ParseFlags(int argc, char** argv, const char* usage) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view path) {
    return !absl::StrContains(path, "absl/") && !absl::StrContains(path, "/usr/");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace strata

#endif  // STRATA_TOOLS_CLI_FLAGS_H_
