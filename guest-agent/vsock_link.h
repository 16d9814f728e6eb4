#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tunnel/accept_loop.h"

namespace switchyard::agent {

// Serves the agent's Unix sockets on vsock ports (1024 agent, 1025 tunnels,
// 1026 lease), where the hypervisor offers vsock: vfkit and krunkit give
// the VM manager each port as a host Unix socket ("connect" mode). Each
// accepted connection is relayed byte for byte to the local socket.
class PortRelay {
 public:
  PortRelay() = default;
  PortRelay(const PortRelay&) = delete;
  PortRelay& operator=(const PortRelay&) = delete;
  ~PortRelay() { Stop(); }

  // Takes `listen_fd` (any stream socket) and relays what it accepts to
  // the Unix socket at `unix_path`.
  void Relay(int listen_fd, const std::string& unix_path);
  // Stops accepting; relayed connections end with their peers.
  void Stop();

 private:
  std::vector<std::unique_ptr<tunnel::AcceptThread>> accepts_;
};

// A listening AF_VSOCK socket on `port` for any CID.
absl::StatusOr<int> ListenVsock(uint32_t port);

// ListenVsock for each port -> Unix socket.
absl::StatusOr<std::unique_ptr<PortRelay>> ServeOverVsock(const std::map<uint32_t, std::string>& ports);

}  // namespace switchyard::agent
