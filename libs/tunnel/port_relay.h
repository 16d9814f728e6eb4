#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/tunnel/accept_loop.h"

namespace switchyard::tunnel {

// Relays each connection a listening socket accepts to a new connection
// from `dial`, byte for byte both ways. Joins the agent's vsock ports to its
// Unix sockets in the guest, and a VM manager's Unix sockets to the guest's
// vsock ports on the host (qemu with vhost-vsock).
class PortRelay {
 public:
  using Dial = std::function<absl::StatusOr<int>()>;

  PortRelay() = default;
  PortRelay(const PortRelay&) = delete;
  PortRelay& operator=(const PortRelay&) = delete;
  ~PortRelay() { Stop(); }

  // Takes `listen_fd` (any stream socket); `unlink_path`, when given, is its
  // file, removed by Stop.
  void Relay(int listen_fd, std::string what, Dial dial, std::string unlink_path = "");
  // Stops accepting; relayed connections end with their peers.
  void Stop();

 private:
  std::vector<std::unique_ptr<AcceptThread>> accepts_;
};

// A listening AF_VSOCK socket on `port` for any CID.
absl::StatusOr<int> ListenVsock(uint32_t port);
// A connection to `port` of the VM with context id `cid`.
absl::StatusOr<int> ConnectVsock(uint32_t cid, uint32_t port);

// In a guest: ListenVsock on each port, relayed to its Unix socket.
absl::StatusOr<std::unique_ptr<PortRelay>> ServeVsockPorts(const std::map<uint32_t, std::string>& ports);

}  // namespace switchyard::tunnel
