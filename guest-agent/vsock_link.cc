#include "guest-agent/vsock_link.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"
#include "libs/tunnel/stream_pump.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {

void PortRelay::Relay(int listen_fd, const std::string& unix_path) {
  auto accept = std::make_unique<tunnel::AcceptThread>();
  accept->Start(listen_fd, absl::StrCat("relay to ", unix_path), [unix_path](int fd) {
    // One thread per connection: the agent has a few (gRPC, the lease,
    // port tunnels), each long-lived.
    std::thread([fd, unix_path] {
      absl::StatusOr<int> local = tunnel::ConnectUnix(unix_path);
      if (local.ok()) {
        (void)tunnel::PumpBoth(fd, *local);
        ::close(*local);
      } else {
        spdlog::warn("relay: {}", std::string(local.status().message()));
      }
      ::close(fd);
    }).detach();
  });
  accepts_.push_back(std::move(accept));
}

void PortRelay::Stop() {
  for (auto& accept : accepts_) accept->Stop();
  accepts_.clear();
}

absl::StatusOr<int> ListenVsock(uint32_t port) {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("vsock socket: ", tunnel::ErrnoText(errno)));
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    std::string error = tunnel::ErrnoText(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("listen on vsock port ", port, ": ", error));
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<PortRelay>> ServeOverVsock(const std::map<uint32_t, std::string>& ports) {
  auto relay = std::make_unique<PortRelay>();
  for (const auto& [port, path] : ports) {
    absl::StatusOr<int> fd = ListenVsock(port);
    if (!fd.ok()) return fd.status();
    relay->Relay(*fd, path);
  }
  return relay;
}

}  // namespace switchyard::agent
