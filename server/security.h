// Who may talk to stratad: TLS on every listener, access tokens with roles,
// and the rule that a server without TLS or without tokens listens on
// loopback only (unless told --insecure).
//
// Tokens. A tokens file has one token a line: "sha256:<64 hex> NAME ROLE",
// the SHA-256 of the token (never the token itself), a name for the logs and
// a role. Blank lines and lines starting with '#' are skipped. `strata tokens
// new NAME ROLE` makes a token and prints its line. Roles are ordered: read
// (reads, queries, subscriptions, /metrics) < write (appends, commands) <
// admin (rebuild, define, delete, metadata appends, backups).
//
// Open to every caller, by design: grpc.health.v1.Health (load balancers
// and orchestrators probe it without credentials), server reflection (the
// schema is public), and the KurrentDB clients' ServerFeatures (they call it
// before sending credentials). None reads or writes data.
//
// A call presents its token in the `authorization` metadata (an HTTP header
// for /metrics): "Bearer <token>", or "Basic base64(NAME:<token>)" for the
// KurrentDB clients' username and password. No token, or one that matches no
// line, is UNAUTHENTICATED; a token whose role is below the method's is
// PERMISSION_DENIED. Every failure is logged with the method, the peer and
// the token's name when it has one, never the token. The presented token's
// hash is compared with every line's in constant time, so an unknown token
// and a wrong one take the same time.
//
// Thread-safety: Authorizer is immutable after Load, safe from any thread.
#ifndef STRATA_SERVER_SECURITY_H_
#define STRATA_SERVER_SECURITY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/logger.h"
#include "grpcpp/grpcpp.h"

namespace strata::server {

enum class Role { kRead = 1, kWrite = 2, kAdmin = 3 };
const char* RoleName(Role role);  // "read", "write", "admin"
std::optional<Role> ParseRole(absl::string_view name);

struct SecurityOptions {
  // PEM files. With a certificate and key every listener (gRPC, KurrentDB,
  // HTTP) serves TLS only. Default: none, plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM file of the CA that signs client certificates: clients without one it
  // signed are refused (mutual TLS). Needs the certificate and key.
  std::string tls_client_ca_file;
  // The tokens file (above). Default: none, every call is allowed.
  std::string tokens_file;
  // Allows listening on a non-loopback address without TLS or without tokens.
  bool insecure = false;

  bool tls() const { return !tls_cert_file.empty(); }
};

// FailedPrecondition naming the flag and what is missing when `listeners`
// (pairs of flag name and HOST:PORT; empty addresses are skipped) include a
// non-loopback address and `options` lacks TLS or tokens without `insecure`;
// InvalidArgument when the TLS files are given by halves.
absl::Status CheckExposure(const SecurityOptions& options,
                           const std::vector<std::pair<std::string, std::string>>& listeners);

// The gRPC listeners' credentials: TLS from the PEM files (checked here, so a
// wrong file is an error naming the flag, not a failed bind), else insecure.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const SecurityOptions& options);

// "sha256:<64 lowercase hex>" of `token`: its line's first field.
std::string TokenHash(absl::string_view token);
// A new token: "strata_" and 43 base64url characters (256 random bits).
std::string NewToken();

// A token's name: 1 to 64 letters, digits, '-', '_' or '.' (no space, which
// separates the file's fields, and no ':', which ends a Basic username).
bool ValidTokenName(absl::string_view name);

class Authorizer {
 public:
  // Reads `options.tokens_file`; an Authorizer that allows every call when it
  // is empty. InvalidArgument naming the file and line for a malformed line or
  // a hash listed twice; NotFound when the file cannot be read.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Load(const SecurityOptions& options,
                                                          std::shared_ptr<Logger> logger);

  // True when no tokens are configured.
  bool open() const { return tokens_.empty(); }
  size_t token_count() const { return tokens_.size(); }

  // OK, or UNAUTHENTICATED / PERMISSION_DENIED (logged) for a call of
  // `method` ("/strata.v1.Streams/Append") needing `required`.
  grpc::Status Check(const grpc::ServerContextBase& context, absl::string_view method,
                     Role required) const;
  // The same for an HTTP request: its Authorization header (empty when absent).
  absl::Status CheckHeader(absl::string_view authorization, absl::string_view what,
                           absl::string_view peer, Role required) const;

 private:
  struct Token {
    std::array<uint8_t, 32> hash;
    std::string name;
    Role role;
  };
  enum class Outcome { kAllowed, kMissing, kMalformed, kUnknown, kWeak };

  Authorizer(std::vector<Token> tokens, std::shared_ptr<Logger> logger)
      : tokens_(std::move(tokens)), logger_(std::move(logger)) {}
  // Decides, setting *token to the matching line (kAllowed, kWeak).
  Outcome Decide(absl::string_view authorization, Role required, const Token** token) const;
  // The failure's status message, logged with `what` and `peer`.
  std::pair<Outcome, std::string> Judge(absl::string_view authorization, absl::string_view what,
                                        absl::string_view peer, Role required) const;

  std::vector<Token> tokens_;
  std::shared_ptr<Logger> logger_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_SECURITY_H_
