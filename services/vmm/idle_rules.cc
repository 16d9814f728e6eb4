#include "services/vmm/idle_rules.h"

#include "absl/strings/str_cat.h"

namespace switchyard::vmm {

bool MayBeIdle(int calls_in_flight, absl::Duration since_last_call, absl::Duration idle_stop) {
  return idle_stop > absl::ZeroDuration() && calls_in_flight == 0 && since_last_call >= idle_stop;
}

std::optional<std::string> IdleStopReason(const VmActivity& activity, absl::Duration idle_stop) {
  if (!MayBeIdle(activity.calls_in_flight, activity.since_last_call, idle_stop)) return std::nullopt;
  // Unknown counts keep it up: stopping a VM whose containers run would be
  // worse than keeping an idle one.
  if (activity.containers_running != 0 || activity.containers_paused != 0) return std::nullopt;
  return absl::StrCat("idle for ", absl::FormatDuration(idle_stop),
                      ": no running container and no call, exec, build, attach or log stream");
}

}  // namespace switchyard::vmm
