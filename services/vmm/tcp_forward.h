#pragma once

#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "services/vmm/forward_listener.h"

namespace switchyard::vmm {

// A listening host TCP socket. Where the VM can take host sockets, it is lent
// to the guest agent, which accepts on it itself (libs/tunnel/handoff.h);
// otherwise, and whenever the agent has let go of it (its VM restarting), each
// connection is accepted here and gets its own tunnel to the guest (header,
// OK, then relay both ways) on a thread of the shared tracker. Closing the
// listener leaves live connections running until they end, as dockerd leaves
// established ones.
class TcpForward final : public ForwardListener {
 public:
  // Takes `listen_fd`. `name` reads "tcp 0.0.0.0:8080", for logs.
  TcpForward(int listen_fd, std::string name, ForwardRoute route, const ForwardContext& context);
  ~TcpForward() override;

  void SetRoute(const ForwardRoute& route) override;

 private:
  void Run();
  // A channel holding the loan, or -1 when the agent did not take it.
  int Lend(const ForwardRoute& route);
  // Waits while the agent holds the loan: true when it let go, false on Wake().
  bool WaitWhileLent(int channel);
  // Accepts and tunnels until Wake(), or until `retry_lending` has passed.
  void ServeHere(absl::Duration retry_lending);
  void Wake();
  void DrainWake();
  ForwardRoute Route();

  const int listen_fd_;
  const std::string name_;
  const std::string what_;  // "vmm[hv] port tcp 0.0.0.0:8080", for logs
  const ForwardContext context_;
  const int wake_fd_;  // an eventfd: stop, or a new route to lend with
  absl::Mutex mu_;
  ForwardRoute route_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread runner_;
};

}  // namespace switchyard::vmm
