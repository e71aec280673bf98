#include "tools/commands/args.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace strata::cli {
namespace {

std::string Normalize(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
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

std::optional<FlagSpec> FindFlag(const CommandSpec& spec, const std::string& name) {
  for (const FlagSpec& f : AllFlags(spec)) {
    if (f.name == name) return f;
  }
  return std::nullopt;
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
  Args args;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || a.size() < 2 || a[0] != '-') {
      args.positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      args.help_ = true;
      continue;
    }
    if (a[1] != '-') {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", a, "'"));
    }
    std::string body = a.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const std::string name = Normalize(body);
    const std::optional<FlagSpec> flag = FindFlag(spec, name);
    if (!flag.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '--", body, "'"));
    }
    std::string value;
    if (flag->value_name.empty()) {
      value = inline_value.value_or("true");
      if (value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value (or =true, =false), not '", value, "'"));
      }
      if (value == "false") {
        args.values_.erase(name);
        continue;
      }
    } else if (inline_value.has_value()) {
      value = *inline_value;
    } else {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", flag->value_name, ")"));
      }
      value = argv[++i];
    }
    std::vector<std::string>& values = args.values_[name];
    if (!values.empty() && !flag->repeated) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " given more than once"));
    }
    values.push_back(std::move(value));
  }
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
