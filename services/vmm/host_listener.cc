#include "services/vmm/host_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::vmm {

absl::StatusOr<std::string> HostBindAddress(absl::string_view host_ip) {
  if (host_ip.empty()) return std::string("0.0.0.0");
  auto addr = tunnel::MakeSockAddr(host_ip, 0);
  if (!addr.ok()) return absl::InvalidArgumentError(absl::StrCat("invalid host IP \"", host_ip, "\""));
  char text[INET6_ADDRSTRLEN] = {};
  if (addr->family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr->get())->sin_addr, text, sizeof(text));
  } else {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr->get())->sin6_addr, text, sizeof(text));
  }
  return std::string(text);
}

absl::StatusOr<int> BindHostListener(tunnel::Protocol protocol, const std::string& ip, int port) {
  auto addr = tunnel::MakeSockAddr(ip, port);
  if (!addr.ok()) return addr.status();
  const bool tcp = protocol == tunnel::Protocol::kTcp;
  const bool v6 = addr->family() == AF_INET6;
  const std::string what =
      absl::StrCat("listen ", tunnel::ProtocolName(protocol), v6 ? "6 " : "4 ", tunnel::FormatHostPort(ip, port), ": ");
  auto fail = [&](int fd, absl::string_view step) {
    std::string err = tunnel::ErrnoText(errno);
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(absl::StrCat(what, step, ": ", err));
  };
  int fd = ::socket(addr->family(), (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(-1, "socket");
  int one = 1;
  if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // Lets a port be bound again while connections of its last listener linger
  // in TIME_WAIT; a listener that still listens keeps it busy (EADDRINUSE).
  if (tcp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, addr->get(), addr->length) != 0) return fail(fd, "bind");
  if (tcp && ::listen(fd, SOMAXCONN) != 0) return fail(fd, "listen");
  return fd;
}

}  // namespace switchyard::vmm
