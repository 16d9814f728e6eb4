#include "services/gateway/connection_limit.h"

#include <catch2/catch.hpp>

namespace switchyard::gateway {
namespace {

TEST_CASE("connections beyond the limit are refused until one ends", "[gateway][unit]") {
  ConnectionLimit limit(2);
  REQUIRE(limit.TryAcquire());
  REQUIRE(limit.TryAcquire());
  REQUIRE_FALSE(limit.TryAcquire());
  CHECK(limit.active() == 2);
  limit.Release();
  REQUIRE(limit.TryAcquire());
  REQUIRE_FALSE(limit.TryAcquire());
}

}  // namespace
}  // namespace switchyard::gateway
