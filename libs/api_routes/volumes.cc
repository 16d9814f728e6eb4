#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> VolumeRoutes() {
  using R = Routing;
  return {
      {"GET", "/volumes", "VolumeList", R::kSharedResource},
      {"POST", "/volumes/create", "VolumeCreate", R::kSharedResource},
      {"POST", "/volumes/prune", "VolumesPrune", R::kSharedResource},
      {"GET", "/volumes/{name*}", "VolumeInspect", R::kSharedResource},
      {"DELETE", "/volumes/{name*}", "VolumeDelete", R::kSharedResource},
  };
}

}  // namespace switchyard::api_routes
