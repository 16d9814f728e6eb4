#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> ExecRoutes() {
  using R = Routing;
  return {
      {"POST", "/exec/{id}/start", "ExecStart", R::kExecInPath},
      {"POST", "/exec/{id}/resize", "ExecResize", R::kExecInPath},
      {"GET", "/exec/{id}/json", "ExecInspect", R::kExecInPath},
  };
}

}  // namespace switchyard::api_routes
