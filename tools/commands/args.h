// Command-line parsing for the strata CLI's subcommands, on CLI11: `--flag
// value`, `--flag=value`, boolean `--flag` (or `--flag=false`), repeated
// flags, positional arguments and `--` to end the flags. Dashes and
// underscores in flag names are the same (`--data_dir` is `--data-dir`). Each
// subcommand describes itself with a CommandSpec, from which its CLI11 options
// are made and its --help text is rendered. Not thread-safe; values.
#ifndef STRATA_TOOLS_COMMANDS_ARGS_H_
#define STRATA_TOOLS_COMMANDS_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::cli {

struct FlagSpec {
  std::string name;        // without dashes, with dashes between words: "from-version"
  std::string value_name;  // empty: a boolean flag
  std::string help;
  bool repeated = false;
};

struct CommandSpec {
  std::string path;      // "projections rebuild"
  std::string synopsis;  // "NAME [--wait]": after `strata <path> `
  std::string summary;   // one line for the command list
  std::string details;   // more text for --help (may be empty)
  std::vector<FlagSpec> flags;
  size_t positional_min = 0;
  size_t positional_max = 0;
};

// The shared flags, to put in a CommandSpec's flag list. A command with
// ServerFlag() also takes --token, --tls, --tls-ca, --tls-cert and --tls-key.
FlagSpec ServerFlag();
FlagSpec DataDirFlag(const std::string& help);
FlagSpec JsonFlag();
FlagSpec TimeoutFlag();

class Args {
 public:
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // The last value given for `name`, or nullopt.
  std::optional<std::string> Get(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

  // Typed values; InvalidArgument ("--max: 'x' is not a non-negative
  // integer") on a malformed value.
  absl::StatusOr<std::optional<uint64_t>> GetUint(const std::string& name) const;
  absl::StatusOr<std::optional<double>> GetDouble(const std::string& name) const;

 private:
  friend absl::StatusOr<Args> ParseArgs(const CommandSpec& spec,
                                        const std::vector<std::string>& argv);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// Parses `argv` (the arguments after the subcommand's words) against `spec`.
// InvalidArgument with a one-line message for an unknown flag, a missing
// value, a repeated flag that may appear once, or a wrong number of
// positional arguments. `--help`/`-h` sets help() and skips the count check.
absl::StatusOr<Args> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& argv);

// The --help text of `spec`.
std::string Usage(const CommandSpec& spec);

}  // namespace strata::cli

#endif  // STRATA_TOOLS_COMMANDS_ARGS_H_
