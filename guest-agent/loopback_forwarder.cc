#include "guest-agent/loopback_forwarder.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {
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
    acceptors_.emplace_back().Start(fd, absl::StrCat("agent: forward 127.0.0.1:", port), [this, port](int client) {
      live_.ServeAndClose(client, [this, port](int c) { Forward(c, port); });
    });
    spdlog::info("agent: forwarding guest 127.0.0.1:{} to {}:{}", port, target_host_, port);
  }
  return absl::OkStatus();
}

void LoopbackForwarder::Stop() {
  acceptors_.clear();  // each stops: its listener closes and its thread ends
  live_.StopAll();
}

void LoopbackForwarder::Forward(int client, int port) {
  absl::StatusOr<int> up = tunnel::Dial(SOCK_STREAM, target_host_, port, absl::Seconds(5));
  if (!up.ok()) {
    spdlog::warn("agent: forward 127.0.0.1:{}: {}", port, std::string(up.status().message()));
    return;
  }
  live_.PumpAndClose(client, *up);
}

}  // namespace switchyard::agent
