#include "libs/placement/routing_policy.h"

#include <catch2/catch.hpp>

namespace switchyard::placement {
namespace {

struct Row {
  const char* name;
  const char* native;
  bool vz_on;
  bool hv_fallback;
  const char* vz_translates;  // arch or ""
  const char* hv_translates;
  const char* platform;
  std::vector<std::string> image_archs;
  const char* want;  // backend, or "error"
};

}  // namespace

TEST_CASE("routing table, Mac (arm64 native) and this machine (amd64 native)", "[placement][unit]") {
  const Row rows[] = {
      // Mac: Rosetta on vz translates amd64; FEX on hv as fallback.
      {"mac platform native", "arm64", true, false, "amd64", "", "linux/arm64", {}, "hv"},
      {"mac platform foreign, rosetta on", "arm64", true, false, "amd64", "", "linux/amd64", {}, "vz"},
      {"mac rosetta off, fex configured", "arm64", false, true, "amd64", "amd64", "linux/amd64", {}, "hv"},
      {"mac rosetta missing, fex configured", "arm64", true, true, "", "amd64", "linux/amd64", {}, "hv"},
      {"mac rosetta off, no fallback", "arm64", false, false, "amd64", "amd64", "linux/amd64", {}, "error"},
      {"mac fallback configured but absent", "arm64", false, true, "amd64", "", "linux/amd64", {}, "error"},
      {"mac image multi-arch", "arm64", true, false, "amd64", "", "", {"amd64", "arm64"}, "hv"},
      {"mac image amd64-only", "arm64", true, false, "amd64", "", "", {"amd64"}, "vz"},
      {"mac image amd64-only, rosetta off, fex", "arm64", false, true, "amd64", "amd64", "", {"amd64"}, "hv"},
      {"mac image amd64-only, nothing", "arm64", false, false, "amd64", "", "", {"amd64"}, "error"},
      {"mac image unknown", "arm64", true, false, "amd64", "", "", {}, "hv"},
      // This machine: qemu-aarch64 stands in for Rosetta on vz.
      {"linux platform native", "amd64", true, false, "arm64", "arm64", "linux/amd64", {}, "hv"},
      {"linux platform foreign", "x86_64", true, false, "arm64", "arm64", "linux/arm64/v8", {}, "vz"},
      {"linux image arm64-only", "amd64", true, false, "arm64", "arm64", "", {"arm64"}, "vz"},
      {"linux image multi-arch", "amd64", true, false, "arm64", "arm64", "", {"arm64", "amd64"}, "hv"},
      {"linux translator off, qemu fallback on hv", "amd64", false, true, "arm64", "arm64", "linux/arm64", {}, "hv"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    RoutingConfig config{row.native, row.vz_on, row.hv_fallback};
    BackendView hv{"hv", true, {}};
    BackendView vz{"vz", true, {}};
    if (*row.vz_translates) vz.translated_archs.push_back(row.vz_translates);
    if (*row.hv_translates) hv.translated_archs.push_back(row.hv_translates);
    auto decided = Route(config, {row.platform, row.image_archs}, hv, vz);
    if (std::string(row.want) == "error") {
      REQUIRE_FALSE(decided.ok());
      CHECK(decided.status().code() == absl::StatusCode::kFailedPrecondition);
      continue;
    }
    REQUIRE(decided.ok());
    CHECK(decided->backend == row.want);
    CHECK_FALSE(decided->rule.empty());
  }
}

TEST_CASE("the no-translator error names the platform, both backends and the settings", "[placement][unit]") {
  RoutingConfig config{"arm64", false, false};
  auto decided = Route(config, {"linux/amd64", {}}, {"hv", true, {}}, {"vz", true, {"amd64"}});
  REQUIRE_FALSE(decided.ok());
  const std::string message(decided.status().message());
  CHECK(message.find("linux/amd64") != std::string::npos);
  CHECK(message.find("backend vz") != std::string::npos);
  CHECK(message.find("backend hv") != std::string::npos);
  CHECK(message.find("translators.vz.enabled") != std::string::npos);
  CHECK(message.find("translators.hv.fallback") != std::string::npos);
}

TEST_CASE("unknown platform strings are a clear error", "[placement][unit]") {
  auto decided = Route({}, {"linux/sparc99", {}}, {"hv", true, {}}, {"vz", true, {}});
  REQUIRE_FALSE(decided.ok());
  CHECK(decided.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("translator names map to the arch they run", "[placement][unit]") {
  CHECK(TranslatedArch("rosetta") == "amd64");
  CHECK(TranslatedArch("qemu-aarch64") == "arm64");
  CHECK(TranslatedArch("qemu-x86_64") == "amd64");
  CHECK(TranslatedArch("FEX-x86_64") == "amd64");
  CHECK(TranslatedArch("python3.11").empty());
}


TEST_CASE("a foreign platform while vz is down says that vz is not running", "[placement][unit]") {
  RoutingConfig config{"amd64", true, false};
  auto decided = Route(config, {"linux/arm64", {}}, {"hv", true, {}}, {"vz", false, {}});
  REQUIRE_FALSE(decided.ok());
  CHECK(std::string(decided.status().message()).find("backend vz is not running") != std::string::npos);
}

}  // namespace switchyard::placement

TEST_CASE("a translator that failed its probe is refused naming what failed", "[placement][unit]") {
  using namespace switchyard::placement;
  RoutingConfig config;
  config.native_arch = "amd64";
  BackendView hv{"hv", true, {}};
  BackendView vz{"vz", true, {}};
  vz.broken_translators["arm64"] = "qemu-aarch64: probe busybox-arm64 exited 1";
  absl::StatusOr<Decision> d = Route(config, {"linux/arm64", {}}, hv, vz);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message() ==
        "cannot run --platform linux/arm64: linux/arm64 needs translation, but the translator on backend vz is "
        "broken (qemu-aarch64: probe busybox-arm64 exited 1) and the fallback translator on backend hv is not "
        "configured (set translators.hv.fallback = true)");
}
