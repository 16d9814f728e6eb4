#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> BuildRoutes() {
  using R = Routing;
  return {
      {"POST", "/build", "Build", R::kPlacedBuild},
      {"POST", "/build/prune", "BuildPrune", R::kFanOutMerge, Merge::kPrune, "CachesDeleted"},
      // A build is cancelled where it runs: every VM is asked.
      {"POST", "/build/cancel", "BuildCancel", R::kFanOutMerge, Merge::kAnySuccess},
  };
}

}  // namespace switchyard::api_routes
