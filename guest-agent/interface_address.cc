#include "guest-agent/interface_address.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::agent {
namespace {

struct Parsed {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {};
  size_t size = 0;
};

bool Parse(const std::string& ip, Parsed& out) {
  if (::inet_pton(AF_INET, ip.c_str(), out.bytes) == 1) {
    out.family = AF_INET;
    out.size = 4;
    return true;
  }
  if (::inet_pton(AF_INET6, ip.c_str(), out.bytes) == 1) {
    out.family = AF_INET6;
    out.size = 16;
    return true;
  }
  return false;
}

void AppendAttribute(nlmsghdr* header, unsigned short type, const void* data, size_t size) {
  auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(header) + NLMSG_ALIGN(header->nlmsg_len));
  attribute->rta_type = type;
  attribute->rta_len = RTA_LENGTH(size);
  std::memcpy(RTA_DATA(attribute), data, size);
  header->nlmsg_len = NLMSG_ALIGN(header->nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

}  // namespace

bool IsLocalAddress(const std::string& ip) {
  Parsed parsed;
  if (!Parse(ip, parsed)) return false;
  int fd = ::socket(parsed.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_storage address{};
  socklen_t length = 0;
  if (parsed.family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    std::memcpy(&v4->sin_addr, parsed.bytes, 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, parsed.bytes, 16);
    length = sizeof(sockaddr_in6);
  }
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0;
  ::close(fd);
  return bound;
}

absl::Status AddHostAddress(const std::string& device, const std::string& ip) {
  Parsed parsed;
  if (!Parse(ip, parsed)) return absl::InvalidArgumentError(absl::StrCat("\"", ip, "\" is not an IP address"));
  const unsigned index = ::if_nametoindex(device.c_str());
  if (index == 0) return absl::NotFoundError(absl::StrCat("no interface ", device));

  alignas(nlmsghdr) char buffer[256] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(buffer);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  header->nlmsg_type = RTM_NEWADDR;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  header->nlmsg_seq = 1;
  auto* message = static_cast<ifaddrmsg*>(NLMSG_DATA(header));
  message->ifa_family = static_cast<unsigned char>(parsed.family);
  message->ifa_prefixlen = static_cast<unsigned char>(parsed.size * 8);
  message->ifa_flags = parsed.family == AF_INET6 ? IFA_F_NODAD : 0;  // usable at once, not "tentative"
  message->ifa_scope = RT_SCOPE_UNIVERSE;
  message->ifa_index = index;
  AppendAttribute(header, IFA_LOCAL, parsed.bytes, parsed.size);
  AppendAttribute(header, IFA_ADDRESS, parsed.bytes, parsed.size);

  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return absl::InternalError(absl::StrCat("netlink socket: ", tunnel::ErrnoText(errno)));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  absl::Status status;
  if (::sendto(fd, buffer, header->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    status = absl::InternalError(absl::StrCat("netlink send: ", tunnel::ErrnoText(errno)));
  } else {
    alignas(nlmsghdr) char answer[1024];
    ssize_t n = ::recv(fd, answer, sizeof(answer), 0);
    auto* reply = reinterpret_cast<nlmsghdr*>(answer);
    if (n < 0) {
      status = absl::InternalError(absl::StrCat("netlink receive: ", tunnel::ErrnoText(errno)));
    } else if (!NLMSG_OK(reply, static_cast<unsigned>(n)) || reply->nlmsg_type != NLMSG_ERROR) {
      status = absl::InternalError("netlink: unexpected answer");
    } else {
      const int error = -static_cast<nlmsgerr*>(NLMSG_DATA(reply))->error;
      if (error != 0 && error != EEXIST) {
        status = absl::InternalError(absl::StrCat("adding ", ip, " to ", device, ": ", tunnel::ErrnoText(error)));
      }
    }
  }
  ::close(fd);
  return status;
}

}  // namespace switchyard::agent
