// The strata CLI's argument parsing (args.h): a CommandSpec's flags (and the
// security flags that come with --server) as CLI11 options, Strata's own
// checks and messages on the result, the typed getters, and Usage.
#include "tools/commands/args.h"

#include <algorithm>
#include <cmath>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace strata::cli {
namespace {

std::string Underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// How to reach a secured server: every command with --server takes these too.
const std::vector<FlagSpec>& SecurityFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"token", "TOKEN", "access token (default: $STRATA_TOKEN; `strata tokens new` makes one)"},
      {"tls", "", "use TLS, trusting the system's CAs"},
      {"tls-ca", "FILE", "use TLS, trusting this PEM CA certificate"},
      {"tls-cert", "FILE", "PEM client certificate, for a server that requires mutual TLS"},
      {"tls-key", "FILE", "PEM key of --tls-cert"}};
  return *flags;
}

// The command's flags and, with --server, the security flags.
std::vector<FlagSpec> AllFlags(const CommandSpec& spec) {
  std::vector<FlagSpec> flags = spec.flags;
  for (const FlagSpec& f : spec.flags) {
    if (f.name != "server") continue;
    flags.insert(flags.end(), SecurityFlags().begin(), SecurityFlags().end());
    break;
  }
  return flags;
}

}  // namespace

FlagSpec ServerFlag() {
  return {"server", "HOST:PORT", "the server to talk to (default 127.0.0.1:50051)", false};
}
FlagSpec DataDirFlag(const std::string& help) { return {"data-dir", "DIR", help, false}; }
FlagSpec JsonFlag() { return {"json", "", "print JSON for scripts instead of a table", false}; }
FlagSpec TimeoutFlag() {
  return {"timeout", "SECONDS", "deadline of each request (default 30)", false};
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

std::string Args::GetOr(const std::string& name, const std::string& fallback) const {
  std::optional<std::string> v = Get(name);
  return v.has_value() ? *v : fallback;
}

absl::StatusOr<std::optional<uint64_t>> Args::GetUint(const std::string& name) const {
  std::optional<std::string> v = Get(name);
  if (!v.has_value()) return std::optional<uint64_t>();
  uint64_t out = 0;
  if (v->empty() || (*v)[0] == '-' || (*v)[0] == '+' || !absl::SimpleAtoi(*v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": '", *v, "' is not a non-negative integer"));
  }
  return std::optional<uint64_t>(out);
}

absl::StatusOr<std::optional<double>> Args::GetDouble(const std::string& name) const {
  std::optional<std::string> v = Get(name);
  if (!v.has_value()) return std::optional<double>();
  double out = 0;
  if (!absl::SimpleAtod(*v, &out) || !std::isfinite(out) || out < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": '", *v, "' is not a non-negative number"));
  }
  return std::optional<double>(out);
}

absl::StatusOr<Args> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& argv) {
  // CLI11 reads the words; the checks and messages that follow are Strata's.
  CLI::App app;
  app.set_help_flag();
  CLI::Option* help = app.add_flag("-h,--help");
  std::vector<std::pair<const FlagSpec*, CLI::Option*>> options;
  const std::vector<FlagSpec> flags = AllFlags(spec);
  for (const FlagSpec& f : flags) {
    // Dashes and underscores are the same: --data-dir is --data_dir.
    std::string names = absl::StrCat("--", f.name);
    if (std::string under = Underscored(f.name); under != f.name) {
      absl::StrAppend(&names, ",--", under);
    }
    CLI::Option* o = f.value_name.empty() ? app.add_flag(names) : app.add_option(names);
    // Repeats are counted here, so "given more than once" names the flag.
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    options.emplace_back(&f, o);
  }
  // Words CLI11 does not take are positional arguments (or unknown flags),
  // kept as they are: a positional option would have CLI11 split "[a,b]".
  app.allow_extras();
  // Everything after the first "--" is positional, whatever it looks like.
  const auto dashes = std::find(argv.begin(), argv.end(), "--");
  std::vector<std::string> words;
  for (auto it = argv.begin(); it != dashes; ++it) {
    // CLI11 reads "--flag=" (an empty value) as "take the next word": spell
    // the empty value out.
    if (it->size() > 3 && it->rfind("--", 0) == 0 && it->back() == '=') {
      words.push_back(it->substr(0, it->size() - 1));
      words.emplace_back();
      continue;
    }
    words.push_back(*it);
  }
  std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    // "--max: 1 required N missing": a flag without its value.
    const std::string what = e.what();
    for (const auto& [f, o] : options) {
      if (o->get_name() == what.substr(0, what.find(':')) && !f->value_name.empty() &&
          absl::StrContains(what, "missing")) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", f->name, " needs a value (", f->value_name, ")"));
      }
    }
    return absl::InvalidArgumentError(what);
  }
  Args args;
  args.help_ = help->count() > 0;
  for (const auto& [f, o] : options) {
    if (o->count() == 0) continue;
    if (o->count() > 1 && !f->repeated) {
      return absl::InvalidArgumentError(absl::StrCat("--", f->name, " given more than once"));
    }
    std::vector<std::string> values = o->results();
    if (f->value_name.empty()) {
      const std::string& value = values.back();
      if (value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("--", f->name, " takes no value (or =true, =false), not '", value, "'"));
      }
      if (value == "false") continue;
      values = {"true"};
    }
    args.values_[f->name] = std::move(values);
  }
  for (const std::string& word : app.remaining()) {
    if (word.size() >= 2 && word[0] == '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", word.substr(0, word.find('=')), "'"));
    }
    args.positional_.push_back(word);
  }
  if (dashes != argv.end()) args.positional_.insert(args.positional_.end(), dashes + 1, argv.end());
  if (args.help_) return args;
  const size_t n = args.positional_.size();
  if (n < spec.positional_min) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing argument: strata ", spec.path, " ", spec.synopsis));
  }
  if (n > spec.positional_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", args.positional_[spec.positional_max], "'"));
  }
  return args;
}

std::string Usage(const CommandSpec& spec) {
  std::string out = absl::StrCat("Usage: strata ", spec.path, spec.synopsis.empty() ? "" : " ",
                                 spec.synopsis, "\n\n", spec.summary, "\n");
  if (!spec.details.empty()) absl::StrAppend(&out, "\n", spec.details, "\n");
  std::vector<std::pair<std::string, std::string>> rows;
  for (const FlagSpec& f : AllFlags(spec)) {
    // --data_dir is spelled as stratad spells it; both spellings work.
    std::string left = absl::StrCat("--", f.name == "data-dir" ? "data_dir" : f.name);
    if (!f.value_name.empty()) absl::StrAppend(&left, " ", f.value_name);
    std::string help = f.help;
    if (f.repeated) absl::StrAppend(&help, " (repeatable)");
    rows.emplace_back(std::move(left), std::move(help));
  }
  rows.emplace_back("--help", "show this help");
  size_t width = 0;
  for (const auto& [left, help] : rows) width = std::max(width, left.size());
  absl::StrAppend(&out, "\nFlags:\n");
  for (const auto& [left, help] : rows) {
    absl::StrAppend(&out, "  ", left, std::string(width - left.size() + 2, ' '), help, "\n");
  }
  absl::StrAppend(&out,
                  "\nExit codes: 0 ok; 1 findings or a failed request; 2 usage error; "
                  "130 interrupted (Ctrl-C).\n");
  return out;
}

}  // namespace strata::cli
