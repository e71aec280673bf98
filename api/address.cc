// IsLoopback and IsIpLiteral (address.h): the host taken out of HOST:PORT,
// [V6]:PORT or a bare host, then parsed with inet_pton, which takes only the
// strict forms.
#include "api/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace strata::api {
namespace {

// The host of "HOST:PORT", "[V6]:PORT", or a bare host. An unbracketed
// address with several colons is all host, as gRPC reads it ("::1").
absl::string_view HostOf(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "[")) {
    const size_t close = host_port.find(']');
    if (close == absl::string_view::npos) return host_port;
    // Only ":PORT" may follow: "[::1]:1,[2001:db8::1]:2" (a list) is no host.
    const absl::string_view rest = host_port.substr(close + 1);
    if (!rest.empty() &&
        (rest[0] != ':' || rest.find_first_not_of("0123456789", 1) != absl::string_view::npos)) {
      return host_port;
    }
    return host_port.substr(1, close - 1);
  }
  const size_t colon = host_port.find(':');
  if (colon == absl::string_view::npos ||
      host_port.find(':', colon + 1) != absl::string_view::npos) {
    return host_port;
  }
  return host_port.substr(0, colon);
}

}  // namespace

bool IsLoopback(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "unix:") || absl::StartsWith(host_port, "unix-abstract:")) {
    return true;
  }
  for (absl::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&host_port, scheme)) break;
  }
  const std::string host(HostOf(host_port));
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  // Only the strict forms: inet_pton takes no "+1", no octal, no short forms.
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;  // 127.0.0.0/8
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;  // ::ffff:127.x.y.z
  }
  return false;
}

bool IsIpLiteral(absl::string_view host_port) {
  const std::string host(HostOf(host_port));
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace strata::api
