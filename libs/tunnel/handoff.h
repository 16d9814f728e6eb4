#pragma once

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/tunnel/tunnel_header.h"

namespace switchyard::tunnel {

// Socket handoff: when the guest agent runs on the host's own kernel (the
// sandbox driver), the VM manager passes each accepted TCP connection to the
// agent itself (SCM_RIGHTS) instead of copying its bytes over a tunnel. The
// agent splices the client's socket straight to the container: one copy
// loop instead of two, and no per-connection handshake. A VM behind vsock
// cannot take a host socket, so its driver offers no handoff endpoint and
// connections keep the tunnel (tunnel_client.h).
//
// The channel is a Unix SOCK_SEQPACKET socket; each message is one tunnel
// header line ("tcp 0.0.0.0 80\n") carrying one descriptor. The agent
// answers nothing: a connection it cannot deliver is closed, as Docker's own
// proxy closes one whose container refuses it, and the agent logs why.

// A listening SOCK_SEQPACKET socket at `path` (a stale file is replaced), 0600.
absl::StatusOr<int> ListenHandoff(const std::string& path);
// A connected SOCK_SEQPACKET socket to `path`; sends give up after `send_timeout`.
absl::StatusOr<int> ConnectHandoff(const std::string& path, absl::Duration send_timeout);

// Sends `fd` with the header for `target`. The caller still owns `fd`.
absl::Status SendHandoff(int channel, const TunnelTarget& target, int fd);

struct Handoff {
  TunnelTarget target;
  int fd = -1;  // owned by the receiver
};
// Blocks for the next message. OUT_OF_RANGE when the sender closed the
// channel; INVALID_ARGUMENT (descriptor already closed) for a bad message.
absl::StatusOr<Handoff> ReceiveHandoff(int channel);

// The VM manager's end: one channel, opened on first use and reopened once
// when a send fails (the agent restarted with its VM). Thread-safe.
class HandoffClient {
 public:
  using Dialer = std::function<absl::StatusOr<int>()>;
  explicit HandoffClient(Dialer dial) : dial_(std::move(dial)) {}
  ~HandoffClient();
  HandoffClient(const HandoffClient&) = delete;
  HandoffClient& operator=(const HandoffClient&) = delete;

  // Hands `fd` over; on success the agent holds its own copy and the caller
  // closes `fd`. On failure the caller still has a connection to serve.
  absl::Status Send(const TunnelTarget& target, int fd);

 private:
  Dialer dial_;
  absl::Mutex mu_;
  int channel_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace switchyard::tunnel
