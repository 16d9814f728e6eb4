#pragma once

#include <functional>

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

}  // namespace switchyard::tunnel
