#include "libs/ports/port_binding.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace switchyard::ports {
namespace {

bool IsV6(const std::string& ip) { return absl::StrContains(ip, ':'); }

bool Overlap(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty() || a == b) return true;
  if (IsV6(a) != IsV6(b)) return false;
  return a == "0.0.0.0" || b == "0.0.0.0" || a == "::" || b == "::";
}

}  // namespace

bool Collide(const PortBinding& a, const PortBinding& b) {
  return a.protocol == b.protocol && a.host_port == b.host_port && a.host_port != 0 &&
         Overlap(a.host_ip, b.host_ip);
}

std::string HostAddress(const PortBinding& b) {
  const std::string ip = b.host_ip.empty() ? "0.0.0.0" : b.host_ip;
  return IsV6(ip) ? absl::StrCat("[", ip, "]:", b.host_port) : absl::StrCat(ip, ":", b.host_port);
}

}  // namespace switchyard::ports
