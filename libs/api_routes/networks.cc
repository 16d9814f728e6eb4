#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> NetworkRoutes() {
  using R = Routing;
  return {
      {"GET", "/networks", "NetworkList", R::kSharedResource},
      {"POST", "/networks/create", "NetworkCreate", R::kSharedResource},
      {"POST", "/networks/prune", "NetworksPrune", R::kSharedResource},
      // "{id*}", as moby's "{id:.*}": GET /networks/a/connect is network "a/connect".
      {"GET", "/networks/{id*}", "NetworkInspect", R::kSharedResource},
      {"DELETE", "/networks/{id*}", "NetworkDelete", R::kSharedResource},
      {"POST", "/networks/{id}/connect", "NetworkConnect", R::kSharedResource},
      {"POST", "/networks/{id}/disconnect", "NetworkDisconnect", R::kSharedResource},
  };
}

}  // namespace switchyard::api_routes
