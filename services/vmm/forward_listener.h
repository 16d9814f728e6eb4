#pragma once

#include <string>

#include "absl/time/time.h"
#include "libs/tunnel/connection_tracker.h"
#include "libs/tunnel/handoff.h"
#include "libs/tunnel/tunnel_client.h"

namespace switchyard::vmm {

// Where a host listener's connections go in the guest.
struct ForwardRoute {
  std::string guest_ip;  // "" / "0.0.0.0": the guest's own address
  int guest_port = 0;
  std::string container_id;  // for logs

  bool operator==(const ForwardRoute&) const = default;
};

// What every host listener of one VM shares.
struct ForwardContext {
  std::string backend;
  tunnel::TunnelDialer dial;
  absl::Duration handshake_timeout;
  absl::Duration udp_idle_timeout;
  // Live TCP connections, which may outlive their listener.
  tunnel::ConnectionTracker* connections = nullptr;
  // Opens a channel to lend a TCP listener to the agent, when its VM can
  // take host sockets; null, or failing, means accepting here and tunneling.
  tunnel::HandoffDialer lend;
};

// One bound host port tunneling into the guest. Destroying it closes the
// listening socket before returning.
class ForwardListener {
 public:
  virtual ~ForwardListener() = default;
  // Sends new connections (or flows) elsewhere without rebinding.
  virtual void SetRoute(const ForwardRoute& route) = 0;
};

// The first 12 characters of a container id, as Docker shows them.
inline std::string ShortId(const std::string& id) { return id.substr(0, 12); }

}  // namespace switchyard::vmm
