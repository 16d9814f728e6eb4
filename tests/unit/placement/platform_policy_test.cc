#include "libs/placement/platform_policy.h"

#include <catch2/catch.hpp>

#include "libs/placement/platform.h"

namespace switchyard::placement {

TEST_CASE("platform strings normalize like containerd's", "[placement][unit]") {
  CHECK(ParsePlatform("linux/amd64")->architecture == "amd64");
  CHECK(ParsePlatform("linux/x86_64")->architecture == "amd64");
  CHECK(ParsePlatform("linux/aarch64")->architecture == "arm64");
  CHECK(ParsePlatform("linux/arm64/v8")->variant == "v8");
  CHECK(ParsePlatform("arm64")->os == "linux");
  CHECK_FALSE(ParsePlatform("linux/bogus").ok());
  CHECK_FALSE(ParsePlatform("").ok());
  CHECK_FALSE(ParsePlatform("a/b/c/d").ok());
}

TEST_CASE("skeleton placement table", "[placement][unit]") {
  struct Row {
    const char* native;
    const char* platform;
    const char* backend;
  };
  // This machine (amd64 native) and a Mac (arm64 native).
  const Row rows[] = {
      {"x86_64", "", "hv"},          {"x86_64", "linux/amd64", "hv"}, {"x86_64", "linux/arm64", "vz"},
      {"arm64", "linux/arm64", "hv"}, {"arm64", "linux/amd64", "vz"}, {"aarch64", "", "hv"},
  };
  for (const Row& row : rows) {
    PlatformPolicy policy(row.native);
    auto placed = policy.Place({row.platform, "img"});
    INFO(row.native << " " << row.platform);
    REQUIRE(placed.ok());
    CHECK(placed->backend == row.backend);
    CHECK_FALSE(placed->rule.empty());
  }
  CHECK(PlatformPolicy("x86_64").Place({"linux/nope", ""}).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace switchyard::placement
