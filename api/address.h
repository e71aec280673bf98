// Network addresses as gRPC targets and listeners write them.
#ifndef STRATA_API_ADDRESS_H_
#define STRATA_API_ADDRESS_H_

#include "absl/strings/string_view.h"

namespace strata::api {

// True for "HOST:PORT" (or a bare host) on this machine only: 127.0.0.0/8,
// ::1, ::ffff:127.x.y.z, localhost, and unix: sockets; a gRPC target's
// dns:///, ipv4: or ipv6: scheme is read past. Strict: "127.0.0.+1",
// "0177.0.0.1" and "::1:2113" (an IPv6 address, not ::1 with a port) are not.
bool IsLoopback(absl::string_view host_port);

// True for "HOST:PORT" (or a bare host) whose host is an IPv4 or IPv6
// address rather than a name.
bool IsIpLiteral(absl::string_view host_port);

}  // namespace strata::api

#endif  // STRATA_API_ADDRESS_H_
