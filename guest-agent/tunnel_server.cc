#include "guest-agent/tunnel_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "guest-agent/guest_address.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/datagram_relay.h"
#include "libs/tunnel/sockets.h"
#include "libs/tunnel/stream_pump.h"
#include "libs/tunnel/tunnel_header.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {

TunnelServer::~TunnelServer() { Stop(); }

absl::Status TunnelServer::Start(const std::string& socket_path) {
  auto fd = tunnel::ListenUnix(socket_path);
  if (!fd.ok()) return fd.status();
  acceptor_.Start(
      *fd, "tunnel", [this](int stream) { tunnels_.ServeAndClose(stream, [this](int s) { Serve(s); }); },
      socket_path);
  spdlog::info("serving port tunnels on {}", socket_path);
  return absl::OkStatus();
}

void TunnelServer::Stop() {
  if (!acceptor_.running()) return;
  acceptor_.Stop();
  tunnels_.StopAll();
}

void TunnelServer::Serve(int stream) {
  absl::StatusOr<tunnel::TunnelTarget> target;
  absl::StatusOr<std::string> line = tunnel::ReadLine(stream, tunnel::kMaxLineLength, options_.header_timeout);
  if (line.ok()) {
    target = tunnel::ParseHeader(*line);
  } else {
    target = line.status();
  }
  if (!target.ok()) {
    spdlog::warn("tunnel refused: {}", std::string(target.status().message()));
    (void)tunnel::WriteAll(stream, tunnel::FormatReply(target.status()));
    return;
  }
  const bool tcp = target->protocol == tunnel::Protocol::kTcp;
  const std::string ip = GuestDialAddress(target->ip);
  absl::StatusOr<int> peer = tunnel::Dial(tcp ? SOCK_STREAM : SOCK_DGRAM, ip, target->port, options_.dial_timeout);
  if (!peer.ok()) {
    spdlog::warn("tunnel failed: {}", std::string(peer.status().message()));
    (void)tunnel::WriteAll(stream, tunnel::FormatReply(peer.status()));
    return;
  }
  tunnels_.Watch(*peer);
  if (tunnel::WriteAll(stream, tunnel::FormatReply(absl::OkStatus())).ok()) {
    if (tcp) {
      (void)tunnel::PumpBoth(stream, *peer);
    } else {
      (void)tunnel::RelayDatagrams(stream, *peer);
    }
  }
  tunnels_.Unwatch(*peer);
  ::close(*peer);
}

}  // namespace switchyard::agent
