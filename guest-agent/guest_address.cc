#include "guest-agent/guest_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

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

// getifaddrs is a netlink dump of every interface (each container adds a
// veth): too dear to repeat for every connection, while the guest's own
// address changes rarely. Remembered for a few seconds.
std::string CachedOwnAddress(int family) {
  struct Cached {
    std::string address;
    absl::Time read = absl::InfinitePast();
  };
  static absl::Mutex mu(absl::kConstInit);
  static Cached* cache ABSL_GUARDED_BY(mu) = new Cached[2];
  const absl::Time now = absl::Now();
  Cached& entry = cache[family == AF_INET ? 0 : 1];
  {
    absl::MutexLock lock(&mu);
    if (now - entry.read < absl::Seconds(5)) return entry.address;
  }
  std::string address = FirstOwnAddress(family);
  if (address.empty()) return address;  // not up yet: look again next time
  absl::MutexLock lock(&mu);
  entry = {address, now};
  return address;
}

}  // namespace

std::string GuestDialAddress(absl::string_view ip) {
  if (ip.empty() || ip == "0.0.0.0") {
    std::string own = CachedOwnAddress(AF_INET);
    return own.empty() ? "127.0.0.1" : own;
  }
  if (ip == "::") {
    std::string own = CachedOwnAddress(AF_INET6);
    return own.empty() ? "::1" : own;
  }
  return std::string(ip);
}

}  // namespace switchyard::agent
