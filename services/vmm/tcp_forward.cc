#include "services/vmm/tcp_forward.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/handoff.h"
#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {
namespace {

// How often a listener the agent does not hold offers itself again.
constexpr absl::Duration kRetryLending = absl::Seconds(1);

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
  context.connections->PumpAndClose(client, *stream);
}

}  // namespace

TcpForward::TcpForward(int listen_fd, std::string name, ForwardRoute route, const ForwardContext& context)
    : listen_fd_(listen_fd),
      name_(std::move(name)),
      what_(absl::StrCat("vmm[", context.backend, "] port ", name_)),
      context_(context),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      route_(std::move(route)) {
  // Whoever holds it, here or the agent, polls before accepting: another
  // holder may take the connection in between, and a blocking accept would
  // then wait with no way to wake it.
  (void)tunnel::SetNonBlocking(listen_fd_, true);
  runner_ = std::thread([this] { Run(); });
}

TcpForward::~TcpForward() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Out of LISTEN for every holder at once, the agent's copy included, so the
  // port is free to bind again as soon as this returns.
  ::shutdown(listen_fd_, SHUT_RDWR);
  Wake();
  runner_.join();
  ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void TcpForward::SetRoute(const ForwardRoute& route) {
  {
    absl::MutexLock lock(&mu_);
    if (route_ == route) return;
    route_ = route;
  }
  Wake();  // a lent listener is lent again with the new target
}

void TcpForward::Wake() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

void TcpForward::DrainWake() {
  uint64_t count;
  (void)!::read(wake_fd_, &count, sizeof(count));
}

ForwardRoute TcpForward::Route() {
  absl::MutexLock lock(&mu_);
  return route_;
}

void TcpForward::Run() {
  bool logged_lent = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (!context_.lend) {
      ServeHere(absl::InfiniteDuration());
      continue;
    }
    const ForwardRoute route = Route();
    int channel = Lend(route);
    if (channel < 0) {
      ServeHere(kRetryLending);
      continue;
    }
    if (!logged_lent) {
      spdlog::info("vmm[{}] port {} container {}: lent to the agent", context_.backend, name_,
                   ShortId(route.container_id));
      logged_lent = true;
    }
    const bool let_go = WaitWhileLent(channel);
    ::close(channel);  // ends the loan, if the agent still held it
    if (let_go) {
      spdlog::info("vmm[{}] port {}: the agent let go of it; accepting here until it can take it again",
                   context_.backend, name_);
      logged_lent = false;
      ServeHere(kRetryLending);
    }
  }
}

int TcpForward::Lend(const ForwardRoute& route) {
  absl::StatusOr<int> channel = context_.lend();
  if (!channel.ok()) return -1;
  absl::Status sent =
      tunnel::SendHandoff(*channel, {tunnel::Protocol::kTcp, route.guest_ip, route.guest_port}, listen_fd_);
  if (!sent.ok()) {
    spdlog::debug("vmm[{}] port {}: lending failed: {}", context_.backend, name_, std::string(sent.message()));
    ::close(*channel);
    return -1;
  }
  return *channel;
}

bool TcpForward::WaitWhileLent(int channel) {
  while (true) {
    pollfd fds[2] = {{channel, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return true;
    }
    if (fds[1].revents != 0) {
      DrainWake();
      return false;
    }
    if (fds[0].revents != 0) return true;  // the agent closed its end (it sends nothing else)
  }
}

void TcpForward::ServeHere(absl::Duration retry_lending) {
  const absl::Time until = absl::Now() + retry_lending;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    const int timeout_ms = left == absl::InfiniteDuration() ? -1 : static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) {
      DrainWake();
      continue;  // stopping is checked above; a new route is read per connection
    }
    if (fds[0].revents == 0) continue;
    // A shut-down listener gives nothing here either: it ends with stopping.
    const int client = tunnel::AcceptOnce(listen_fd_, what_).fd;
    if (client < 0) continue;
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const ForwardRoute route = Route();
    context_.connections->ServeAndClose(
        client, [name = name_, route, context = context_](int fd) { Serve(fd, name, route, context); });
  }
}

}  // namespace switchyard::vmm
