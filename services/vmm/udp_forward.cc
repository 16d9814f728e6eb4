#include "services/vmm/udp_forward.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "absl/time/clock.h"
#include "libs/tunnel/frame_codec.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {

UdpForward::UdpForward(int fd, std::string name, ForwardRoute route, const ForwardContext& context)
    : fd_(fd),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      name_(std::move(name)),
      context_(context),
      route_(std::move(route)) {
  (void)tunnel::SetNonBlocking(fd_, true);
  thread_ = std::thread([this] { Run(); });
}

UdpForward::~UdpForward() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  ::close(wake_fd_);
  ::close(fd_);
}

void UdpForward::SetRoute(const ForwardRoute& route) {
  absl::MutexLock lock(&mu_);
  route_ = route;
}

UdpForward::Flow* UdpForward::OpenFlow(const std::string& key, const tunnel::SockAddr& client) {
  if (flows_.size() >= kMaxFlows) return nullptr;
  ForwardRoute route;
  {
    absl::MutexLock lock(&mu_);
    route = route_;
  }
  tunnel::TunnelTarget target{tunnel::Protocol::kUdp, route.guest_ip, route.guest_port};
  absl::StatusOr<int> stream = tunnel::OpenTunnel(context_.dial, target, context_.handshake_timeout);
  if (!stream.ok()) {
    spdlog::warn("vmm[{}] port {} container {}: tunnel to guest port {} failed: {}", context_.backend, name_,
                 ShortId(route.container_id), route.guest_port, std::string(stream.status().message()));
    return nullptr;
  }
  (void)tunnel::SetNonBlocking(*stream, true);
  Flow& flow = flows_[key];
  flow.client = client;
  flow.stream = std::make_unique<tunnel::FramedStream>(*stream);
  flow.last_active = absl::Now();
  return &flow;
}

void UdpForward::CloseFlow(const std::string& key) {
  auto it = flows_.find(key);
  if (it == flows_.end()) return;
  ::close(it->second.stream->fd());
  flows_.erase(it);
}

void UdpForward::ReceiveFromClients(std::string& buf) {
  while (true) {
    tunnel::SockAddr client;
    client.length = sizeof(client.storage);
    ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&client.storage),
                           &client.length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN
    }
    std::string key(reinterpret_cast<const char*>(&client.storage), client.length);
    auto it = flows_.find(key);
    Flow* flow = it != flows_.end() ? &it->second : OpenFlow(key, client);
    if (flow == nullptr) continue;  // dropped, as an unreachable port drops
    flow->last_active = absl::Now();
    flow->stream->Send(absl::string_view(buf.data(), n));
  }
}

void UdpForward::Run() {
  std::string buf(tunnel::kMaxDatagram, '\0');
  std::vector<pollfd> fds;
  std::vector<std::string> keys;
  std::vector<std::string> datagrams;
  const absl::Duration tick = std::min(absl::Seconds(1), context_.udp_idle_timeout / 2);
  while (true) {
    fds.clear();
    keys.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({fd_, POLLIN, 0});
    for (const auto& [key, flow] : flows_) {
      fds.push_back({flow.stream->fd(), static_cast<short>(POLLIN | (flow.stream->WantsWrite() ? POLLOUT : 0)), 0});
      keys.push_back(key);
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(absl::ToInt64Milliseconds(tick)) + 1);
    if (n < 0 && errno != EINTR) {
      spdlog::error("vmm[{}] port {}: poll: {}", context_.backend, name_, tunnel::ErrnoText(errno));
      break;
    }
    if (fds[0].revents != 0) break;
    const absl::Time now = absl::Now();
    // Replies from the guest go back to their client.
    for (size_t i = 0; i < keys.size(); ++i) {
      Flow& flow = flows_[keys[i]];
      bool closed = false;
      if (fds[i + 2].revents != 0) {
        datagrams.clear();
        absl::Status read = flow.stream->Read(&datagrams);
        for (const std::string& d : datagrams) {
          (void)::sendto(fd_, d.data(), d.size(), MSG_DONTWAIT, flow.client.get(), flow.client.length);
        }
        if (!datagrams.empty()) flow.last_active = now;
        closed = !read.ok() || !flow.stream->Flush().ok();
      }
      if (closed || now - flow.last_active >= context_.udp_idle_timeout) CloseFlow(keys[i]);
    }
    if (fds[1].revents != 0) ReceiveFromClients(buf);
  }
  for (const auto& [key, flow] : flows_) ::close(flow.stream->fd());
  flows_.clear();
}

}  // namespace switchyard::vmm
