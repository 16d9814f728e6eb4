#include "guest-agent/handoff_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/guest_address.h"
#include "libs/tunnel/handoff.h"
#include "libs/tunnel/sockets.h"
#include "libs/tunnel/splice_pump.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {

HandoffServer::~HandoffServer() { Stop(); }

absl::Status HandoffServer::Start(const std::string& socket_path) {
  auto fd = tunnel::ListenHandoff(socket_path);
  if (!fd.ok()) return fd.status();
  socket_path_ = socket_path;
  listen_fd_ = *fd;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  spdlog::info("taking handed-off connections on {}", socket_path);
  return absl::OkStatus();
}

void HandoffServer::Stop() {
  if (listen_fd_ < 0) return;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(socket_path_.c_str());
  live_.StopAll();
}

void HandoffServer::AcceptLoop() {
  while (true) {
    int channel = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (channel < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        spdlog::warn("handoff accept: {}", tunnel::ErrnoText(errno));
        ::usleep(100 * 1000);
        continue;
      }
      return;  // shut down by Stop()
    }
    live_.Watch(channel);
    bool spawned = live_.Spawn([this, channel] {
      ReadChannel(channel);
      live_.Unwatch(channel);
      ::close(channel);
    });
    if (!spawned) {
      live_.Unwatch(channel);
      ::close(channel);
    }
  }
}

void HandoffServer::ReadChannel(int channel) {
  while (true) {
    absl::StatusOr<tunnel::Handoff> handoff = tunnel::ReceiveHandoff(channel);
    if (!handoff.ok()) {
      if (handoff.status().code() == absl::StatusCode::kInvalidArgument) {
        spdlog::warn("{}", std::string(handoff.status().message()));
        continue;
      }
      return;  // the VM manager closed its end, or Stop() shut it down
    }
    const int client = handoff->fd;
    const tunnel::TunnelTarget target = handoff->target;
    live_.Watch(client);
    bool spawned = live_.Spawn([this, client, target] {
      absl::StatusOr<int> peer =
          tunnel::Dial(SOCK_STREAM, GuestDialAddress(target.ip), target.port, options_.dial_timeout);
      if (!peer.ok()) {
        spdlog::warn("handed-off connection to port {} closed: {}", target.port, std::string(peer.status().message()));
      } else {
        live_.Watch(*peer);
        int one = 1;
        ::setsockopt(*peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)tunnel::SpliceBoth(client, *peer);
        live_.Unwatch(*peer);
        ::close(*peer);
      }
      live_.Unwatch(client);
      ::close(client);
    });
    if (!spawned) {
      live_.Unwatch(client);
      ::close(client);
    }
  }
}

}  // namespace switchyard::agent
