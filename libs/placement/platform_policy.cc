#include "libs/placement/platform_policy.h"

#include "absl/strings/str_cat.h"
#include "libs/placement/platform.h"

namespace switchyard::placement {

PlatformPolicy::PlatformPolicy(std::string native_arch) : native_arch_(NormalizeArch(native_arch)) {}

absl::StatusOr<Placement> PlatformPolicy::Place(const PlacementRequest& request) const {
  if (request.platform.empty()) return Placement{"hv", "no platform given: default backend hv"};
  absl::StatusOr<Platform> platform = ParsePlatform(request.platform);
  if (!platform.ok()) return platform.status();
  if (platform->architecture == native_arch_) {
    return Placement{"hv", absl::StrCat("platform ", request.platform, " is native (",
                                        native_arch_, "): hv")};
  }
  return Placement{"vz", absl::StrCat("platform ", request.platform, " is foreign (native is ",
                                      native_arch_, "): vz")};
}

}  // namespace switchyard::placement
