#include "libs/placement/platform.h"

#include <catch2/catch.hpp>

namespace switchyard::placement {
namespace {

std::string Parsed(const std::string& text) {
  absl::StatusOr<Platform> p = ParsePlatform(text);
  return p.ok() ? PlatformString(*p) : std::string(p.status().message());
}

bool Matches(const std::string& wanted, Platform image) { return PlatformMatches(*ParsePlatform(wanted), image); }

}  // namespace

// The "wanted" of dockerd 20.10's "does not match the specified platform",
// read from a plain dockerd (tests/differential).
TEST_CASE("platform strings parse as dockerd parses them, variants included", "[placement][unit]") {
  CHECK(Parsed("linux/arm/v7") == "linux/arm/v7");
  CHECK(Parsed("linux/arm") == "linux/arm");
  CHECK(Parsed("linux/armhf") == "linux/arm");
  CHECK(Parsed("linux/armel") == "linux/arm/v6");
  CHECK(Parsed("linux/arm/6") == "linux/arm/v6");
  CHECK(Parsed("linux/arm/v8") == "linux/arm/v8");  // AArch32 on ARMv8: still arm
  CHECK(Parsed("linux/arm64/v8") == "linux/arm64/v8");
  CHECK(Parsed("linux/arm64/8") == "linux/arm64/v8");
  CHECK(Parsed("linux/aarch64") == "linux/arm64");
  CHECK(Parsed("linux/ARM64") == "linux/arm64");
  CHECK(Parsed("linux/amd64/v1") == "linux/amd64/v1");
  CHECK(Parsed("linux/x86_64") == "linux/amd64");
  CHECK(Parsed("linux/i386") == "linux/386");
  CHECK(Parsed("arm64") == "linux/arm64");
  CHECK(Parsed("linux/arm64/v8/extra") ==
        "\"linux/arm64/v8/extra\": unknown operating system or architecture: invalid argument");
  CHECK(Parsed("linux/armv7") == "\"linux/armv7\": unknown operating system or architecture: invalid argument");
}

TEST_CASE("an image serves a platform as dockerd's create decides", "[placement][unit]") {
  CHECK(Matches("linux/arm/v7", {"linux", "arm", "v7"}));
  CHECK(Matches("linux/arm/v7", {"linux", "arm", "v6"}));
  CHECK_FALSE(Matches("linux/arm/v6", {"linux", "arm", "v7"}));
  CHECK(Matches("linux/armhf", {"linux", "arm", "v7"}));
  CHECK(Matches("linux/arm64", {"linux", "arm", "v7"}));  // an arm64 CPU runs arm code
  CHECK(Matches("linux/arm64", {"linux", "arm64", "v8"}));
  CHECK(Matches("linux/arm64/v8", {"linux", "arm64", ""}));
  CHECK_FALSE(Matches("linux/arm/v7", {"linux", "arm64", "v8"}));
  CHECK_FALSE(Matches("linux/arm64", {"linux", "amd64", ""}));
  CHECK(Matches("linux/amd64/v1", {"linux", "amd64", ""}));
  CHECK_FALSE(Matches("windows/amd64", {"linux", "amd64", ""}));
}

TEST_CASE("an image's arch alone keys the routing table", "[placement][unit]") {
  CHECK(NormalizeArch("armhf") == "arm");
  CHECK(NormalizeArch("armel") == "arm");
  CHECK(NormalizeArch("arm") == "arm");
  CHECK(NormalizeArch("aarch64") == "arm64");
  CHECK(NormalizeArch("x86_64") == "amd64");
  CHECK(NormalizeArch("i686") == "386");
}

}  // namespace switchyard::placement
