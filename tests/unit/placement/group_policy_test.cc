#include "libs/placement/group_policy.h"

#include <catch2/catch.hpp>

namespace switchyard::placement {
namespace {

const RoutingConfig kMac{"arm64", true, false};
const BackendView kHv{"hv", true, {}};
const BackendView kVz{"vz", true, {"amd64"}};

Decision Native() { return {"hv", "native", "arm64", false}; }
Decision Foreign() { return {"vz", "amd64 translated", "amd64", true}; }

}  // namespace

TEST_CASE("the first member places a new group", "[placement][unit]") {
  auto d = PlaceMember(kMac, Foreign(), {"pod:1", false}, kHv, kVz);
  REQUIRE(d.ok());
  CHECK(d->backend == "vz");
  CHECK(d->rule.find("pod:1") != std::string::npos);
}

TEST_CASE("a native member joins a vz group: vz runs native too", "[placement][unit]") {
  GroupState g{"compose:shop", true, "vz", "a member needs translation", false, 2};
  auto d = PlaceMember(kMac, Native(), g, kHv, kVz);
  REQUIRE(d.ok());
  CHECK(d->backend == "vz");
}

TEST_CASE("a foreign member cannot join an hv group with members: named error and way out", "[placement][unit]") {
  GroupState g{"container:db", true, "hv", "native", false, 1};
  auto d = PlaceMember(kMac, Foreign(), g, kHv, kVz);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == absl::StatusCode::kFailedPrecondition);
  const std::string m(d.status().message());
  CHECK(m.find("container:db") != std::string::npos);
  CHECK(m.find("backend hv") != std::string::npos);
  CHECK(m.find("switchyardctl group pin container:db vz") != std::string::npos);
}

TEST_CASE("an empty unpinned group is placed anew, a pinned one is not", "[placement][unit]") {
  GroupState empty{"pod:2", true, "hv", "native", false, 0};
  CHECK(PlaceMember(kMac, Foreign(), empty, kHv, kVz)->backend == "vz");
  GroupState pinned{"pod:2", true, "hv", "", true, 0};
  CHECK_FALSE(PlaceMember(kMac, Foreign(), pinned, kHv, kVz).ok());
  GroupState pinned_vz{"pod:3", true, "vz", "", true, 0};
  CHECK(PlaceMember(kMac, Native(), pinned_vz, kHv, kVz)->backend == "vz");
}

TEST_CASE("whole groups: all native on hv, any translation puts all on vz", "[placement][unit]") {
  CHECK(PlaceWholeGroup(kMac, "compose:a", {Native(), Native()}, kHv, kVz, false)->backend == "hv");
  CHECK(PlaceWholeGroup(kMac, "compose:b", {Native(), Foreign()}, kHv, kVz, false)->backend == "vz");
  // With translation off, a foreign member fits nowhere: refused, not split.
  RoutingConfig off{"arm64", false, false};
  auto refused = PlaceWholeGroup(off, "compose:c", {Native(), Foreign()}, kHv, kVz, false);
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string(refused.status().message()).find("experimental.mixed_groups") != std::string::npos);
  CHECK(PlaceWholeGroup(off, "compose:c", {Native(), Foreign()}, kHv, kVz, true)->backend.empty());
}

}  // namespace switchyard::placement
