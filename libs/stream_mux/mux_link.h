#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace switchyard::stream_mux {

// Many stream connections over one byte stream, standing in for vsock
// where the hypervisor offers none: a virtio-serial port whose host end is
// a Unix socket (qemu's `-chardev socket`). Each side maps port numbers to
// local Unix sockets, so the services on either side are unchanged:
//
//   opener (VM manager)                         acceptor (guest agent)
//   listens on agent.sock (port 1024)  ==link==  connects /run/…/agent.sock
//
// One thread drives everything with poll(2). Each stream has a credit
// window per direction, so one slow reader never stalls the others on the
// shared link. The link may drop and come back (a VM manager restarts, the
// VM reboots): every link session starts with a hello carrying a new
// epoch; streams of an earlier session are reset, and bytes left from it
// are skipped until the hello (or its answer) is found.
struct MuxOptions {
  enum class Role { kOpener, kAcceptor };
  Role role = Role::kOpener;
  // For logs: "vz", "agent[vz]".
  std::string name;
  // Connects (opener) or opens (acceptor) the link; called again whenever
  // it drops. The mux owns and closes the fd it returns.
  std::function<absl::StatusOr<int>()> dial_link;
  // Port -> local Unix socket: the opener listens there (mode 0600), the
  // acceptor connects there for each stream opened to that port.
  std::map<uint32_t, std::string> ports;
  absl::Duration redial_interval = absl::Milliseconds(200);
  absl::Duration hello_interval = absl::Seconds(1);
  uint32_t window = 256 * 1024;
};

class MuxLink {
 public:
  explicit MuxLink(MuxOptions options);
  MuxLink(const MuxLink&) = delete;
  MuxLink& operator=(const MuxLink&) = delete;
  ~MuxLink();

  // Binds the opener's listeners, then runs the link on its own thread.
  absl::Status Start();
  // Closes the link, every stream and listener (their socket files removed).
  void Stop();
  // True while a link session is established (the handshake done).
  bool Up() const { return up_.load(); }
  // Link sessions established so far.
  int Sessions() const { return sessions_.load(); }

 private:
  class Engine;

  MuxOptions options_;
  std::map<uint32_t, int> listeners_;  // port -> listening fd
  int wake_fd_ = -1;
  std::atomic<bool> up_{false};
  std::atomic<int> sessions_{0};
  std::unique_ptr<Engine> engine_;
  std::thread thread_;
};

}  // namespace switchyard::stream_mux
