#pragma once

#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "services/vmm/forward_listener.h"

namespace switchyard::vmm {

// A listening host TCP socket: each accepted connection gets its own tunnel
// to the guest (header, OK, then splice both ways) on a thread of the shared
// tracker. Closing the listener leaves live connections running until they
// end, as dockerd leaves established ones; the tracker ends them at exit.
class TcpForward final : public ForwardListener {
 public:
  // Takes `listen_fd`. `name` reads "tcp 0.0.0.0:8080", for logs.
  TcpForward(int listen_fd, std::string name, ForwardRoute route, const ForwardContext& context);
  ~TcpForward() override;

  void SetRoute(const ForwardRoute& route) override;

 private:
  void AcceptLoop();

  const int listen_fd_;
  const std::string name_;
  const ForwardContext context_;
  absl::Mutex mu_;
  ForwardRoute route_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace switchyard::vmm
