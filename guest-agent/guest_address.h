#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace switchyard::agent {

// Where a port tunnel dials inside the guest for a port the guest engine
// published on `ip`. For a wildcard ("" or "0.0.0.0") it is the guest's
// first non-loopback IPv4 address (10.0.2.100 under slirp4netns): dockerd's
// DNAT rule (OUTPUT, --dst-type LOCAL, not 127.0.0.0/8) then takes the
// connection straight to the container, where 127.0.0.1 would go through
// docker-proxy. Falls back to 127.0.0.1. "::" is the same with IPv6 (global
// address, else ::1). Any other address is dialed as given.
std::string GuestDialAddress(absl::string_view ip);

}  // namespace switchyard::agent
