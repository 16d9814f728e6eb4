#include "libs/tunnel/port_relay.h"

// sys/socket.h first: vm_sockets.h uses struct sockaddr without including
// it (the arm64 cross build's headers do not bring it in otherwise).
#include <sys/socket.h>

#include <linux/vm_sockets.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"
#include "libs/tunnel/stream_pump.h"
#include "spdlog/spdlog.h"

namespace switchyard::tunnel {

void PortRelay::Relay(int listen_fd, std::string what, Dial dial, std::string unlink_path) {
  auto accept = std::make_unique<AcceptThread>();
  accept->Start(
      listen_fd, what,
      [what, dial](int fd) {
        // A thread per connection: there are a few (gRPC, the lease, port
        // tunnels), each long-lived.
        std::thread([fd, what, dial] {
          absl::StatusOr<int> other = dial();
          if (other.ok()) {
            (void)PumpBoth(fd, *other);
            ::close(*other);
          } else {
            spdlog::warn("{}: {}", what, std::string(other.status().message()));
          }
          ::close(fd);
        }).detach();
      },
      std::move(unlink_path));
  accepts_.push_back(std::move(accept));
}

void PortRelay::Stop() {
  for (auto& accept : accepts_) accept->Stop();
  accepts_.clear();
}

namespace {

sockaddr_vm VsockAddress(uint32_t cid, uint32_t port) {
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  return addr;
}

absl::StatusOr<int> VsockSocket() {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("vsock socket: ", ErrnoText(errno)));
  return fd;
}

}  // namespace

absl::StatusOr<int> ListenVsock(uint32_t port) {
  absl::StatusOr<int> socket = VsockSocket();
  if (!socket.ok()) return socket.status();
  const int fd = *socket;
  sockaddr_vm addr = VsockAddress(VMADDR_CID_ANY, port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    std::string error = ErrnoText(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("listen on vsock port ", port, ": ", error));
  }
  return fd;
}

absl::StatusOr<int> ConnectVsock(uint32_t cid, uint32_t port) {
  absl::StatusOr<int> socket = VsockSocket();
  if (!socket.ok()) return socket.status();
  const int fd = *socket;
  sockaddr_vm addr = VsockAddress(cid, port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string error = ErrnoText(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect to vsock ", cid, ":", port, ": ", error));
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<PortRelay>> ServeVsockPorts(const std::map<uint32_t, std::string>& ports) {
  auto relay = std::make_unique<PortRelay>();
  for (const auto& [port, path] : ports) {
    absl::StatusOr<int> fd = ListenVsock(port);
    if (!fd.ok()) return fd.status();
    relay->Relay(*fd, absl::StrCat("vsock port ", port), [path] { return ConnectUnix(path); });
  }
  return relay;
}

}  // namespace switchyard::tunnel
