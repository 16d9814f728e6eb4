#pragma once

#include <string>

#include "absl/status/status.h"

namespace switchyard::agent {

// True when `ip` (an IPv4 or IPv6 literal) is an address of this network
// namespace: a socket can bind it.
bool IsLocalAddress(const std::string& ip);

// Adds `ip` as a host address (/32 or /128) to interface `device` over
// rtnetlink, as `ip address add IP/32 dev DEVICE` would. An address already
// there is not an error.
absl::Status AddHostAddress(const std::string& device, const std::string& ip);

}  // namespace switchyard::agent
