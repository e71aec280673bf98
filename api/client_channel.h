// The channel a Strata client (the strata CLI, strata_load) opens to stratad:
// TLS when asked (a CA to trust, a client certificate for mutual TLS), and the
// access token sent with every call as `authorization: Bearer <token>`
// (server/security.h). The token rides in metadata added by a channel
// interceptor rather than gRPC's call credentials, which gRPC refuses to send
// over a plaintext channel, and stratad accepts tokens on loopback without TLS.
#ifndef STRATA_API_CLIENT_CHANNEL_H_
#define STRATA_API_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace strata::api {

struct ClientSecurity {
  // Sent as a bearer token with every call; empty: none.
  std::string token;
  // TLS trusting the system's CAs (a server certificate from a public CA).
  bool use_tls = false;
  // PEM CA certificate to trust instead; with it (or a client certificate)
  // the channel uses TLS.
  std::string tls_ca_file;
  // PEM client certificate and key, for a server that requires mutual TLS.
  std::string tls_cert_file;
  std::string tls_key_file;

  bool tls() const { return use_tls || !tls_ca_file.empty() || !tls_cert_file.empty(); }
};

// A channel to `target`. InvalidArgument naming the flag (--tls-ca, --tls-cert,
// --tls-key) when a file cannot be read or only half a client certificate is
// given; FailedPrecondition for a token without TLS to a target that is not
// loopback (it would cross the network in the clear).
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& target,
                                                          const ClientSecurity& security,
                                                          const grpc::ChannelArguments& args);

}  // namespace strata::api

#endif  // STRATA_API_CLIENT_CHANNEL_H_
