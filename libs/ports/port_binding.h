#pragma once

#include <string>

namespace switchyard::ports {

// One published port: a host address that reaches a container port.
struct PortBinding {
  std::string protocol = "tcp";  // "tcp", "udp" or "sctp"
  std::string host_ip;           // "" (every address), "0.0.0.0", "::", "127.0.0.1", …
  int host_port = 0;             // 0 while unassigned
  int container_port = 0;

  bool operator==(const PortBinding&) const = default;
};

// True when both cannot be bound at once: same protocol and port, and
// addresses that overlap ("" and the wildcards overlap every address of
// their family; "" overlaps both families).
bool Collide(const PortBinding& a, const PortBinding& b);

// "0.0.0.0:8080" or "[::1]:8080", as dockerd names a binding in its errors.
std::string HostAddress(const PortBinding& b);

}  // namespace switchyard::ports
