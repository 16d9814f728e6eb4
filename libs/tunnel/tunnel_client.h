#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/tunnel/tunnel_header.h"

namespace switchyard::tunnel {

// Opens a raw stream to the guest agent's tunnel endpoint (a Unix socket in
// the sandbox, vsock port 1025 in a VM), or fails.
using TunnelDialer = std::function<absl::StatusOr<int>()>;

// Dials, sends the header for `target` and waits up to `timeout` for the
// agent's answer. Returns the stream, ready to carry the connection's bytes
// (blocking mode), or the agent's error.
absl::StatusOr<int> OpenTunnel(const TunnelDialer& dial, const TunnelTarget& target, absl::Duration timeout);

}  // namespace switchyard::tunnel
