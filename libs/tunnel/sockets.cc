#include "libs/tunnel/sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace switchyard::tunnel {
namespace {

int RemainingMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

absl::Status Waited(int fd, short events, absl::Time deadline) {
  while (true) {
    pollfd pfd{fd, events, 0};
    int n = ::poll(&pfd, 1, RemainingMs(deadline));
    if (n > 0) return absl::OkStatus();
    if (n == 0) return absl::DeadlineExceededError("i/o timeout");
    if (errno != EINTR) return absl::InternalError(ErrnoText(errno));
  }
}

}  // namespace

absl::StatusOr<SockAddr> MakeSockAddr(absl::string_view ip, int port) {
  SockAddr addr;
  std::string s(ip);
  if (port < 0 || port > 65535) return absl::InvalidArgumentError(absl::StrCat("bad port ", port));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr.storage);
  if (::inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    addr.length = sizeof(sockaddr_in);
    return addr;
  }
  if (::inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    addr.length = sizeof(sockaddr_in6);
    return addr;
  }
  return absl::InvalidArgumentError(absl::StrCat("bad IP address \"", ip, "\""));
}

std::string FormatHostPort(absl::string_view ip, int port) {
  if (ip.find(':') != absl::string_view::npos) return absl::StrCat("[", ip, "]:", port);
  return absl::StrCat(ip, ":", port);
}

std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return text;
}

absl::Status SetNonBlocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return absl::InternalError(ErrnoText(errno));
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) != 0) return absl::InternalError(ErrnoText(errno));
  return absl::OkStatus();
}

namespace {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return absl::InvalidArgumentError(absl::StrCat("path too long: ", path));
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Go's network names: "unix" for a stream socket, "unixpacket" for seqpacket.
absl::string_view UnixNetwork(int type) { return type == SOCK_SEQPACKET ? "unixpacket" : "unix"; }

}  // namespace

absl::StatusOr<int> ConnectUnix(const std::string& path, int type) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    std::string err = ErrnoText(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("dial ", UnixNetwork(type), " ", path, ": connect: ", err));
  }
  return fd;
}

absl::StatusOr<int> ListenUnix(const std::string& path, int type) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  ::unlink(path.c_str());  // a stale socket from a killed predecessor
  // Created private: only the VM manager (root) may open tunnels.
  mode_t old_mask = ::umask(0077);
  int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd, 128) != 0) {
    std::string err = ErrnoText(bound != 0 ? bind_errno : errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("listen ", UnixNetwork(type), " ", path, ": ", err));
  }
  ::chmod(path.c_str(), 0600);
  return fd;
}

absl::StatusOr<int> Dial(int type, absl::string_view ip, int port, absl::Duration timeout) {
  const std::string what = absl::StrCat("dial ", type == SOCK_DGRAM ? "udp " : "tcp ", FormatHostPort(ip, port), ": ");
  auto addr = MakeSockAddr(ip, port);
  if (!addr.ok()) return absl::InvalidArgumentError(absl::StrCat(what, addr.status().message()));
  int fd = ::socket(addr->family(), type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(what, "socket: ", ErrnoText(errno)));
  absl::Status status;
  if (::connect(fd, addr->get(), addr->length) != 0) {
    if (errno != EINPROGRESS) {
      status = absl::UnavailableError(absl::StrCat(what, "connect: ", ErrnoText(errno)));
    } else {
      status = Waited(fd, POLLOUT, absl::Now() + timeout);
      int err = 0;
      socklen_t len = sizeof(err);
      if (status.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
        status = absl::UnavailableError(absl::StrCat(what, "connect: ", ErrnoText(err)));
      } else if (!status.ok()) {
        status = absl::DeadlineExceededError(absl::StrCat(what, status.message()));
      }
    }
  }
  if (status.ok()) status = SetNonBlocking(fd, false);
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  if (type == SOCK_STREAM) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

absl::StatusOr<std::string> ReadLine(int fd, size_t max, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string line;
  char buf[256];
  while (true) {
    if (absl::Status s = Waited(fd, POLLIN, deadline); !s.ok()) return s;
    size_t want = std::min(sizeof(buf), max - line.size());
    ssize_t n = ::recv(fd, buf, want, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(ErrnoText(errno));
    }
    if (n == 0) return absl::UnavailableError("connection closed before a full line");
    // Consume up to the newline only; without one, everything peeked is line.
    const char* nl = static_cast<const char*>(std::memchr(buf, '\n', n));
    size_t take = nl != nullptr ? nl - buf + 1 : n;
    ssize_t got = ::recv(fd, buf, take, MSG_DONTWAIT);
    if (got != static_cast<ssize_t>(take)) return absl::UnavailableError("short read of a peeked line");
    line.append(buf, take);
    if (nl != nullptr) {
      line.pop_back();
      return line;
    }
    if (line.size() >= max) return absl::InvalidArgumentError("line too long");
  }
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(ErrnoText(errno));
    }
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

}  // namespace switchyard::tunnel
