#pragma once

#include <string>

#include "libs/placement/placement_policy.h"

namespace switchyard::placement {

// The walking skeleton's policy: an explicit platform picks the VM that runs
// that arch (native → hv, foreign → vz); anything else goes to hv.
class PlatformPolicy : public PlacementPolicy {
 public:
  explicit PlatformPolicy(std::string native_arch);
  absl::StatusOr<Placement> Place(const PlacementRequest& request) const override;

 private:
  std::string native_arch_;
};

}  // namespace switchyard::placement
