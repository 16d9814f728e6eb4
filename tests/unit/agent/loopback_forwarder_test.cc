#include "guest-agent/loopback_forwarder.h"

#include <catch2/catch.hpp>

TEST_CASE("loopback forward port lists", "[agent][unit]") {
  using switchyard::agent::ParsePorts;
  REQUIRE(ParsePorts("")->empty());
  REQUIRE(*ParsePorts("5000") == std::vector<int>{5000});
  REQUIRE(*ParsePorts("5000, 5001,") == std::vector<int>{5000, 5001});
  REQUIRE_FALSE(ParsePorts("abc").ok());
  REQUIRE_FALSE(ParsePorts("0").ok());
  REQUIRE_FALSE(ParsePorts("70000").ok());
}
