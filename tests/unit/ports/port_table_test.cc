#include "libs/ports/port_table.h"

#include <catch2/catch.hpp>

namespace switchyard::ports {
namespace {

PortBinding Tcp(const std::string& ip, int port) { return {"tcp", ip, port, 80}; }

TEST_CASE("bindings collide by protocol, port and overlapping address", "[ports]") {
  struct Row {
    PortBinding a, b;
    bool collide;
  };
  const std::vector<Row> rows = {
      {Tcp("", 8080), Tcp("", 8080), true},
      {Tcp("0.0.0.0", 8080), Tcp("127.0.0.1", 8080), true},
      {Tcp("127.0.0.1", 8080), Tcp("127.0.0.2", 8080), false},
      {Tcp("127.0.0.1", 8080), Tcp("127.0.0.1", 8081), false},
      {Tcp("::", 8080), Tcp("::1", 8080), true},
      {Tcp("0.0.0.0", 8080), Tcp("::", 8080), false},
      {Tcp("", 8080), Tcp("::1", 8080), true},
      {Tcp("", 8080), {"udp", "", 8080, 80}, false},
      {Tcp("", 0), Tcp("", 0), false},
  };
  for (const Row& r : rows) {
    CAPTURE(HostAddress(r.a), HostAddress(r.b), r.a.protocol, r.b.protocol);
    CHECK(Collide(r.a, r.b) == r.collide);
    CHECK(Collide(r.b, r.a) == r.collide);
  }
}

TEST_CASE("a binding's address reads as dockerd writes it", "[ports]") {
  CHECK(HostAddress(Tcp("", 8080)) == "0.0.0.0:8080");
  CHECK(HostAddress(Tcp("::1", 80)) == "[::1]:80");
}

TEST_CASE("the table finds another container's claim across backends", "[ports]") {
  PortTable table;
  table.SetBackend("hv", {{"hv", "aaa", Tcp("0.0.0.0", 8080)}});
  table.Add({{"vz", "bbb", Tcp("", 9090)}});
  REQUIRE(table.FindConflict(Tcp("", 8080), "ccc")->container_id == "aaa");
  REQUIRE_FALSE(table.FindConflict(Tcp("", 8080), "aaa").has_value());  // its own claim
  REQUIRE(table.FindConflict(Tcp("127.0.0.1", 9090), "ccc")->backend == "vz");
  table.Release("bbb");
  REQUIRE_FALSE(table.FindConflict(Tcp("", 9090), "ccc").has_value());
  table.SetBackend("hv", {});
  REQUIRE(table.All().empty());
}

TEST_CASE("free ports go round the range, skipping claimed and unusable ones", "[ports]") {
  PortTable table;
  table.SetBackend("hv", {{"hv", "aaa", Tcp("", 40001)}});
  int cursor = 0;
  auto usable = [](const PortBinding& b) { return b.host_port != 40002; };
  REQUIRE(*ChooseFreePort(table, Tcp("", 0), 40000, 40004, &cursor, usable) == 40000);
  REQUIRE(*ChooseFreePort(table, Tcp("", 0), 40000, 40004, &cursor, usable) == 40003);
  REQUIRE(*ChooseFreePort(table, Tcp("", 0), 40000, 40004, &cursor, usable) == 40004);
  REQUIRE(*ChooseFreePort(table, Tcp("", 0), 40000, 40004, &cursor, usable) == 40000);
  table.Add({{"vz", "b", Tcp("", 40000)}, {"vz", "c", Tcp("", 40003)}, {"vz", "d", Tcp("", 40004)}});
  absl::StatusOr<int> none = ChooseFreePort(table, Tcp("", 0), 40000, 40004, &cursor, usable);
  REQUIRE(absl::IsResourceExhausted(none.status()));
  REQUIRE(none.status().message() == "all ports are allocated (tcp 40000-40004)");
  REQUIRE(absl::IsInvalidArgument(ChooseFreePort(table, Tcp("", 0), 9, 2, &cursor, usable).status()));
}

}  // namespace
}  // namespace switchyard::ports
