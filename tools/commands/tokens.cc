// strata tokens new: makes an access token for stratad's --tokens_file
// (server/security.h). Local only: it talks to no server.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/security.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

// Appends `line` to `path`, creating it readable by its owner only.
absl::Status AppendLine(const std::string& path, const std::string& line) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return LocalError(absl::StatusCode::kUnavailable,
                      absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  // A file whose last line lacks its newline (edited by hand) gets one
  // first, so the new line is a line of its own.
  const off_t size = lseek(fd, 0, SEEK_END);
  char last = '\n';
  const bool needs_newline = size > 0 && pread(fd, &last, 1, size - 1) == 1 && last != '\n';
  const std::string text = absl::StrCat(needs_newline ? "\n" : "", line, "\n");
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  if (!ok) {
    return LocalError(absl::StatusCode::kUnavailable,
                      absl::StrCat("cannot write '", path, "': ", std::strerror(saved)));
  }
  return absl::OkStatus();
}

}  // namespace

const CommandSpec& TokensNewSpec() {
  static const CommandSpec spec{
      "tokens new",
      "NAME ROLE [--file F] [--json]",
      "Make an access token: print it once, and its line for stratad's --tokens_file.",
      "ROLE is read (reads, queries, subscriptions, /metrics), write (and appends, commands) or\n"
      "admin (and rebuild, define, delete, stream metadata, backup). NAME names the token in the "
      "server's log. The file\n"
      "keeps only the token's SHA-256; the token itself is printed here once. stratad reads the\n"
      "file at start: restart it to add or revoke a token (delete its line). Clients send it as\n"
      "'authorization: Bearer TOKEN' (strata --token or $STRATA_TOKEN), KurrentDB clients as\n"
      "username NAME and password TOKEN.",
      {{"file", "F", "append the line to F (created readable by its owner only)"}, JsonFlag()},
      2,
      2};
  return spec;
}

int RunTokensNew(const Argv& argv) {
  const CommandSpec& spec = TokensNewSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  if (!args) return code;
  const std::string& name = args->positional()[0];
  const std::string& role_name = args->positional()[1];
  if (!server::ValidTokenName(name)) {
    return UsageError(
        spec, absl::StrCat("NAME '", name, "' must be 1 to 64 letters, digits, '-', '_' or '.'"));
  }
  if (!server::ParseRole(role_name).has_value()) {
    return UsageError(spec, absl::StrCat("ROLE '", role_name, "' is not read, write or admin"));
  }
  const std::string token = server::NewToken();
  const std::string line = absl::StrCat(server::TokenHash(token), " ", name, " ", role_name);
  const std::optional<std::string> file = args->Get("file");
  if (file.has_value()) {
    if (absl::Status s = AppendLine(*file, line); !s.ok()) return Fail(s);
  }
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("name").String(name).Key("role").String(role_name);
    w.Key("token").String(token).Key("line").String(line).EndObject();
    WriteAll(stdout, absl::StrCat(w.str(), "\n"));
    return kExitOk;
  }
  WriteAll(stdout, absl::StrCat("token ", token,
                                "\n  (shown once: give it to the client; the server "
                                "keeps only its hash)\n",
                                file.has_value() ? absl::StrCat("added to ", *file, ": ")
                                                 : std::string("line for --tokens_file: "),
                                line, "\n"));
  return kExitOk;
}

}  // namespace strata::cli
