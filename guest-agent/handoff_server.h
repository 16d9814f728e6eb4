#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/connection_tracker.h"
#include "libs/tunnel/tunnel_header.h"

namespace switchyard::agent {

struct HandoffServerOptions {
  // How long a dial inside the guest may take before the connection is closed.
  absl::Duration dial_timeout = absl::Seconds(5);
};

// The guest end of listener lending (libs/tunnel/handoff.h), for a guest on
// the host's kernel: the VM manager lends each host TCP listener with a
// target, and the server accepts on it until the loan ends; for each
// connection it dials the target inside the guest and relays the two
// sockets until both directions end. The threads of a loan take turns on its
// listener (leader/followers): the one that accepts serves the connection.
class HandoffServer {
 public:
  explicit HandoffServer(HandoffServerOptions options = {}) : options_(options) {}
  ~HandoffServer();

  // Listens on `socket_path` (0600; a stale file is replaced).
  absl::Status Start(const std::string& socket_path);
  // Stops accepting, ends every connection and waits for their threads.
  void Stop();

 private:
  struct Loan;
  void TakeChannel(int channel);
  void TakeLoan(int channel);
  void TakeTurns(const std::shared_ptr<Loan>& loan);
  void Serve(int client, const tunnel::TunnelTarget& target);

  const HandoffServerOptions options_;
  // Channels and connections alike, so Stop() ends them all.
  tunnel::ConnectionTracker live_;
  tunnel::AcceptThread acceptor_;  // stopped before the tracker goes
};

}  // namespace switchyard::agent
