#pragma once

// Loopback echo servers and socket helpers for the tunnel tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace switchyard::testing {

inline int BoundSocket(int type, const char* ip, int port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline int LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A port that was free a moment ago.
inline int FreePort(int type = SOCK_STREAM) {
  int fd = BoundSocket(type, "127.0.0.1", 0);
  int port = LocalPort(fd);
  ::close(fd);
  return port;
}

// -1 when refused.
inline int ConnectTcp(const char* ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= w;
  }
  return true;
}

// Everything until EOF (or error), waiting at most `timeout_ms` per read.
inline std::string ReadToEof(int fd, int timeout_ms = 10000) {
  std::string out;
  char buf[1 << 16];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, n);
  }
  return out;
}

// Sends `data` on a fresh connection to `port`, half-closes, returns the echo.
inline std::string RoundTrip(int port, const std::string& data) {
  int fd = ConnectTcp("127.0.0.1", port);
  if (fd < 0) return "<refused>";
  std::thread writer([&] {
    SendAll(fd, data.data(), data.size());
    ::shutdown(fd, SHUT_WR);
  });
  std::string got = ReadToEof(fd);
  writer.join();
  ::close(fd);
  return got;
}

// Echoes every TCP connection until its client half-closes, then closes.
class TcpEchoServer {
 public:
  explicit TcpEchoServer(const char* ip = "127.0.0.1") : fd_(BoundSocket(SOCK_STREAM, ip, 0)) {
    ::listen(fd_, 64);
    port_ = LocalPort(fd_);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        absl::MutexLock lock(&mu_);
        conns_.emplace_back([c] {
          char buf[1 << 16];
          ssize_t n;
          while ((n = ::read(c, buf, sizeof(buf))) > 0) {
            if (!SendAll(c, buf, n)) break;
          }
          ::shutdown(c, SHUT_WR);
          ::close(c);
        });
      }
    });
  }
  ~TcpEchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    absl::MutexLock lock(&mu_);
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::thread> conns_;
};

// Echoes every datagram to its sender; remembers the senders' ports.
class UdpEchoServer {
 public:
  UdpEchoServer() : fd_(BoundSocket(SOCK_DGRAM, "127.0.0.1", 0)) {
    port_ = LocalPort(fd_);
    thread_ = std::thread([this] {
      char buf[65536];
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) continue;
        {
          absl::MutexLock lock(&mu_);
          senders_.insert(ntohs(from.sin_port));
        }
        ::sendto(fd_, buf, n, 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~UdpEchoServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::set<int> senders() {
    absl::MutexLock lock(&mu_);
    return senders_;
  }

 private:
  int fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mu_;
  std::set<int> senders_;
};

}  // namespace switchyard::testing
