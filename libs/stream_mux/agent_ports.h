#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace switchyard::stream_mux {

// The guest agent's endpoints as vsock ports (or mux ports over a serial
// link): the same numbers whatever carries them.
inline constexpr uint32_t kAgentPort = 1024;   // GuestAgent gRPC
inline constexpr uint32_t kTunnelPort = 1025;  // raw port tunnels (libs/tunnel)
inline constexpr uint32_t kLeasePort = 1026;   // the manager's lease (guest-agent/manager_lease.h)

// Each port with the Unix socket that stands for it on one side: the
// agent's own sockets in the guest, the VM manager's in the VM's state dir.
inline std::map<uint32_t, std::string> AgentPortSockets(const std::string& agent, const std::string& tunnel,
                                                        const std::string& lease) {
  return {{kAgentPort, agent}, {kTunnelPort, tunnel}, {kLeasePort, lease}};
}

}  // namespace switchyard::stream_mux
