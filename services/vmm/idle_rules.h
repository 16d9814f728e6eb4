#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace switchyard::vmm {

// What keeps a VM awake. Published-port connections need no count of their
// own: a port is published only while its container runs.
struct VmActivity {
  int calls_in_flight = 0;   // engine calls that are not the control plane's upkeep (exec, attach, logs, builds)
  absl::Duration since_last_call;
  int containers_running = -1;  // dockerd's count: a restarting container counts as running; -1 unknown
  int containers_paused = -1;
};

// Why the VM may stop now, after `idle_stop` without activity; nullopt
// while anything keeps it up (or `idle_stop` is zero: never).
std::optional<std::string> IdleStopReason(const VmActivity& activity, absl::Duration idle_stop);

// Whether it is worth asking the guest for its container counts: calls
// alone already keep the VM up.
bool MayBeIdle(int calls_in_flight, absl::Duration since_last_call, absl::Duration idle_stop);

}  // namespace switchyard::vmm
