#include "guest-agent/handoff_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "guest-agent/guest_address.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/handoff.h"
#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {

HandoffServer::~HandoffServer() { Stop(); }

absl::Status HandoffServer::Start(const std::string& socket_path) {
  auto fd = tunnel::ListenHandoff(socket_path);
  if (!fd.ok()) return fd.status();
  acceptor_.Start(
      *fd, "handoff", [this](int channel) { TakeChannel(channel); }, socket_path);
  spdlog::info("taking lent listeners on {}", socket_path);
  return absl::OkStatus();
}

void HandoffServer::Stop() {
  if (!acceptor_.running()) return;
  acceptor_.Stop();
  live_.StopAll();
}

// One lent listener and the threads taking turns on it. The loan ends, and
// the agent's copy of the listener and the channel close, when the last of
// them lets go.
struct HandoffServer::Loan {
  Loan(int channel, tunnel::Handoff lent, tunnel::ConnectionTracker& live)
      : channel(channel),
        listener(lent.fd),
        target(std::move(lent.target)),
        what(absl::StrCat("lent listener for guest port ", target.port)),
        live(live) {}
  ~Loan() {
    ::close(listener);
    live.Unwatch(channel);
    ::close(channel);
  }
  const int channel;
  const int listener;
  const tunnel::TunnelTarget target;
  const std::string what;  // for logs
  tunnel::ConnectionTracker& live;
  std::atomic<int> waiting{0};  // threads polling the listener
};

void HandoffServer::TakeChannel(int channel) {
  live_.Watch(channel);  // Stop() shuts it down, which ends the loan
  if (!live_.Spawn([this, channel] { TakeLoan(channel); })) {
    live_.Unwatch(channel);
    ::close(channel);
  }
}

void HandoffServer::TakeLoan(int channel) {
  absl::StatusOr<tunnel::Handoff> lent = tunnel::ReceiveHandoff(channel);
  if (!lent.ok()) {
    if (lent.status().code() == absl::StatusCode::kInvalidArgument) {
      spdlog::warn("{}", std::string(lent.status().message()));
    }
    live_.Unwatch(channel);
    ::close(channel);
    return;
  }
  TakeTurns(std::make_shared<Loan>(channel, *std::move(lent), live_));
}

// Leader/followers: the thread that accepts a connection serves it itself,
// after making sure another thread waits on the listener; so a connection
// costs no hand-over between threads.
void HandoffServer::TakeTurns(const std::shared_ptr<Loan>& loan) {
  while (true) {
    loan->waiting.fetch_add(1);
    pollfd fds[2] = {{loan->listener, POLLIN, 0}, {loan->channel, POLLIN, 0}};
    const int ready = ::poll(fds, 2, -1);
    const int others_waiting = loan->waiting.fetch_sub(1) - 1;
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;
    }
    // The VM manager ended the loan (it sends nothing else), or Stop() shut
    // the channel down.
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const tunnel::Accepted accepted = tunnel::AcceptOnce(loan->listener, loan->what);
    if (accepted.closed) return;  // the VM manager closed the listener
    if (accepted.fd < 0) continue;
    const int client = accepted.fd;
    if (others_waiting == 0) live_.Spawn([this, loan] { TakeTurns(loan); });
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    live_.Watch(client);
    Serve(client, loan->target);
    live_.Unwatch(client);
    ::close(client);
    if (loan->waiting.load() > 0) return;  // another thread waits: this one goes back to the pool
  }
}

void HandoffServer::Serve(int client, const tunnel::TunnelTarget& target) {
  absl::StatusOr<int> peer =
      tunnel::Dial(SOCK_STREAM, GuestDialAddress(target.ip), target.port, options_.dial_timeout);
  if (!peer.ok()) {
    spdlog::warn("connection to guest port {} closed: {}", target.port, std::string(peer.status().message()));
    return;
  }
  live_.PumpAndClose(client, *peer);
}

}  // namespace switchyard::agent
