#include "services/vmm/tcp_forward.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/sockets.h"
#include "libs/tunnel/splice_pump.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {
namespace {

// One forwarded connection, start to end. Copies everything it needs: it may
// outlive the listener that accepted it.
void Serve(int client, const std::string& name, const ForwardRoute& route, const ForwardContext& context) {
  tunnel::TunnelTarget target{tunnel::Protocol::kTcp, route.guest_ip, route.guest_port};
  absl::StatusOr<int> stream = tunnel::OpenTunnel(context.dial, target, context.handshake_timeout);
  if (!stream.ok()) {
    spdlog::warn("vmm[{}] port {} container {}: tunnel to guest port {} failed: {}", context.backend, name,
                 ShortId(route.container_id), route.guest_port, std::string(stream.status().message()));
    return;
  }
  context.connections->Watch(*stream);
  (void)tunnel::SpliceBoth(client, *stream);
  context.connections->Unwatch(*stream);
  ::close(*stream);
}

}  // namespace

TcpForward::TcpForward(int listen_fd, std::string name, ForwardRoute route, const ForwardContext& context)
    : listen_fd_(listen_fd), name_(std::move(name)), context_(context), route_(std::move(route)) {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpForward::~TcpForward() {
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listen_fd_);
}

void TcpForward::SetRoute(const ForwardRoute& route) {
  absl::MutexLock lock(&mu_);
  route_ = route;
}

void TcpForward::AcceptLoop() {
  tunnel::AcceptEach(listen_fd_, absl::StrCat("vmm[", context_.backend, "] port ", name_), [this](int client) {
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ForwardRoute route;
    {
      absl::MutexLock lock(&mu_);
      route = route_;
    }
    if (context_.handoff != nullptr) {
      absl::Status handed =
          context_.handoff->Send({tunnel::Protocol::kTcp, route.guest_ip, route.guest_port}, client);
      if (handed.ok()) {
        ::close(client);  // the agent holds its own copy now
        return;
      }
      spdlog::debug("vmm[{}] port {}: handoff failed, tunneling: {}", context_.backend, name_,
                    std::string(handed.message()));
    }
    context_.connections->ServeAndClose(
        client, [name = name_, route, context = context_](int fd) { Serve(fd, name, route, context); });
  });
}

}  // namespace switchyard::vmm
