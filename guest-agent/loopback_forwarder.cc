#include "guest-agent/loopback_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {
namespace {

// Copies bytes both ways until both sides have closed; half-closes propagate.
void Pump(int a, int b) {
  char buf[64 * 1024];
  bool a_open = true, b_open = true;
  while (a_open || b_open) {
    pollfd fds[2] = {{a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = ::read(from, buf, sizeof(buf));
      if (n <= 0) {
        ::shutdown(to, SHUT_WR);
        (i == 0 ? a_open : b_open) = false;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::send(to, buf + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) {
          a_open = b_open = false;
          break;
        }
        off += w;
      }
    }
  }
  ::close(a);
  ::close(b);
}

}  // namespace

absl::StatusOr<std::vector<int>> ParsePorts(absl::string_view list) {
  std::vector<int> ports;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    int port = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port \"", part, "\" in \"", list, "\""));
    }
    ports.push_back(port);
  }
  return ports;
}

LoopbackForwarder::~LoopbackForwarder() { Stop(); }

absl::Status LoopbackForwarder::Start(const std::vector<int>& ports) {
  for (int port : ports) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 128) != 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("listen on 127.0.0.1:", port, ": ", err));
    }
    listen_fds_.push_back(fd);
    threads_.emplace_back([this, fd, port] { AcceptLoop(fd, port); });
    spdlog::info("agent: forwarding guest 127.0.0.1:{} to {}:{}", port, target_host_, port);
  }
  return absl::OkStatus();
}

void LoopbackForwarder::Stop() {
  stopping_ = true;
  for (int fd : listen_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes accept()
  for (auto& t : threads_) t.join();
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
  threads_.clear();
}

void LoopbackForwarder::AcceptLoop(int listen_fd, int port) {
  while (!stopping_) {
    int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (!stopping_) spdlog::warn("agent: accept on 127.0.0.1:{}: {}", port, std::strerror(errno));
      return;
    }
    // Connections are independent and short-lived (registry pulls): a
    // detached thread each keeps this simple.
    std::thread([client, port, host = target_host_] {
      int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
      if (::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        spdlog::warn("agent: forward 127.0.0.1:{} -> {}:{}: {}", port, host, port, std::strerror(errno));
        ::close(up);
        ::close(client);
        return;
      }
      int one = 1;
      ::setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Pump(client, up);
    }).detach();
  }
}

}  // namespace switchyard::agent
