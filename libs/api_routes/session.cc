#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> SessionRoutes() {
  using R = Routing;
  return {
      {"POST", "/session", "Session", R::kBuildSession},
      // buildx's docker driver: BuildKit's control API. dockerd serves it
      // although the 1.41 document does not list it.
      {"POST", "/grpc", "Grpc", R::kBuildkitApi},
  };
}

}  // namespace switchyard::api_routes
