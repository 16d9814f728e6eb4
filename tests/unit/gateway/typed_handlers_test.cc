#include <catch2/catch.hpp>

#include "libs/api_routes/route_table.h"
#include "services/gateway/router.h"

namespace switchyard::gateway {
namespace {

TEST_CASE("every typed route has its gateway handler, and every handler its route", "[gateway][unit]") {
  size_t typed = 0;
  for (const api_routes::RouteEntry& e : api_routes::ApiRoutes().entries()) {
    if (e.routing != api_routes::Routing::kTyped) continue;
    ++typed;
    INFO(e.method << " " << e.pattern);
    CHECK(TypedHandlers().contains(e.handler));
  }
  for (const auto& [name, handler] : TypedHandlers()) {
    INFO(name);
    bool routed = false;
    for (const api_routes::RouteEntry& e : api_routes::ApiRoutes().entries()) {
      routed = routed || (e.routing == api_routes::Routing::kTyped && e.handler == name);
    }
    CHECK(routed);
  }
  CHECK(typed >= TypedHandlers().size());
}

}  // namespace
}  // namespace switchyard::gateway
