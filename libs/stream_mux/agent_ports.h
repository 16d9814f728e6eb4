#pragma once

#include <cstdint>

namespace switchyard::stream_mux {

// The guest agent's endpoints as vsock ports (or mux ports over a serial
// link): the same numbers whatever carries them.
inline constexpr uint32_t kAgentPort = 1024;   // GuestAgent gRPC
inline constexpr uint32_t kTunnelPort = 1025;  // raw port tunnels (libs/tunnel)
inline constexpr uint32_t kLeasePort = 1026;   // the manager's lease (guest-agent/manager_lease.h)

}  // namespace switchyard::stream_mux
