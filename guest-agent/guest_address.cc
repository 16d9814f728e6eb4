#include "guest-agent/guest_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

namespace switchyard::agent {
namespace {

// The first address of `family` on an up, non-loopback interface (for IPv6
// not link-local, which would need a scope), or "".
std::string FirstOwnAddress(int family) {
  ifaddrs* addrs = nullptr;
  if (::getifaddrs(&addrs) != 0) return "";
  std::string found;
  for (ifaddrs* a = addrs; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != family) continue;
    if ((a->ifa_flags & IFF_LOOPBACK) != 0 || (a->ifa_flags & IFF_UP) == 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
    } else {
      const in6_addr& v6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&v6)) continue;
      ::inet_ntop(AF_INET6, &v6, text, sizeof(text));
    }
    found = text;
  }
  ::freeifaddrs(addrs);
  return found;
}

}  // namespace

std::string GuestDialAddress(absl::string_view ip) {
  if (ip.empty() || ip == "0.0.0.0") {
    std::string own = FirstOwnAddress(AF_INET);
    return own.empty() ? "127.0.0.1" : own;
  }
  if (ip == "::") {
    std::string own = FirstOwnAddress(AF_INET6);
    return own.empty() ? "::1" : own;
  }
  return std::string(ip);
}

}  // namespace switchyard::agent
