#include "guest-agent/handoff_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/guest_address.h"
#include "libs/tunnel/accept_loop.h"
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
  tunnel::AcceptEach(listen_fd_, "handoff",
                     [this](int channel) { live_.ServeAndClose(channel, [this](int c) { ReadChannel(c); }); });
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
    const tunnel::TunnelTarget target = handoff->target;
    live_.ServeAndClose(handoff->fd, [this, target](int client) {
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
    });
  }
}

}  // namespace switchyard::agent
