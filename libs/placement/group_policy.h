#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/placement/routing_policy.h"

namespace switchyard::placement {

// A workload group as the registry holds it: a Compose project, a pod, the
// containers sharing namespaces with one another, or a lone container.
struct GroupState {
  std::string id;       // "compose:shop", "pod:<uid>", "container:<name>"
  bool exists = false;  // the registry knows it
  std::string backend;  // where it lives, when it exists
  std::string rule;     // the rule that placed it
  bool pinned = false;  // `switchyardctl group pin`
  int members = 0;      // containers created in it so far
};

// Places one member of a group. `alone` is where the member would go by
// itself (Route), `needs_arch` the arch it runs as. A group never spans
// backends: a member that does not fit its group's backend is refused with
// an error naming the group, the backend, the rule and the way out, unless
// the group has no members yet and is not pinned, in which case the member
// places it anew.
absl::StatusOr<Decision> PlaceMember(const RoutingConfig& config, const Decision& alone,
                                     const GroupState& group, const BackendView& hv,
                                     const BackendView& vz);

// One decision for a group whose members are known up front (a Compose
// project read from its files, or a pod): hv if every member can run there
// without translation, else vz if every member can run on vz, else the error
// of the first member that fits nowhere. `members` are each member's own
// decisions.
absl::StatusOr<Decision> PlaceWholeGroup(const RoutingConfig& config, const std::string& group_id,
                                         const std::vector<Decision>& members, const BackendView& hv,
                                         const BackendView& vz, bool allow_mixed);

}  // namespace switchyard::placement
