#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/tunnel/framed_stream.h"
#include "libs/tunnel/sockets.h"
#include "services/vmm/forward_listener.h"

namespace switchyard::vmm {

// A bound host UDP socket: each client address (a flow) gets its own tunnel
// stream to the guest carrying framed datagrams; replies go back to that
// client from this socket. A flow silent for the idle timeout is closed, as
// conntrack and docker-proxy forget UDP flows. One thread polls the socket
// and every flow; closing the listener ends its flows (replies need it).
class UdpForward final : public ForwardListener {
 public:
  // Takes `fd`. `name` reads "udp 0.0.0.0:5353", for logs.
  UdpForward(int fd, std::string name, ForwardRoute route, const ForwardContext& context);
  ~UdpForward() override;

  void SetRoute(const ForwardRoute& route) override;

 private:
  struct Flow {
    tunnel::SockAddr client;
    std::unique_ptr<tunnel::FramedStream> stream;
    absl::Time last_active;
  };
  // More clients than this at once and new ones are dropped.
  static constexpr size_t kMaxFlows = 4096;

  void Run();
  void ReceiveFromClients(std::string& buf);
  // Opens a flow's tunnel; nullptr (logged) when the guest cannot be reached.
  Flow* OpenFlow(const std::string& key, const tunnel::SockAddr& client);
  void CloseFlow(const std::string& key);

  const int fd_;
  const int wake_fd_;  // eventfd: the destructor's stop signal
  const std::string name_;
  const ForwardContext context_;
  absl::Mutex mu_;
  ForwardRoute route_ ABSL_GUARDED_BY(mu_);
  // Touched by the Run thread only.
  absl::flat_hash_map<std::string, Flow> flows_;
  std::thread thread_;
};

}  // namespace switchyard::vmm
