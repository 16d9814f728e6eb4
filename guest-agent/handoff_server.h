#pragma once

#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/tunnel/connection_tracker.h"

namespace switchyard::agent {

struct HandoffServerOptions {
  // How long a dial inside the guest may take before the connection is closed.
  absl::Duration dial_timeout = absl::Seconds(5);
};

// The guest end of socket handoff (libs/tunnel/handoff.h), for a guest on
// the host's kernel: the VM manager sends each accepted client socket with a
// target; the server dials the target inside the guest and splices the two
// sockets until both directions end. One thread per channel and per
// connection.
class HandoffServer {
 public:
  explicit HandoffServer(HandoffServerOptions options = {}) : options_(options) {}
  ~HandoffServer();

  // Listens on `socket_path` (0600; a stale file is replaced).
  absl::Status Start(const std::string& socket_path);
  // Stops accepting, ends every connection and waits for their threads.
  void Stop();

 private:
  void AcceptLoop();
  void ReadChannel(int channel);

  const HandoffServerOptions options_;
  std::string socket_path_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  // Channels and connections alike, so Stop() ends them all.
  tunnel::ConnectionTracker live_;
};

}  // namespace switchyard::agent
