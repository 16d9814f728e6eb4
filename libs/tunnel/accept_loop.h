#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"

namespace switchyard::tunnel {

// What one accept on a listener gave.
struct Accepted {
  int fd = -1;          // the new socket (close-on-exec), owned by the caller
  bool closed = false;  // the listener was shut down (fd is -1)
};
// One accept on `listen_fd`. A passing failure (EINTR, ECONNABORTED, EAGAIN
// when another holder took the connection) gives neither a socket nor
// `closed`: poll again. Out of descriptors, it logs under `what` and backs
// off instead of letting the caller spin.
Accepted AcceptOnce(int listen_fd, absl::string_view what);

// Accepts on `listen_fd` until it is shut down, handing each accepted
// socket (close-on-exec, now owned by the callee) to `accepted`. Out of
// descriptors, it backs off instead of spinning. `what` names the loop in
// its log lines.
void AcceptEach(int listen_fd, absl::string_view what, const std::function<void(int)>& accepted);

// AcceptEach on a thread of its own, for a server's listening socket.
class AcceptThread {
 public:
  AcceptThread() = default;
  AcceptThread(const AcceptThread&) = delete;
  AcceptThread& operator=(const AcceptThread&) = delete;
  ~AcceptThread() { Stop(); }

  // Takes `listen_fd`. `unlink_path`, when given, is the Unix socket's file,
  // removed by Stop.
  void Start(int listen_fd, std::string what, std::function<void(int)> accepted, std::string unlink_path = "");
  // Shuts the socket down (waking accept), waits for the thread, closes the
  // socket and removes its file. Idempotent.
  void Stop();
  bool running() const { return listen_fd_ >= 0; }

 private:
  int listen_fd_ = -1;
  std::string unlink_path_;
  std::thread thread_;
};

}  // namespace switchyard::tunnel
