#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/tunnel/tunnel_header.h"

namespace switchyard::tunnel {

// Listener lending: when the guest agent runs on the host's own kernel (the
// sandbox driver), the VM manager lends each bound host TCP listener to the
// agent (SCM_RIGHTS), and the agent accepts on it itself and relays every
// connection straight to the container. The VM manager then does no work
// per connection, and nothing is copied through a tunnel. A VM behind vsock
// cannot take a host socket, so its driver offers no handoff endpoint and its
// VM manager accepts and tunnels (tunnel_client.h).
//
// The channel is a Unix SOCK_SEQPACKET socket, one per lent listener. Its one
// message is a tunnel header line ("tcp 0.0.0.0 80\n": where connections go
// in the guest) carrying the listening socket. The loan lasts as long as the
// channel: the VM manager ends it by closing the channel, and sees the agent
// give it up (its VM stopped) when the channel closes. The agent answers
// nothing: a connection it cannot deliver is closed, as Docker's own proxy
// closes one whose container refuses it, and the agent logs why.

// A listening SOCK_SEQPACKET socket at `path` (a stale file is replaced), 0600.
absl::StatusOr<int> ListenHandoff(const std::string& path);
// A connected SOCK_SEQPACKET socket to `path`; sends give up after `send_timeout`.
absl::StatusOr<int> ConnectHandoff(const std::string& path, absl::Duration send_timeout);

// Opens a fresh channel to the agent.
using HandoffDialer = std::function<absl::StatusOr<int>()>;

// Sends listening socket `fd` with the header for `target`. The caller still
// owns `fd`.
absl::Status SendHandoff(int channel, const TunnelTarget& target, int fd);

struct Handoff {
  TunnelTarget target;
  int fd = -1;  // a listening TCP socket, owned by the receiver
};
// Blocks for the next message. OUT_OF_RANGE when the sender closed the
// channel; INVALID_ARGUMENT (descriptor already closed) for a bad message,
// which includes a descriptor that is not a listening socket.
absl::StatusOr<Handoff> ReceiveHandoff(int channel);

}  // namespace switchyard::tunnel
