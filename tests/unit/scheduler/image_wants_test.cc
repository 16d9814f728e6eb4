#include "services/scheduler/image_wants.h"

#include <catch2/catch.hpp>

namespace switchyard::scheduler {
namespace {

TEST_CASE("a pull finds the backend a create wanted the image on, in any spelling", "[image_wants]") {
  ImageWants wants(absl::Minutes(2));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  wants.Note("busybox", "vz", t0);
  REQUIRE(wants.Find("docker.io/library/busybox:latest", t0) == std::optional<std::string>("vz"));
  REQUIRE(wants.Find("busybox:latest", t0 + absl::Seconds(30)) == std::optional<std::string>("vz"));
  REQUIRE_FALSE(wants.Find("busybox:1.36", t0).has_value());
  REQUIRE_FALSE(wants.Find("alpine", t0).has_value());
}

TEST_CASE("a want expires and can be forgotten", "[image_wants]") {
  ImageWants wants(absl::Minutes(2));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  wants.Note("127.0.0.1:5000/sy/busybox", "vz", t0);
  REQUIRE_FALSE(wants.Find("127.0.0.1:5000/sy/busybox:latest", t0 + absl::Minutes(3)).has_value());
  wants.Note("127.0.0.1:5000/sy/busybox", "hv", t0);
  wants.Forget("127.0.0.1:5000/sy/busybox:latest");
  REQUIRE_FALSE(wants.Find("127.0.0.1:5000/sy/busybox", t0).has_value());
}

TEST_CASE("the latest create decides", "[image_wants]") {
  ImageWants wants;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  wants.Note("busybox", "vz", t0);
  wants.Note("busybox", "hv", t0 + absl::Seconds(1));
  REQUIRE(wants.Find("busybox", t0 + absl::Seconds(2)) == std::optional<std::string>("hv"));
}

}  // namespace
}  // namespace switchyard::scheduler
