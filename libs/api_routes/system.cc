#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> SystemRoutes() {
  using R = Routing;
  return {
      {"GET", "/_ping", "Ping", R::kTyped},
      {"HEAD", "/_ping", "Ping", R::kTyped},
      {"GET", "/version", "Version", R::kTyped},
      {"GET", "/info", "Info", R::kTyped},
      {"GET", "/events", "Events", R::kTyped},
      {"GET", "/system/df", "DiskUsage", R::kFanOutMerge, Merge::kDiskUsage},
      // Credentials are checked against the registry: either engine answers alike.
      {"POST", "/auth", "Auth", R::kEitherEngine},
  };
}

}  // namespace switchyard::api_routes
