// Command-line parsing shared by Strata's binaries. --help (or -h) prints the
// usage text and the program's own flags (not Abseil's) and exits 0, which
// Abseil's built-in --help does not. Not thread-safe; call once in main.
#ifndef STRATA_ENGINE_BASE_CLI_FLAGS_H_
#define STRATA_ENGINE_BASE_CLI_FLAGS_H_

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"

namespace strata {

// Prints `usage` and every flag defined outside Abseil, sorted by name.
inline void PrintFlagsHelp(const char* usage) {
  std::printf("%s\n\nFlags:\n", usage);
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string file = flag->Filename();
    if (!absl::StrContains(file, "absl/") && !absl::StrContains(file, "/usr/")) {
      flags.push_back(flag);
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](auto* a, auto* b) { return a->Name() < b->Name(); });
  for (const absl::CommandLineFlag* f : flags) {
    std::printf("  --%s  %s (default: %s)\n", std::string(f->Name()).c_str(), f->Help().c_str(),
                f->DefaultValue().c_str());
  }
}

// Sets the usage text and parses argv; returns the positional arguments
// (argv[0] first). Exits 0 after printing help for --help or -h.
//
// Also turns off absl::Mutex's deadlock detection for the process (the
// Debian build keeps it on): it records every lock order in a global graph,
// which cost a fifth of a gRPC thread's time in profiles of stratad (gRPC
// locks absl::Mutex too). Tests keep it: their binaries do not call this.
inline std::vector<char*> ParseFlags(int argc, char** argv, const char* usage) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      PrintFlagsHelp(usage);
      std::exit(0);
    }
  }
  absl::SetProgramUsageMessage(usage);
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_CLI_FLAGS_H_
