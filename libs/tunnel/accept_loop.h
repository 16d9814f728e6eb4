#pragma once

#include <functional>

#include "absl/strings/string_view.h"

namespace switchyard::tunnel {

// Accepts on `listen_fd` until it is shut down, handing each accepted
// socket (close-on-exec, now owned by the callee) to `accepted`. Out of
// descriptors, it backs off instead of spinning. `what` names the loop in
// its log lines.
void AcceptEach(int listen_fd, absl::string_view what, const std::function<void(int)>& accepted);

}  // namespace switchyard::tunnel
