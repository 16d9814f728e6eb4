#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/tunnel/connection_tracker.h"
#include "libs/tunnel/tunnel_client.h"
#include "services/vmm/forward_listener.h"

namespace switchyard::vmm {

// A published port as the scheduler declares it to this VM's manager.
struct ForwardedPort {
  std::string protocol;  // "tcp" (also when empty, Docker's default) or "udp"
  std::string host_ip;   // "" / "0.0.0.0": all IPv4; "::": all IPv6; else that address
  int host_port = 0;
  std::string guest_ip;  // where the guest engine published it; "" = the guest's own address
  int guest_port = 0;
  std::string container_id;  // for logs
};

struct PortFailure {
  ForwardedPort port;
  std::string error;  // dockerd's wording
};

struct SyncResult {
  std::vector<PortFailure> failures;
  int bound = 0;  // listeners open after the sync
};

struct PortForwarderOptions {
  // Longer than the agent's dial timeout, so its ERR arrives first.
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration udp_idle_timeout = absl::Seconds(60);
};

// The host side of one VM's published ports: a declarative set of host
// listeners, each tunneling into the guest through the agent's tunnel
// endpoint. Thread-safe.
class PortForwarder {
 public:
  // `lend`, when given, opens a channel to the agent's handoff endpoint: TCP
  // listeners are lent to the agent while it takes them (handoff.h), else
  // their connections are accepted here and tunneled.
  PortForwarder(std::string backend, tunnel::TunnelDialer dial, PortForwarderOptions options = {},
                tunnel::HandoffDialer lend = nullptr);
  ~PortForwarder();

  // Makes the open listeners exactly `ports`: binds what is missing, closes
  // what is no longer listed, and leaves the rest bound (a changed guest
  // target applies to new connections, without a rebind). A listener closed
  // here keeps its live TCP connections until they end, as dockerd keeps
  // established ones. Ports that cannot be bound are reported, not retried
  // until the next sync.
  SyncResult Sync(const std::vector<ForwardedPort>& ports);
  // Closes every listener and ends every live connection. Idempotent; Sync
  // binds nothing afterwards.
  void Shutdown();

 private:
  struct Entry {
    ForwardedPort port;
    std::unique_ptr<ForwardListener> listener;
  };

  const std::string backend_;
  const PortForwarderOptions options_;
  tunnel::ConnectionTracker connections_;
  const ForwardContext context_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // By "tcp 0.0.0.0:8080", the normalized bind address.
  absl::flat_hash_map<std::string, Entry> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::vmm
