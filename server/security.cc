// The access rules of security.h: CheckExposure, the gRPC listeners' TLS
// credentials (PEM files checked with OpenSSL), token hashes and new tokens,
// and Authorizer, which loads the tokens file and checks Bearer and Basic
// credentials against every token in constant time.
#include "server/security.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/address.h"

namespace strata::server {
namespace {

constexpr absl::string_view kHashPrefix = "sha256:";

std::array<uint8_t, 32> Sha256(absl::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != out.size()) {
    std::fprintf(stderr, "strata: internal error: SHA-256 failed\n");
    std::abort();
  }
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(flag, ": cannot read '", path, "'"));
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// OpenSSL's objects, freed by their own functions.
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> Bio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::unique_ptr<X509, X509Free> ParseCertificate(const std::string& pem) {
  return std::unique_ptr<X509, X509Free>(
      PEM_read_bio_X509(Bio(pem).get(), nullptr, nullptr, nullptr));
}

// A host:port's host, brackets removed.
// OpenSSL's passphrase callback: there is none, so an encrypted key fails
// to load instead of prompting on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kWrite:
      return "write";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

bool ValidTokenName(absl::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role r : {Role::kRead, Role::kWrite, Role::kAdmin}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

absl::Status CheckExposure(const SecurityOptions& options,
                           const std::vector<std::pair<std::string, std::string>>& listeners) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both for TLS, or neither");
  }
  if (!options.tls_client_ca_file.empty() && !options.tls()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key (mutual TLS is TLS first)");
  }
  if (options.insecure) return absl::OkStatus();
  for (const auto& [flag, address] : listeners) {
    if (address.empty() || api::IsLoopback(address)) continue;
    if (!options.tls()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve plaintext on the non-loopback address ", flag, "=", address,
          ": give --tls_cert and --tls_key, or --insecure to do it on purpose"));
    }
    if (options.tokens_file.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve the non-loopback address ", flag, "=", address,
          " to anyone: give --tokens_file (see `strata tokens new --help`), or --insecure to "
          "do it on purpose"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const SecurityOptions& options) {
  if (!options.tls()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadFile("--tls_cert", options.tls_cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile("--tls_key", options.tls_key_file);
  if (!key.ok()) return key.status();
  std::unique_ptr<X509, X509Free> x509 = ParseCertificate(*cert);
  if (x509 == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert: '", options.tls_cert_file, "' holds no PEM certificate"));
  }
  std::unique_ptr<EVP_PKEY, KeyFree> pkey(
      PEM_read_bio_PrivateKey(Bio(*key).get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key: '", options.tls_key_file, "' holds no PEM private key (or it is encrypted)"));
  }
  if (X509_check_private_key(x509.get(), pkey.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_key: '", options.tls_key_file,
                                                   "' is not the key of the certificate in '",
                                                   options.tls_cert_file, "'"));
  }
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("--tls_client_ca", options.tls_client_ca_file);
    if (!ca.ok()) return ca.status();
    if (ParseCertificate(*ca) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls_client_ca: '", options.tls_client_ca_file, "' holds no PEM certificate"));
    }
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

std::string TokenHash(absl::string_view token) {
  const std::array<uint8_t, 32> hash = Sha256(token);
  return absl::StrCat(kHashPrefix, absl::BytesToHexString(absl::string_view(
                                       reinterpret_cast<const char*>(hash.data()), hash.size())));
}

std::string NewToken() {
  std::array<uint8_t, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::fprintf(stderr, "strata: internal error: no random bytes from OpenSSL\n");
    std::abort();
  }
  return absl::StrCat("strata_", absl::WebSafeBase64Escape(absl::string_view(
                                     reinterpret_cast<const char*>(bytes.data()), bytes.size())));
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Load(const SecurityOptions& options,
                                                             std::shared_ptr<Logger> logger) {
  std::vector<Token> tokens;
  if (!options.tokens_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile("--tokens_file", options.tokens_file);
    if (!text.ok()) return text.status();
    std::set<std::array<uint8_t, 32>> hashes;
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      ++line_number;
      line = absl::StripAsciiWhitespace(line);
      if (line.empty() || line.front() == '#') continue;
      const auto bad = [&](absl::string_view why) {
        return absl::InvalidArgumentError(
            absl::StrCat("--tokens_file: ", options.tokens_file, ":", line_number, ": ", why));
      };
      std::vector<absl::string_view> fields =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (fields.size() != 3) {
        return bad("expected 'sha256:<64 hex> NAME ROLE' (three fields)");
      }
      absl::string_view hex = fields[0];
      if (!absl::ConsumePrefix(&hex, kHashPrefix) || hex.size() != 64 ||
          !std::all_of(hex.begin(), hex.end(), [](char c) {
            return absl::ascii_isxdigit(static_cast<unsigned char>(c));
          })) {
        return bad(
            "the first field is not 'sha256:' and 64 hex digits (the token's hash, as "
            "`strata tokens new` prints it)");
      }
      const std::optional<Role> role = ParseRole(fields[2]);
      if (!role.has_value()) {
        return bad(absl::StrCat("role '", fields[2], "' is not read, write or admin"));
      }
      Token t;
      const std::string raw = absl::HexStringToBytes(hex);
      std::copy(raw.begin(), raw.end(), t.hash.begin());
      if (!hashes.insert(t.hash).second) return bad("this token's hash is listed twice");
      if (!ValidTokenName(fields[1])) {
        return bad(absl::StrCat("the name '", fields[1],
                                "' is not 1 to 64 letters, digits, '-', '_' or '.'"));
      }
      t.name = std::string(fields[1]);
      t.role = *role;
      tokens.push_back(std::move(t));
    }
    if (tokens.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tokens_file: ", options.tokens_file, " lists no token (every call would be refused)"));
    }
  }
  return std::unique_ptr<Authorizer>(new Authorizer(std::move(tokens), OrDefault(logger)));
}

Authorizer::Outcome Authorizer::Decide(absl::string_view authorization, Role required,
                                       const Token** token) const {
  *token = nullptr;
  if (authorization.empty()) return Outcome::kMissing;
  const size_t space = authorization.find(' ');
  if (space == absl::string_view::npos) return Outcome::kMalformed;
  const absl::string_view scheme = authorization.substr(0, space);
  absl::string_view secret = absl::StripAsciiWhitespace(authorization.substr(space + 1));
  std::string basic;       // the decoded "NAME:TOKEN" of a Basic header
  absl::string_view user;  // its NAME
  bool basic_scheme = false;
  if (absl::EqualsIgnoreCase(scheme, "basic")) {
    basic_scheme = true;
    const size_t colon = absl::Base64Unescape(secret, &basic) ? basic.find(':') : std::string::npos;
    if (colon == std::string::npos) return Outcome::kMalformed;
    user = absl::string_view(basic).substr(0, colon);
    secret = absl::string_view(basic).substr(colon + 1);
  } else if (!absl::EqualsIgnoreCase(scheme, "bearer")) {
    return Outcome::kMalformed;
  }
  // Every line is compared, in constant time: which line matches, if any,
  // does not show in the time taken.
  const std::array<uint8_t, 32> hash = Sha256(secret);
  for (const Token& t : tokens_) {
    const bool match = CRYPTO_memcmp(t.hash.data(), hash.data(), hash.size()) == 0;
    if (match) *token = &t;
  }
  if (*token == nullptr || (basic_scheme && user != (*token)->name)) {
    *token = nullptr;
    return Outcome::kUnknown;
  }
  return static_cast<int>((*token)->role) >= static_cast<int>(required) ? Outcome::kAllowed
                                                                        : Outcome::kWeak;
}

std::pair<Authorizer::Outcome, std::string> Authorizer::Judge(absl::string_view authorization,
                                                              absl::string_view what,
                                                              absl::string_view peer,
                                                              Role required) const {
  if (open()) return {Outcome::kAllowed, ""};
  const Token* token = nullptr;
  const Outcome outcome = Decide(authorization, required, &token);
  std::string message;
  switch (outcome) {
    case Outcome::kAllowed:
      return {outcome, ""};
    case Outcome::kMissing:
      message =
          "no access token: send 'authorization: Bearer <token>' (KurrentDB clients: the "
          "token's name as the username, the token as the password)";
      break;
    case Outcome::kMalformed:
      message = "authorization is not 'Bearer <token>' or 'Basic <base64 of NAME:token>'";
      break;
    case Outcome::kUnknown:
      message = "the access token is not valid";
      break;
    case Outcome::kWeak:
      message = absl::StrCat("token '", token->name, "' has the role ", RoleName(token->role), "; ",
                             what, " needs ", RoleName(required));
      break;
  }
  logger_->Log(LogLevel::kWarning, "auth",
               absl::StrCat(outcome == Outcome::kWeak ? "PERMISSION_DENIED " : "UNAUTHENTICATED ",
                            what, " from ", peer, ": ", message));
  return {outcome, std::move(message)};
}

grpc::Status Authorizer::Check(const grpc::ServerContextBase& context, absl::string_view method,
                               Role required) const {
  if (open()) return grpc::Status::OK;
  absl::string_view authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  auto [outcome, message] = Judge(authorization, method, context.peer(), required);
  switch (outcome) {
    case Outcome::kAllowed:
      return grpc::Status::OK;
    case Outcome::kWeak:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, message);
    default:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message);
  }
}

absl::Status Authorizer::CheckHeader(absl::string_view authorization, absl::string_view what,
                                     absl::string_view peer, Role required) const {
  auto [outcome, message] = Judge(authorization, what, peer, required);
  switch (outcome) {
    case Outcome::kAllowed:
      return absl::OkStatus();
    case Outcome::kWeak:
      return absl::PermissionDeniedError(message);
    default:
      return absl::UnauthenticatedError(message);
  }
}

}  // namespace strata::server
