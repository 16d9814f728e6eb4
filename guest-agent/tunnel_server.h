#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/connection_tracker.h"

namespace switchyard::agent {

struct TunnelServerOptions {
  // How long a dial inside the guest may take before the tunnel fails.
  absl::Duration dial_timeout = absl::Seconds(5);
  // How long the VM manager may take to send its header.
  absl::Duration header_timeout = absl::Seconds(10);
};

// The guest end of the VM manager's port tunnels (libs/tunnel): a raw stream
// endpoint, vsock port 1025 in a VM, a Unix socket in the sandbox. Each
// accepted stream names a target in its header; the server dials it inside
// the guest, answers OK or ERR, then relays bytes (TCP) or framed
// datagrams (UDP) until the stream ends. One thread per tunnel.
class TunnelServer {
 public:
  explicit TunnelServer(TunnelServerOptions options = {}) : options_(options) {}
  ~TunnelServer();

  // Listens on `socket_path` (0600; a stale file is replaced).
  absl::Status Start(const std::string& socket_path);
  // Stops accepting, ends every open tunnel and waits for their threads.
  void Stop();

 private:
  void Serve(int stream);

  const TunnelServerOptions options_;
  tunnel::ConnectionTracker tunnels_;
  tunnel::AcceptThread acceptor_;  // stopped before the tracker goes
};

}  // namespace switchyard::agent
