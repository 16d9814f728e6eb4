#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> DistributionRoutes() {
  using R = Routing;
  // A registry's manifest for an image: either engine reads the same.
  return {{"GET", "/distribution/{name*}/json", "DistributionInspect", R::kEitherEngine}};
}

}  // namespace switchyard::api_routes
