#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/tunnel/tunnel_header.h"

namespace switchyard::vmm {

// The address a host listener binds for a published port's host IP, as
// dockerd reads it: "" is "0.0.0.0"; literals are canonicalized ("::0" is
// "::"). INVALID_ARGUMENT for anything that is not an IP literal.
absl::StatusOr<std::string> HostBindAddress(absl::string_view host_ip);

// A socket bound to `ip`:`port` (listening, for TCP) with SO_REUSEADDR on
// TCP and IPV6_V6ONLY on IPv6, so [::] and 0.0.0.0 are separate ports, as
// Docker binds them. Errors use dockerd's wording, which the Docker CLI
// shows: "listen tcp4 0.0.0.0:8080: bind: address already in use".
absl::StatusOr<int> BindHostListener(tunnel::Protocol protocol, const std::string& ip, int port);

}  // namespace switchyard::vmm
